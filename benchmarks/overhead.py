"""Overhead of the instrumentation per call and per streamed chunk, against an uninstrumented baseline.

The `openai` SDK talks to an in-process `httpx2.MockTransport` (no network, no server), so what is
measured is the SDK plus the instrumentation. Rounds alternate baseline / instrumented so that drift on
the machine hits both equally; the median of the per-round figures is reported.

With all defaults on: spans through a BatchSpanProcessor to a no-op exporter, metrics into an SDK
MeterProvider, audit events through a BatchLogRecordProcessor to a no-op exporter, redaction installed.

If `opentelemetry-instrumentation-openai-v2` is importable (it needs `httpx` too), it is measured in
the same run for comparison: `pip install opentelemetry-instrumentation-openai-v2 httpx` in a separate
environment (it registers its own auto-instrumentation entry point, so keep it out of the test venv).

    python benchmarks/overhead.py [--rounds 15] [--calls 400] [--chunks 200]
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from typing import Any, Callable, Sequence

import httpx2
import openai
from opentelemetry.sdk._logs import LoggerProvider
from opentelemetry.sdk._logs.export import BatchLogRecordProcessor, LogRecordExporter, LogRecordExportResult
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult

from openrouter_otel import OpenRouterInstrumentor

MODEL = "anthropic/claude-sonnet-4.5"
MESSAGES = [
    {"role": "system", "content": "You are a helpful assistant."},
    {"role": "user", "content": "Summarise the plot of Hamlet in two sentences."},
]


class NoOpSpanExporter(SpanExporter):
    def export(self, spans: Sequence[Any]) -> SpanExportResult:
        return SpanExportResult.SUCCESS


class NoOpLogExporter(LogRecordExporter):
    def export(self, batch: Sequence[Any]) -> LogRecordExportResult:
        return LogRecordExportResult.SUCCESS

    def shutdown(self) -> None:
        pass

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return True


def completion_body() -> bytes:
    return json.dumps(
        {
            "id": "gen-1767761748-70xwPUw28faiNCtf7KCq",
            "provider": "Anthropic",
            "model": MODEL,
            "object": "chat.completion",
            "created": 1767761748,
            "choices": [
                {
                    "index": 0,
                    "finish_reason": "stop",
                    "message": {"role": "assistant", "content": "Prince Hamlet avenges his father. Everyone dies."},
                }
            ],
            "usage": {
                "prompt_tokens": 31,
                "completion_tokens": 12,
                "total_tokens": 43,
                "cost": 0.000273,
                "is_byok": False,
                "prompt_tokens_details": {"cached_tokens": 0},
                "completion_tokens_details": {"reasoning_tokens": 0},
            },
        }
    ).encode()


def stream_body(chunks: int) -> bytes:
    base = {"id": "gen-1767761748-stream", "provider": "Anthropic", "model": MODEL, "object": "chat.completion.chunk", "created": 1}
    events = [b": OPENROUTER PROCESSING\n\n"]
    for index in range(chunks):
        delta = {"role": "assistant", "content": f"tok{index} "} if index == 0 else {"content": f"tok{index} "}
        events.append(_event({**base, "choices": [{"index": 0, "delta": delta, "finish_reason": None}]}))
    events.append(_event({**base, "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}))
    usage = {"prompt_tokens": 31, "completion_tokens": chunks, "total_tokens": 31 + chunks, "cost": 0.0031}
    events.append(_event({**base, "choices": [], "usage": usage}))
    events.append(b"data: [DONE]\n\n")
    return b"".join(events)


def _event(payload: dict[str, Any]) -> bytes:
    return b"data: " + json.dumps(payload).encode() + b"\n\n"


def make_client(chunks: int) -> openai.OpenAI:
    completion, stream = completion_body(), stream_body(chunks)

    def handler(request: httpx2.Request) -> httpx2.Response:
        if b'"stream":true' in request.content or b'"stream": true' in request.content:
            return httpx2.Response(200, headers={"content-type": "text/event-stream"}, content=stream)
        return httpx2.Response(200, headers={"content-type": "application/json"}, content=completion)

    http_client = httpx2.Client(transport=httpx2.MockTransport(handler))
    return openai.OpenAI(base_url="https://openrouter.ai/api/v1", api_key="sk-or-v1-bench", http_client=http_client)


def time_calls(client: openai.OpenAI, calls: int) -> float:
    """µs per non-streaming call."""
    create = client.chat.completions.create
    start = time.perf_counter()
    for _ in range(calls):
        create(model=MODEL, messages=MESSAGES, max_tokens=64, temperature=0.2)
    return (time.perf_counter() - start) / calls * 1e6


def time_stream(client: openai.OpenAI, streams: int, chunks: int) -> float:
    """µs per streamed chunk, whole stream included."""
    create = client.chat.completions.create
    start = time.perf_counter()
    for _ in range(streams):
        for _chunk in create(model=MODEL, messages=MESSAGES, stream=True):
            pass
    return (time.perf_counter() - start) / (streams * (chunks + 2)) * 1e6


class Providers:
    def __init__(self) -> None:
        self.tracer_provider = TracerProvider()
        self.tracer_provider.add_span_processor(BatchSpanProcessor(NoOpSpanExporter()))
        self.meter_provider = MeterProvider(metric_readers=[InMemoryMetricReader()])
        self.logger_provider = LoggerProvider()
        self.logger_provider.add_log_record_processor(BatchLogRecordProcessor(NoOpLogExporter()))

    def kwargs(self) -> dict[str, Any]:
        return {
            "tracer_provider": self.tracer_provider,
            "meter_provider": self.meter_provider,
            "logger_provider": self.logger_provider,
        }


def official_instrumentor() -> Any:
    try:
        from opentelemetry.instrumentation.openai_v2 import OpenAIInstrumentor
    except Exception:
        return None
    return OpenAIInstrumentor()


def sdk_floor(providers: Providers, client: openai.OpenAI, calls: int) -> float:
    """µs for the OpenTelemetry SDK work one instrumented call needs, issued directly with the same attributes.

    One call is made instrumented to capture its real span, metric and audit attributes; then the span
    start/end, the four histogram records and the log record are replayed straight into the SDK.
    """
    from opentelemetry.sdk._logs.export import InMemoryLogRecordExporter, SimpleLogRecordProcessor
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    from openrouter_otel import semconv as sc

    spans, logs = InMemorySpanExporter(), InMemoryLogRecordExporter()
    capture = Providers()
    capture.tracer_provider.add_span_processor(SimpleSpanProcessor(spans))
    capture.logger_provider.add_log_record_processor(SimpleLogRecordProcessor(logs))
    instrumentor = OpenRouterInstrumentor()
    instrumentor.instrument(**capture.kwargs())
    try:
        time_calls(client, 1)
    finally:
        instrumentor.uninstrument()
    span_attributes = dict(spans.get_finished_spans()[-1].attributes)
    log_attributes = dict(logs.get_finished_logs()[-1].log_record.attributes)
    metric_attributes = {k: span_attributes[k] for k in sc.METRIC_ATTRIBUTE_KEYS if k in span_attributes}
    tracer = providers.tracer_provider.get_tracer("floor")
    meter = providers.meter_provider.get_meter("floor")
    histograms = [meter.create_histogram(f"floor.h{index}") for index in range(3)]
    audit_logger = providers.logger_provider.get_logger("floor")
    half = len(span_attributes) // 2
    start_attributes = dict(list(span_attributes.items())[:half])
    end_attributes = dict(list(span_attributes.items())[half:])
    input_attributes = {**metric_attributes, sc.GEN_AI_TOKEN_TYPE: "input"}
    output_attributes = {**metric_attributes, sc.GEN_AI_TOKEN_TYPE: "output"}
    start = time.perf_counter()
    for _ in range(calls):
        span = tracer.start_span("chat model", attributes=start_attributes)
        span.set_attributes(end_attributes)
        histograms[0].record(0.5, metric_attributes)
        histograms[1].record(31, input_attributes)
        histograms[1].record(12, output_attributes)
        histograms[2].record(0.0003, metric_attributes)
        audit_logger.emit(body="chat", attributes=log_attributes, event_name="openrouter.audit")
        span.end()
    return (time.perf_counter() - start) / calls * 1e6


def measure(
    variants: dict[str, Any], run: Callable[[], float], rounds: int, providers: Providers
) -> dict[str, list[float]]:
    results: dict[str, list[float]] = {name: [] for name in variants}
    for _ in range(rounds):
        for name, instrumentor in variants.items():
            if instrumentor is not None:
                instrumentor.instrument(**providers.kwargs())
            try:
                results[name].append(run())
            finally:
                if instrumentor is not None:
                    instrumentor.uninstrument()
    return results


def report(title: str, unit: str, results: dict[str, list[float]]) -> None:
    baseline = statistics.median(results["baseline"])
    print(f"\n{title}")
    print(f"  {'variant':<22}{'median ' + unit:>16}{'added ' + unit:>14}{'ratio':>9}")
    for name, values in results.items():
        median = statistics.median(values)
        print(f"  {name:<22}{median:>16.2f}{median - baseline:>14.2f}{median / baseline:>9.3f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--calls", type=int, default=400)
    parser.add_argument("--streams", type=int, default=20)
    parser.add_argument("--chunks", type=int, default=200)
    args = parser.parse_args()

    client = make_client(args.chunks)
    providers = Providers()
    variants: dict[str, Any] = {"baseline": None, "openrouter-otel": OpenRouterInstrumentor()}
    official = official_instrumentor()
    if official is not None:
        variants["official openai-v2"] = official

    time_calls(client, 200)  # warm caches and imports outside the measurement
    calls = measure(variants, lambda: time_calls(client, args.calls), args.rounds, providers)
    streams = measure(variants, lambda: time_stream(client, args.streams, args.chunks), args.rounds, providers)

    report(f"Non-streaming chat call ({args.rounds} rounds x {args.calls} calls)", "µs/call", calls)
    report(f"Streamed chat, {args.chunks} chunks ({args.rounds} rounds x {args.streams} streams)", "µs/chunk", streams)
    ours = statistics.median(calls["openrouter-otel"]) - statistics.median(calls["baseline"])
    per_chunk = statistics.median(streams["openrouter-otel"]) - statistics.median(streams["baseline"])
    floor = statistics.median(sdk_floor(providers, client, args.calls) for _ in range(args.rounds))
    print(f"\nopenrouter-otel adds {ours:.1f} µs per call (target <= 40) and {per_chunk:.2f} µs per chunk (target <= 1)")
    print(f"of which the OpenTelemetry SDK's own work for one call (span, 4 histogram records, 1 log record,")
    print(f"same attributes, issued directly) is {floor:.1f} µs outside the SDK-call loop")
    if official is not None:
        theirs = statistics.median(calls["official openai-v2"]) - statistics.median(calls["baseline"])
        print(f"official openai-v2 adds {theirs:.1f} µs per call: ours is {theirs / max(ours, 0.01):.1f}x lower")


if __name__ == "__main__":
    main()
