"""`openrouter-otel demo`: instrumented calls against an embedded OpenRouter-compatible server, explained.

Starts the embedded server on 127.0.0.1 (or, with --live, uses the real OpenRouter), makes a handful of
calls with the `openai` SDK — a plain call, a stream, a fallback, a BYOK call, a 402 and a 429 — and
prints what each call recorded, the audit record of one call, what content capture records after
redaction, and the metric totals; the same metrics are served for Prometheus to scrape.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path
from dataclasses import dataclass
from typing import Any, Callable, TextIO

from opentelemetry.sdk._logs import LoggerProvider
from opentelemetry.sdk._logs.export import InMemoryLogRecordExporter, SimpleLogRecordProcessor
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from openrouter_otel import semconv as sc
from openrouter_otel.audit import audit_context
from openrouter_otel.errors import UserError
from openrouter_otel.instrumentor import OpenRouterInstrumentor

OPENROUTER_URL = sc.OPENROUTER_BASE_URL
DEMO_KEY = "sk-or-v1-demo"  # any key works against the embedded server; this one looks like no real key
MESSAGES = [{"role": "user", "content": "In one sentence: why do audit logs need prompt hashes?"}]
PII_MESSAGES = [{"role": "user", "content": "Draft a reply to jane.doe@example.com, card 4111 1111 1111 1111."}]


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
    """SDK providers for the demo: spans and audit records in memory, metrics in memory and on a Prometheus endpoint."""

    def __init__(self, metrics_port: int) -> None:
        from opentelemetry.exporter.prometheus import PrometheusMetricReader
        from prometheus_client import start_http_server

        self.spans = InMemorySpanExporter()
        self.logs = InMemoryLogRecordExporter()
        self.metrics = InMemoryMetricReader()
        self.tracer_provider = TracerProvider()
        self.tracer_provider.add_span_processor(SimpleSpanProcessor(self.spans))
        self.logger_provider = LoggerProvider()
        self.logger_provider.add_log_record_processor(SimpleLogRecordProcessor(self.logs))
        self.meter_provider = MeterProvider(metric_readers=[PrometheusMetricReader(), self.metrics])
        server, _ = start_http_server(metrics_port, addr="127.0.0.1")
        self.metrics_url = f"http://127.0.0.1:{server.server_port}/metrics"

    def providers(self) -> dict[str, Any]:
        return {
            "tracer_provider": self.tracer_provider,
            "meter_provider": self.meter_provider,
            "logger_provider": self.logger_provider,
        }

    def last_span(self) -> Any:
        return self.spans.get_finished_spans()[-1]

    def audit_record_of(self, span: Any) -> Any:
        for data in self.logs.get_finished_logs():
            if data.log_record.span_id == span.context.span_id:
                return data.log_record
        return None


def run_demo(*, live: bool = False, metrics_port: int = 0, serve_seconds: float = 0.0, out: TextIO = sys.stdout) -> int:
    telemetry = DemoTelemetry(metrics_port)
    instrumentor = OpenRouterInstrumentor()
    audit_db = Path(tempfile.mkdtemp(prefix="openrouter-otel-demo-")) / "audit.db"
    try:
        with _endpoint(live, out) as (base_url, api_key):
            instrumentor.instrument(**telemetry.providers(), audit_db=str(audit_db), audit_db_sync=True)
            calls = LIVE_CALLS if live else DEMO_CALLS
            spans = []
            for index, call in enumerate(calls, start=1):
                outcome = _make_call(base_url, api_key, call, live)
                spans.append(telemetry.last_span())
                _print_call(out, index, call, outcome, spans[-1])
            _print_audit_record(out, telemetry.audit_record_of(spans[0]))
            instrumentor.uninstrument()
            instrumentor.instrument(**telemetry.providers(), capture_message_content=True, audit_db=str(audit_db),
                                    audit_db_sync=True)
            _make_call(base_url, api_key, calls[0], live, messages=PII_MESSAGES)
            _print_redaction(out, telemetry.last_span())
        instrumentor.uninstrument()
        _print_metric_totals(out, telemetry.metrics)
        _print_audit_store(out, audit_db)
        _print_metrics_endpoint(out, telemetry.metrics_url, serve_seconds)
        if serve_seconds > 0:
            time.sleep(serve_seconds)
    except KeyboardInterrupt:
        pass
    finally:
        if instrumentor.is_instrumented_by_opentelemetry:
            instrumentor.uninstrument()
    return 0


class _endpoint:
    """The embedded server, or the real OpenRouter with --live."""

    def __init__(self, live: bool, out: TextIO) -> None:
        self.live, self.out, self.server = live, out, None

    def __enter__(self) -> tuple[str, str]:
        if self.live:
            api_key = os.environ.get("OPENROUTER_API_KEY")
            if not api_key:
                raise UserError("--live needs an OpenRouter API key in OPENROUTER_API_KEY")
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


def _make_call(base_url: str, api_key: str, call: DemoCall, live: bool, messages: list[dict[str, str]] = MESSAGES) -> str:
    import openai

    headers = {"X-Title": "openrouter-otel demo"}
    if not live:
        headers["X-Replay-Scenario"] = call.scenario
    client = openai.OpenAI(base_url=base_url, api_key=api_key, max_retries=0, default_headers=headers)
    try:
        with audit_context(user_id="demo-user", team=call.team):
            if call.stream:
                stream = client.chat.completions.create(
                    model=call.model, messages=messages, stream=True, extra_body=call.extra_body
                )
                pieces = [chunk.choices[0].delta.content or "" for chunk in stream if chunk.choices]
                return "streamed: " + _shorten("".join(pieces))
            response = client.chat.completions.create(model=call.model, messages=messages, extra_body=call.extra_body)
            return "answered: " + _shorten(response.choices[0].message.content or "")
    except openai.APIStatusError as error:
        if live and error.status_code == 401:
            raise UserError("OpenRouter refused the API key in OPENROUTER_API_KEY (HTTP 401)") from None
        return f"raised {type(error).__name__} (HTTP {error.status_code})"
    except openai.APIConnectionError as error:
        raise UserError(f"could not reach {base_url}: {error.__cause__ or error}") from None
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
    _write_rows(out, rows)
    out.write("\n")


def _write_rows(out: TextIO, rows: list[tuple[str, Any]], width: int = 22) -> None:
    for label, value in rows:
        out.write(f"     {label:<{width}}{value}\n")


def _print_audit_record(out: TextIO, record: Any) -> None:
    out.write(f"The {sc.AUDIT_EVENT_NAME} log record of call 1 (what an auditor receives; no prompt text):\n")
    if record is None:
        out.write("     (none was emitted)\n\n")
        return
    rows = [(key, _value_text(value)) for key, value in sorted((record.attributes or {}).items())]
    rows.append(("trace_id / span_id", f"{record.trace_id:032x} / {record.span_id:016x}"))
    _write_rows(out, rows, width=42)
    out.write("\n")


def _print_redaction(out: TextIO, span: Any) -> None:
    attributes = dict(span.attributes or {})
    out.write("Content capture (opt-in) records the prompt only after redaction:\n")
    _write_rows(out, [
        ("prompt sent", PII_MESSAGES[0]["content"]),
        (sc.GEN_AI_INPUT_MESSAGES, attributes.get(sc.GEN_AI_INPUT_MESSAGES, "(not captured)")),
    ], width=24)
    out.write("\n")


def _print_metric_totals(out: TextIO, reader: InMemoryMetricReader) -> None:
    totals = _metric_totals(reader)
    out.write("Metric totals by served model (what Prometheus and the dashboards add up):\n")
    header = f"     {'model':<44}{'calls':>6}{'errors':>8}{'tokens in':>11}{'tokens out':>12}{'cost USD':>12}\n"
    out.write(header)
    for model, row in sorted(totals.items()):
        out.write(f"     {model:<44}{row['calls']:>6}{row['errors']:>8}{row['input']:>11}{row['output']:>12}"
                  f"{row['cost']:>12.6f}\n")
    out.write("\n")


def _metric_totals(reader: InMemoryMetricReader) -> dict[str, dict[str, Any]]:
    totals: dict[str, dict[str, Any]] = {}
    data = reader.get_metrics_data()
    for resource_metrics in data.resource_metrics if data else ():
        for scope_metrics in resource_metrics.scope_metrics:
            for metric in scope_metrics.metrics:
                for point in metric.data.data_points:
                    _add_point(totals, metric.name, point)
    return totals


_TOTALLED_METRICS = frozenset({sc.METRIC_OPERATION_DURATION, sc.METRIC_TOKEN_USAGE, sc.METRIC_COST})


def _add_point(totals: dict[str, dict[str, Any]], name: str, point: Any) -> None:
    if name not in _TOTALLED_METRICS:
        return
    attributes = point.attributes or {}
    model = attributes.get(sc.GEN_AI_RESPONSE_MODEL) or f"{attributes.get(sc.GEN_AI_REQUEST_MODEL, '?')} (asked)"
    row = totals.setdefault(str(model), {"calls": 0, "errors": 0, "input": 0, "output": 0, "cost": 0.0})
    if name == sc.METRIC_OPERATION_DURATION:
        row["calls"] += point.count
        row["errors"] += point.count if sc.ERROR_TYPE in attributes else 0
    elif name == sc.METRIC_TOKEN_USAGE:
        token_type = attributes.get(sc.GEN_AI_TOKEN_TYPE)
        if token_type in (sc.TOKEN_TYPE_INPUT, sc.TOKEN_TYPE_OUTPUT):
            row[str(token_type)] += int(point.sum)
    elif name == sc.METRIC_COST:
        row["cost"] += point.sum


def _print_audit_store(out: TextIO, audit_db: Path) -> None:
    from openrouter_otel.audit_store.report import build_report, render
    from openrouter_otel.audit_store.store import AuditStore
    from openrouter_otel.audit_store.verify import verify

    with AuditStore(audit_db, create=False) as store:
        out.write(f"Every call is also a row of the embedded audit store {audit_db}\n"
                  f"(on in your app with {sc.ENV_AUDIT_DB}=path). `openrouter-otel audit report --db {audit_db}`:\n\n")
        sections = [section for section in build_report(store, None, None)
                    if section.name in ("daily_cost_by_model", "error_rate_by_model", "top_teams", "cost_by_source")]
        out.write(render(sections, "table", {}))
        result = verify(store)
        verdict = "ok" if result.ok else f"BROKEN at row {result.first_break.seq}"  # type: ignore[union-attr]
        out.write(f"`openrouter-otel audit verify --db {audit_db}`: {verdict}: {result.rows} rows, hash chain "
                  f"intact, head {result.head.seq}:{result.head.hash[:16]}…\n\n")


def _print_metrics_endpoint(out: TextIO, metrics_url: str, serve_seconds: float) -> None:
    out.write(f"The same metrics in Prometheus format: {metrics_url}\n")
    if serve_seconds > 0:
        out.write(f"Serving them for {serve_seconds:.0f}s (Ctrl-C to stop).\n")
    else:
        out.write("To keep the endpoint up for scraping: openrouter-otel demo --serve SECONDS\n")


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


def _value_text(value: Any) -> str:
    if isinstance(value, (list, tuple)):
        return ", ".join(str(item) for item in value)
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value)


def _shorten(text: str, limit: int = 60) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
