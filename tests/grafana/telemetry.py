"""Real telemetry for the Grafana tests: the instrumented `openai` SDK calling the local OpenRouter replay
server, metrics on their way to a real Prometheus.

An `Environment` is one isolated world: its own metric pipeline and its own Prometheus, so rules that sum
over everything (daily spend, no telemetry) see only that world's calls. Two metric paths:
- `CollectorPath`: the ops path, app -> OTLP/HTTP -> the built collector running the shipped
  collector-config/otelcol.yaml -> its prometheus exporter -> Prometheus;
- `DirectPath`: opentelemetry-exporter-prometheus in the process -> Prometheus.
"""

from __future__ import annotations

import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import openai
from opentelemetry.sdk._logs import LoggerProvider
from opentelemetry.sdk._logs.export import InMemoryLogRecordExporter, SimpleLogRecordProcessor
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from openrouter_otel import OpenRouterInstrumentor, audit_context
from openrouter_otel import semconv as sc
from openrouter_otel.instruments import Instruments
from openrouter_otel.server.replay import (
    CannedResponse,
    ReplayServer,
    chat_completion_body,
    chat_stream_events,
    error_body,
    usage_block,
)
from tests.e2e.services import Collector, Prometheus, free_port, wait_until

API_KEY = "sk-or-v1-" + "0" * 64
SCRAPE_INTERVAL_S = 1.0
CONNECT_SPACING_S = 0.02
CALLS_METRIC = f"{sc.PROM_OPERATION_DURATION}_count"
# Another GenAI instrumentation that records DESIGN's metric names too (opentelemetry-instrumentation-openai-v2).
OTHER_SCOPE = "opentelemetry.instrumentation.openai_v2"


def calls_of(scope: str) -> str:
    return f'{CALLS_METRIC}{{otel_scope_name="{scope}"}}'


# ---- calls ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Call:
    """One chat completion through the SDK, answered the way this describes."""

    model: str
    team: str
    provider: str = "Anthropic"
    served_model: str | None = None
    user: str = "user-1"
    cost: float = 0.002
    status: int = 200
    delay_s: float = 0.0
    stream: bool = False
    byok: bool = False
    cached_tokens: int = 0
    reasoning_tokens: int = 0
    routing: dict[str, Any] | None = None
    classification: str | None = None
    prompt: str = "Summarise this support ticket in one sentence."
    # Only for calls recorded as metric points (Environment.emit): an error.type the replay cannot cause.
    error_type: str | None = None

    def point_attributes(self) -> dict[str, str]:
        """The metric attributes the instrumentation would record for this call."""
        attributes = {sc.GEN_AI_OPERATION_NAME: "chat", sc.GEN_AI_PROVIDER_NAME: "openrouter",
                      sc.GEN_AI_REQUEST_MODEL: self.model, sc.GEN_AI_RESPONSE_MODEL: self.served_model or self.model,
                      sc.OPENROUTER_PROVIDER: self.provider, sc.SERVER_ADDRESS: "127.0.0.1",
                      sc.OPENROUTER_TEAM: self.team}
        error_type = self.error_type or (str(self.status) if self.status != 200 else None)
        return attributes if error_type is None else {**attributes, sc.ERROR_TYPE: error_type}

    def canned(self) -> CannedResponse:
        delay_ms = self.delay_s * 1000
        if self.status != 200:
            body = error_body(self.status, f"replayed {self.status}", {"provider_name": self.provider})
            return CannedResponse(status=self.status, body=body, headers={"Retry-After": "0"}, delay_ms=delay_ms)
        usage = usage_block(120, 40, is_byok=self.byok, cached_tokens=self.cached_tokens,
                            reasoning_tokens=self.reasoning_tokens)
        usage["cost"] = self.cost
        served = self.served_model or self.model
        if self.stream:
            events = chat_stream_events(model=served, provider=self.provider, usage=usage)
            return CannedResponse(sse_events=events, headers={"Content-Type": "text/event-stream"}, delay_ms=delay_ms)
        return CannedResponse(body=chat_completion_body(model=served, provider=self.provider, usage=usage),
                              delay_ms=delay_ms)


def make_calls(server: ReplayServer, calls: list[Call], workers: int = 8, api_key: str = API_KEY) -> None:
    """Make every call, `workers` at a time and every slow call at once; failures are the expected SDK exceptions.

    Slow calls go first, each on a thread of its own, so they overlap. The threads start a little apart: each
    opens its connection then, and the replay server's listen backlog is small.
    """
    ordered = sorted(calls, key=lambda call: not call.delay_s)
    threads = workers + sum(1 for call in calls if call.delay_s)
    client = openai.OpenAI(base_url=server.base_url, api_key=api_key, max_retries=0, timeout=120)
    try:
        with ThreadPoolExecutor(max_workers=threads) as pool:
            futures = []
            for index, call in enumerate(ordered):
                if index < threads:
                    time.sleep(CONNECT_SPACING_S)
                futures.append(pool.submit(_call, client, server, call))
            for future in futures:
                future.result()
    finally:
        client.close()


def _call(client: openai.OpenAI, server: ReplayServer, call: Call) -> None:
    headers = server.register(f"grafana-{uuid.uuid4().hex}", call.canned())
    kwargs: dict[str, Any] = {"model": call.model, "messages": [{"role": "user", "content": call.prompt}],
                              "extra_headers": headers}
    if call.routing:
        kwargs["extra_body"] = call.routing
    with audit_context(user_id=call.user, team=call.team, classification=call.classification):
        try:
            if call.stream:
                for _ in client.chat.completions.create(stream=True, **kwargs):
                    pass
            else:
                client.chat.completions.create(**kwargs)
        except openai.APIStatusError as error:
            assert error.status_code == call.status, f"{call}: unexpected {error.status_code}"
            return
    assert call.status == 200, f"{call}: expected HTTP {call.status}, the call succeeded"


# ---- metric paths ---------------------------------------------------------------------------------


class MetricPath(Protocol):
    meter_provider: MeterProvider
    scrape_target: str

    def flush(self) -> None: ...

    def close(self) -> None: ...


class CollectorPath:
    """App -> OTLP/HTTP -> the shipped collector config -> its prometheus exporter."""

    def __init__(self, workdir: Path, service_name: str) -> None:
        from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter
        from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader

        self.collector = Collector(workdir / "collector").start()
        exporter = OTLPMetricExporter(endpoint=f"{self.collector.otlp_http_endpoint}/v1/metrics")
        reader = PeriodicExportingMetricReader(exporter, export_interval_millis=1000)
        self.meter_provider = MeterProvider(metric_readers=[reader], resource=_resource(service_name))
        self.scrape_target = self.collector.prometheus_target

    def flush(self) -> None:
        self.meter_provider.force_flush()

    def close(self) -> None:
        self.meter_provider.shutdown()
        self.collector.stop()


class DirectPath:
    """opentelemetry-exporter-prometheus in the process, on its own registry and port."""

    def __init__(self, workdir: Path, service_name: str) -> None:
        from opentelemetry.exporter.prometheus import PrometheusMetricReader
        from prometheus_client import CollectorRegistry, start_http_server

        registry = CollectorRegistry()
        reader = PrometheusMetricReader(registry=registry)
        self.meter_provider = MeterProvider(metric_readers=[reader], resource=_resource(service_name))
        self.server, _ = start_http_server(free_port(), addr="127.0.0.1", registry=registry)
        self.scrape_target = f"127.0.0.1:{self.server.server_port}"

    def flush(self) -> None:
        """Nothing to push: Prometheus reads the current values when it scrapes."""

    def close(self) -> None:
        self.server.shutdown()
        self.meter_provider.shutdown()


def _first_of_each_kind(calls: list[Call]) -> tuple[list[Call], list[Call]]:
    """(one fast call per distinct metric series, every other call)."""
    first: dict[tuple, int] = {}
    for index, call in enumerate(calls):
        kind = (call.model, call.served_model, call.provider, call.team, call.status, call.stream)
        if not call.delay_s:
            first.setdefault(kind, index)
    chosen = set(first.values())
    return [calls[index] for index in sorted(chosen)], [call for index, call in enumerate(calls) if index not in chosen]


def _resource(service_name: str) -> Resource:
    return Resource.create({"service.name": service_name, "service.instance.id": uuid.uuid4().hex})


# ---- environments ---------------------------------------------------------------------------------


@dataclass
class Environment:
    """One metric path, its Prometheus, and what the instrumented process exported besides metrics."""

    name: str
    path: MetricPath
    prometheus: Prometheus
    started_at: float = field(default_factory=time.time)
    calls: list[Call] = field(default_factory=list)
    # Calls recorded as metric points per instrumentation scope (emit), SDK calls not included.
    emitted: dict[str, list[Call]] = field(default_factory=dict)
    spans: InMemorySpanExporter = field(default_factory=InMemorySpanExporter)
    logs: InMemoryLogRecordExporter = field(default_factory=InMemoryLogRecordExporter)

    def record(self, server: ReplayServer, calls: list[Call], while_instrumented: Any = None,
               **settings: Any) -> None:
        """Make `calls` under the instrumentor, waiting until Prometheus has them.

        One call of each kind goes first and is scraped before the others, so that the series exist before
        most of their calls, as in production: rate() over a series Prometheus first saw with its final
        value would be zero. Slow calls all go in the second batch, together. `while_instrumented(self)` runs
        after the calls, before the instrumentation is removed (the key credit poller still running).
        """
        tracer_provider = TracerProvider()
        tracer_provider.add_span_processor(SimpleSpanProcessor(self.spans))
        logger_provider = LoggerProvider()
        logger_provider.add_log_record_processor(SimpleLogRecordProcessor(self.logs))
        instrumentor = OpenRouterInstrumentor()
        instrumentor.instrument(tracer_provider=tracer_provider, meter_provider=self.path.meter_provider,
                                logger_provider=logger_provider, **settings)
        try:
            for batch in _first_of_each_kind(calls):
                make_calls(server, batch)
                self.calls.extend(batch)
                self.path.flush()
                self.wait_for_calls(len(self.calls))
            if while_instrumented is not None:
                while_instrumented(self)
        finally:
            instrumentor.uninstrument()

    def emit(self, scope: str, calls: list[Call]) -> None:
        """Record `calls` as metric points of a meter named `scope`, with no SDK call behind them: another
        instrumentation's view of the same calls, or calls of ours the replay server cannot cause (cancelled)."""
        instruments = Instruments.create(self.path.meter_provider.get_meter(scope))
        for call in calls:
            attributes = call.point_attributes()
            instruments.duration.record(call.delay_s or 0.05, attributes)
            instruments.token_usage.record(120, {**attributes, sc.GEN_AI_TOKEN_TYPE: "input"})
            if sc.ERROR_TYPE not in attributes:
                instruments.cost.record(call.cost, attributes)
        self.emitted.setdefault(scope, []).extend(calls)
        self.path.flush()
        self.wait_for_calls(len(self.calls) + len(self.emitted.get(sc.INSTRUMENTATION_SCOPE, [])))
        if scope != sc.INSTRUMENTATION_SCOPE:
            self.wait_for_calls(len(self.emitted[scope]), scope=scope)

    def wait_for_calls(self, count: int, timeout: float = 60.0, scope: str = sc.INSTRUMENTATION_SCOPE) -> None:
        def scraped() -> bool:
            result = self.prometheus.query(f"sum({calls_of(scope)})")
            return count == 0 or bool(result) and round(float(result[0]["value"][1])) == count

        wait_until(scraped, timeout, f"Prometheus of {self.name} to have {count} calls of {scope}")
        # One more scrape, for safety: every metric of one export is scraped together anyway.
        time.sleep(SCRAPE_INTERVAL_S)

    def drain_key(self, server: ReplayServer, api_key: str, remaining: list[float]) -> None:
        """A free call with `api_key` (the poller learns the key from it), then the key's remaining credit stepping
        through `remaining`, each step polled and scraped: its credit draining at a known rate."""
        limit = server.ledger.profile(api_key).limit
        server.ledger.set_usage(api_key, limit - remaining[0])
        free = Call("anthropic/claude-sonnet-4.5", "key-credit", cost=0.0)
        make_calls(server, [free], api_key=api_key)
        self.calls.append(free)
        poller = OpenRouterInstrumentor()._key_poller
        for left in remaining:
            server.ledger.set_usage(api_key, limit - left)
            poller.poll_now()
            self.path.flush()
            time.sleep(2 * SCRAPE_INTERVAL_S)

    def wait_until_scraped(self, timeout: float = 30.0) -> None:
        wait_until(self.prometheus.targets_up, timeout, f"Prometheus of {self.name} to scrape its target")
        time.sleep(2 * SCRAPE_INTERVAL_S)

    def audit_records(self) -> list[Any]:
        return [data.log_record for data in self.logs.get_finished_logs()
                if data.log_record.event_name == sc.AUDIT_EVENT_NAME]

    def elapsed(self) -> float:
        return time.time() - self.started_at

    def close(self) -> None:
        self.prometheus.stop()
        self.path.close()


def open_environment(name: str, workdir: Path, path_class: type = CollectorPath, **alerting: Any) -> Environment:
    """`alerting`: Prometheus's rule_files and alertmanager (its alerts then carry the label env=<name>)."""
    workdir.mkdir(parents=True, exist_ok=True)
    path = path_class(workdir, f"grafana-test-{name}")
    try:
        prometheus = Prometheus([path.scrape_target], workdir / "prometheus", scrape_interval=f"{SCRAPE_INTERVAL_S:g}s",
                                external_labels={"env": name} if alerting else None, **alerting).start()
    except BaseException:
        path.close()
        raise
    return Environment(name, path, prometheus)
