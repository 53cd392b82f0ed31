"""`openrouter-otel demo`: instrumented calls against an embedded OpenRouter-compatible server, explained.

Starts the local replay server on 127.0.0.1 (or, with --live, uses the real OpenRouter), makes a
handful of calls with the `openai` SDK — a plain call, a stream, a fallback, a BYOK call, a 402 and a
429 — and prints what each call recorded, then serves the metrics for Prometheus to scrape.
"""

from __future__ import annotations

import os
import sys
import time
import urllib.request
from dataclasses import dataclass
from typing import Any, Callable, Iterator, TextIO

from opentelemetry.sdk._logs import LoggerProvider
from opentelemetry.sdk._logs.export import InMemoryLogRecordExporter, SimpleLogRecordProcessor
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from openrouter_otel import semconv as sc
from openrouter_otel.audit import audit_context
from openrouter_otel.instrumentor import OpenRouterInstrumentor

OPENROUTER_URL = "https://openrouter.ai/api/v1"
DEMO_KEY = "sk-or-v1-demo-0000000000000000000000000000000000000000000000000000000000000000"
MESSAGES = [{"role": "user", "content": "In one sentence: why do audit logs need prompt hashes?"}]


@dataclass(frozen=True)
class DemoCall:
    title: str
    scenario: str
    model: str
    stream: bool = False
    extra_body: dict[str, Any] | None = None
    team: str = "research"


DEMO_CALLS = (
    DemoCall("plain chat call", "dated_model", "anthropic/claude-sonnet-4.6"),
    DemoCall("streamed chat call", "chat_stream", "google/gemini-2.5-flash", stream=True, team="support"),
    DemoCall("fallback to another model", "fallback", "openai/gpt-4o",
             extra_body={"models": ["openai/gpt-4o", "anthropic/claude-sonnet-4.5"],
                         "provider": {"allow_fallbacks": True, "data_collection": "deny"}}),
    DemoCall("BYOK call (your own provider key)", "byok", "anthropic/claude-sonnet-4.5", team="support"),
    DemoCall("out of credits (402)", "credits_402", "anthropic/claude-opus-4.1"),
    DemoCall("rate limited (429)", "rate_limit_429", "meta-llama/llama-3.3-70b-instruct", team="support"),
)

LIVE_CALLS = (
    DemoCall("plain chat call", "", "openai/gpt-4o-mini"),
    DemoCall("streamed chat call", "", "google/gemini-2.0-flash-001", stream=True, team="support"),
    DemoCall("fallback list", "", "openai/gpt-4o-mini",
             extra_body={"models": ["openai/gpt-4o-mini", "anthropic/claude-3.5-haiku"]}),
)


class DemoTelemetry:
    """SDK providers for the demo: spans and audit records in memory, metrics on a Prometheus endpoint."""

    def __init__(self, metrics_port: int) -> None:
        from opentelemetry.exporter.prometheus import PrometheusMetricReader
        from prometheus_client import start_http_server

        self.spans = InMemorySpanExporter()
        self.logs = InMemoryLogRecordExporter()
        self.tracer_provider = TracerProvider()
        self.tracer_provider.add_span_processor(SimpleSpanProcessor(self.spans))
        self.logger_provider = LoggerProvider()
        self.logger_provider.add_log_record_processor(SimpleLogRecordProcessor(self.logs))
        self.meter_provider = MeterProvider(metric_readers=[PrometheusMetricReader()])
        server, _ = start_http_server(metrics_port, addr="127.0.0.1")
        self.metrics_url = f"http://127.0.0.1:{server.server_port}/metrics"

    def providers(self) -> dict[str, Any]:
        return {
            "tracer_provider": self.tracer_provider,
            "meter_provider": self.meter_provider,
            "logger_provider": self.logger_provider,
        }


def run_demo(*, live: bool = False, metrics_port: int = 0, serve_seconds: float = 0.0, out: TextIO = sys.stdout) -> int:
    telemetry = DemoTelemetry(metrics_port)
    instrumentor = OpenRouterInstrumentor()
    instrumentor.instrument(**telemetry.providers())
    try:
        with _endpoint(live, out) as (base_url, api_key):
            calls = LIVE_CALLS if live else DEMO_CALLS
            for index, call in enumerate(calls, start=1):
                outcome = _make_call(base_url, api_key, call, live)
                span = telemetry.spans.get_finished_spans()[-1]
                _print_call(out, index, call, outcome, span)
        _print_metrics(out, telemetry.metrics_url)
        if serve_seconds > 0:
            out.write(f"\nServing metrics at {telemetry.metrics_url} for {serve_seconds:.0f}s (Ctrl-C to stop)\n")
            time.sleep(serve_seconds)
    except KeyboardInterrupt:
        pass
    finally:
        instrumentor.uninstrument()
    return 0


class _endpoint:
    """The embedded replay server, or the real OpenRouter with --live."""

    def __init__(self, live: bool, out: TextIO) -> None:
        self.live, self.out, self.server = live, out, None

    def __enter__(self) -> tuple[str, str]:
        if self.live:
            api_key = os.environ.get("OPENROUTER_API_KEY")
            if not api_key:
                raise SystemExit("--live needs OPENROUTER_API_KEY in the environment")
            self.out.write(f"Calling the real OpenRouter at {OPENROUTER_URL}\n\n")
            return OPENROUTER_URL, api_key
        from openrouter_otel.server.replay import ReplayServer

        self.server = ReplayServer()
        self.server.start()
        self.out.write(f"Embedded OpenRouter-compatible server at {self.server.base_url}\n\n")
        return self.server.base_url, DEMO_KEY

    def __exit__(self, *exc_info: Any) -> None:
        if self.server is not None:
            self.server.stop()


def _make_call(base_url: str, api_key: str, call: DemoCall, live: bool) -> str:
    import openai

    headers = {"X-Title": "openrouter-otel demo"}
    if not live:
        headers["X-Replay-Scenario"] = call.scenario
    client = openai.OpenAI(base_url=base_url, api_key=api_key, max_retries=0, default_headers=headers)
    try:
        with audit_context(user_id="demo-user", team=call.team):
            if call.stream:
                stream = client.chat.completions.create(
                    model=call.model, messages=MESSAGES, stream=True, extra_body=call.extra_body
                )
                pieces = [chunk.choices[0].delta.content or "" for chunk in stream if chunk.choices]
                return "streamed: " + _shorten("".join(pieces))
            response = client.chat.completions.create(model=call.model, messages=MESSAGES, extra_body=call.extra_body)
            return "answered: " + _shorten(response.choices[0].message.content or "")
    except openai.APIStatusError as error:
        return f"raised {type(error).__name__} (HTTP {error.status_code})"
    finally:
        client.close()


def _print_call(out: TextIO, index: int, call: DemoCall, outcome: str, span: Any) -> None:
    attributes = dict(span.attributes or {})
    get: Callable[[str], Any] = attributes.get
    out.write(f"{index}. {call.title}: {outcome}\n")
    rows = [
        ("model asked / served", f"{get(sc.GEN_AI_REQUEST_MODEL)} -> {get(sc.GEN_AI_RESPONSE_MODEL) or '-'}"),
        ("upstream provider", get(sc.OPENROUTER_PROVIDER) or get(sc.OPENROUTER_ERROR_PROVIDER) or "-"),
        ("generation id", get(sc.GEN_AI_RESPONSE_ID) or "-"),
        ("tokens in / out", f"{get(sc.GEN_AI_USAGE_INPUT_TOKENS) or '-'} / {get(sc.GEN_AI_USAGE_OUTPUT_TOKENS) or '-'}"),
        ("cost", _cost_text(attributes)),
        ("latency", f"{(span.end_time - span.start_time) / 1e6:.1f} ms" + _ttfc_text(attributes)),
        ("prompt hash", get(sc.OPENROUTER_PROMPT_HASH) or "-"),
        ("team / user", f"{get(sc.OPENROUTER_TEAM)} / {get(sc.ENDUSER_ID)}"),
        ("status", f"error {get(sc.ERROR_TYPE)}" if get(sc.ERROR_TYPE) else "ok"),
    ]
    for label, value in rows:
        out.write(f"     {label:<22}{value}\n")
    out.write("\n")


def _cost_text(attributes: dict[str, Any]) -> str:
    cost = attributes.get(sc.GEN_AI_USAGE_COST)
    if cost is None:
        return "-"
    text = f"${cost:.6f} ({attributes.get(sc.OPENROUTER_COST_SOURCE)})"
    if attributes.get(sc.OPENROUTER_IS_BYOK):
        text += f", BYOK upstream ${attributes.get(sc.OPENROUTER_COST_UPSTREAM, 0):.6f}"
    return text


def _ttfc_text(attributes: dict[str, Any]) -> str:
    ttfc = attributes.get(sc.GEN_AI_RESPONSE_TIME_TO_FIRST_CHUNK)
    return f", first chunk after {ttfc * 1000:.1f} ms" if ttfc is not None else ""


def _print_metrics(out: TextIO, metrics_url: str) -> None:
    out.write(f"Metrics for Prometheus: {metrics_url}\n")
    try:
        with urllib.request.urlopen(metrics_url, timeout=5) as response:  # noqa: S310 - our own loopback endpoint
            lines = response.read().decode().splitlines()
    except OSError as error:
        out.write(f"  (could not read them back: {error})\n")
        return
    wanted = (f"{sc.PROM_COST}_sum", f"{sc.PROM_OPERATION_DURATION}_count")
    for line in _matching(lines, wanted):
        out.write(f"  {line}\n")


def _matching(lines: list[str], prefixes: tuple[str, ...]) -> Iterator[str]:
    for line in lines:
        if line.startswith(prefixes):
            yield line


def _shorten(text: str, limit: int = 60) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
