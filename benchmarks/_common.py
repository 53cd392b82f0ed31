"""Shared pieces of the benchmarks: the OpenRouter-shaped responses, clients over an in-process transport,
no-op exporters, the default providers, and the timers.

This module must import nothing from `openrouter_otel`: the overhead benchmark also runs it in the peers'
virtual environments, where our package is not installed.
"""

from __future__ import annotations

import gc
import json
import statistics
import time
from typing import Any, Callable, Sequence

import importlib
import openai
from opentelemetry.sdk._logs import LoggerProvider
from opentelemetry.sdk._logs.export import BatchLogRecordProcessor, LogRecordExporter, LogRecordExportResult
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import MetricExporter, MetricExportResult, PeriodicExportingMetricReader
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult

MODEL = "anthropic/claude-sonnet-4.5"
MESSAGES = [
    {"role": "system", "content": "You are a helpful assistant."},
    {"role": "user", "content": "Summarise the plot of Hamlet in two sentences."},
]
BASE_URL = "https://openrouter.ai/api/v1"
API_KEY = "benchmark-placeholder-not-a-key"  # the mock server checks no key
# Shaped like the recorded exchanges in tests/fixtures/openrouter-recorded/ (gen- id, provider,
# native_finish_reason, usage.cost and its details), with a short answer so the SDK's parse stays small.
GENERATION_ID = "gen-1767761758-xrHVZNWuYcIilpSLD1oj"
USAGE = {
    "prompt_tokens": 31,
    "completion_tokens": 12,
    "total_tokens": 43,
    "cost": 0.000273,
    "is_byok": False,
    "prompt_tokens_details": {"cached_tokens": 0, "cache_write_tokens": 0, "audio_tokens": 0, "video_tokens": 0},
    "cost_details": {"upstream_inference_cost": None, "upstream_inference_prompt_cost": 0.000093,
                     "upstream_inference_completions_cost": 0.00018},
    "completion_tokens_details": {"reasoning_tokens": 0, "image_tokens": 0},
}


def completion_body() -> bytes:
    return json.dumps({
        "id": GENERATION_ID,
        "provider": "Google",
        "model": MODEL,
        "object": "chat.completion",
        "created": 1767761758,
        "choices": [{
            "logprobs": None,
            "finish_reason": "stop",
            "native_finish_reason": "stop",
            "index": 0,
            "message": {"role": "assistant", "content": "Prince Hamlet avenges his father. Everyone dies.",
                        "refusal": None, "reasoning": None},
        }],
        "usage": USAGE,
    }).encode()


def stream_body(chunks: int) -> bytes:
    """`chunks` content chunks, a finish chunk and a usage chunk, as OpenRouter sends them."""
    base = {"id": GENERATION_ID, "provider": "Google", "model": MODEL, "object": "chat.completion.chunk",
            "created": 1767761758}
    events = [b": OPENROUTER PROCESSING\n\n"]
    for index in range(chunks):
        delta = {"role": "assistant", "content": f"tok{index} "}
        choice = {"index": 0, "delta": delta, "finish_reason": None, "native_finish_reason": None, "logprobs": None}
        events.append(_event({**base, "choices": [choice]}))
    done = {"index": 0, "delta": {"role": "assistant", "content": ""}, "finish_reason": "stop",
            "native_finish_reason": "stop", "logprobs": None}
    events.append(_event({**base, "choices": [done]}))
    usage = {**USAGE, "completion_tokens": chunks, "total_tokens": 31 + chunks, "cost": 0.0031}
    events.append(_event({**base, "choices": [], "usage": usage}))
    events.append(b"data: [DONE]\n\n")
    return b"".join(events)


def generation_body() -> bytes:
    return json.dumps({"data": {"id": GENERATION_ID, "total_cost": 0.000273, "provider_name": "Google",
                                "model": MODEL, "tokens_prompt": 31, "tokens_completion": 12}}).encode()


def _event(payload: dict[str, Any]) -> bytes:
    return b"data: " + json.dumps(payload).encode() + b"\n\n"


def is_stream_request(body: bytes) -> bool:
    return b'"stream":true' in body or b'"stream": true' in body


SHORT_HEADER = "x-bench-short-stream"  # asks for a one-chunk stream: the per-chunk cost is long minus short


def _sdk_http_module() -> Any:
    """The HTTP client package the installed `openai` sends with: httpx2 for openai 3.x, httpx for 2.x."""
    for cls in openai.DefaultHttpxClient.__mro__[1:]:
        package = cls.__module__.split(".")[0]
        if package in ("httpx", "httpx2"):
            return importlib.import_module(package)
    return importlib.import_module("httpx2")


http = _sdk_http_module()


def mock_handler(chunks: int, wait_s: float = 0.0) -> Callable[[Any], Any]:
    """Answers like OpenRouter; after `wait_s` of sleep (the network round trip) when given."""
    completion, stream, generation = completion_body(), stream_body(chunks), generation_body()
    short = stream_body(1)

    def handler(request: Any) -> Any:
        if wait_s:
            time.sleep(wait_s)
        if request.method == "GET":  # the generation endpoint, should an instrumentation ask it
            return http.Response(200, headers={"content-type": "application/json"}, content=generation)
        if is_stream_request(request.content):
            body = short if SHORT_HEADER in request.headers else stream
            return http.Response(200, headers={"content-type": "text/event-stream"}, content=body)
        return http.Response(200, headers={"content-type": "application/json"}, content=completion)

    return handler


def make_client(chunks: int, wait_s: float = 0.0) -> openai.OpenAI:
    http_client = http.Client(transport=http.MockTransport(mock_handler(chunks, wait_s)))
    return openai.OpenAI(base_url=BASE_URL, api_key=API_KEY, http_client=http_client, max_retries=0)


class NoOpSpanExporter(SpanExporter):
    """Drops spans; counts them, so a benchmark can check that a variant is on or off."""

    def __init__(self) -> None:
        self.exported = 0

    def export(self, spans: Sequence[Any]) -> SpanExportResult:
        self.exported += len(spans)
        return SpanExportResult.SUCCESS


class NoOpLogExporter(LogRecordExporter):
    def export(self, batch: Sequence[Any]) -> LogRecordExportResult:
        return LogRecordExportResult.SUCCESS

    def shutdown(self) -> None:
        pass

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return True


class NoOpMetricExporter(MetricExporter):
    def export(self, metrics_data: Any, timeout_millis: float = 10_000, **kwargs: Any) -> MetricExportResult:
        return MetricExportResult.SUCCESS

    def force_flush(self, timeout_millis: float = 10_000) -> bool:
        return True

    def shutdown(self, timeout_millis: float = 30_000, **kwargs: Any) -> None:
        pass


class Providers:
    """The defaults a production app would have: batch span and log processors, a periodic metric reader."""

    def __init__(self) -> None:
        self.tracer_provider = TracerProvider()
        self.span_exporter = NoOpSpanExporter()
        self.tracer_provider.add_span_processor(BatchSpanProcessor(self.span_exporter))
        reader = PeriodicExportingMetricReader(NoOpMetricExporter(), export_interval_millis=600_000)
        self.meter_provider = MeterProvider(metric_readers=[reader])
        self.logger_provider = LoggerProvider()
        self.logger_provider.add_log_record_processor(BatchLogRecordProcessor(NoOpLogExporter()))

    def kwargs(self) -> dict[str, Any]:
        return {"tracer_provider": self.tracer_provider, "meter_provider": self.meter_provider,
                "logger_provider": self.logger_provider}

    def force_flush(self) -> None:
        """Drain the work done off the request path (batch export threads, metric collection)."""
        self.tracer_provider.force_flush()
        self.logger_provider.force_flush()
        self.meter_provider.force_flush()

    def shutdown(self) -> None:
        self.tracer_provider.shutdown()
        self.logger_provider.shutdown()
        self.meter_provider.shutdown()


def measured(work: Callable[[], int | tuple[int, float]], flush: Callable[[], None]) -> dict[str, float]:
    """Run `work`, then `flush`: µs per unit of wall time (the caller path, before the flush) and of process
    CPU time (including the flush, so that what background threads do for these calls is counted).

    `work` returns how many units it did, or (units, its own wall µs per unit) when it times only a part."""
    gc.collect()
    cpu0, wall0 = time.process_time(), time.perf_counter()
    outcome = work()
    wall1 = time.perf_counter()
    flush()
    cpu1 = time.process_time()
    units, wall_us = outcome if isinstance(outcome, tuple) else (outcome, None)
    return {"wall_us": wall_us if wall_us is not None else (wall1 - wall0) / units * 1e6,
            "cpu_us": (cpu1 - cpu0) / units * 1e6}


def run_calls(client: openai.OpenAI, calls: int) -> int:
    create = client.chat.completions.create
    for _ in range(calls):
        create(model=MODEL, messages=MESSAGES, max_tokens=64, temperature=0.2)
    return calls


def run_streams(client: openai.OpenAI, streams: int, short: bool = False) -> int:
    """Read `streams` whole streams, of the long or the one-chunk body; the unit is one stream."""
    create = client.chat.completions.create
    headers = {SHORT_HEADER: "1"} if short else None
    for _ in range(streams):
        for _chunk in create(model=MODEL, messages=MESSAGES, stream=True, stream_options={"include_usage": True},
                             extra_headers=headers):
            pass
    return streams


def run_first_chunks(client: openai.OpenAI, streams: int) -> tuple[int, float]:
    """Time from `create()` to holding the first chunk, mean µs; the rest of each stream is read untimed."""
    create = client.chat.completions.create
    total = 0.0
    for _ in range(streams):
        start = time.perf_counter()
        stream = create(model=MODEL, messages=MESSAGES, stream=True, stream_options={"include_usage": True})
        next(iter(stream))
        total += time.perf_counter() - start
        for _chunk in stream:
            pass
    return streams, total / streams * 1e6


def median(values: Sequence[float]) -> float:
    return statistics.median(values) if values else float("nan")
