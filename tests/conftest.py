"""Shared fixtures: in-memory OpenTelemetry pipelines, the instrumentor, and the local OpenRouter replay server."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

import openai
import pytest
from opentelemetry.sdk._logs import LoggerProvider
from opentelemetry.sdk._logs.export import InMemoryLogRecordExporter, SimpleLogRecordProcessor
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from openrouter_otel import OpenRouterInstrumentor

REPO_ROOT = Path(__file__).resolve().parents[1]
# Recorded OpenRouter traffic, kept in the repository (see its README for where it was recorded).
CORPUS_DIR = REPO_ROOT / "tests" / "fixtures" / "openrouter-recorded"
TEST_API_KEY = "sk-or-v1-0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"


@dataclass
class Pipelines:
    """Tracer, meter and logger providers that keep everything exported in memory."""

    span_exporter: InMemorySpanExporter = field(default_factory=InMemorySpanExporter)
    metric_reader: InMemoryMetricReader = field(default_factory=InMemoryMetricReader)
    log_exporter: InMemoryLogRecordExporter = field(default_factory=InMemoryLogRecordExporter)

    def __post_init__(self) -> None:
        self.tracer_provider = TracerProvider()
        self.tracer_provider.add_span_processor(SimpleSpanProcessor(self.span_exporter))
        self.meter_provider = MeterProvider(metric_readers=[self.metric_reader])
        self.logger_provider = LoggerProvider()
        self.logger_provider.add_log_record_processor(SimpleLogRecordProcessor(self.log_exporter))

    def providers(self) -> dict[str, Any]:
        return {
            "tracer_provider": self.tracer_provider,
            "meter_provider": self.meter_provider,
            "logger_provider": self.logger_provider,
        }

    def flush(self) -> None:
        """Record what has ended (calls are recorded off the caller's path); the providers' flush does that."""
        self.tracer_provider.force_flush()

    def spans(self) -> list[ReadableSpan]:
        self.flush()
        return list(self.span_exporter.get_finished_spans())

    def only_span(self) -> ReadableSpan:
        spans = self.spans()
        assert len(spans) == 1, [span.name for span in spans]
        return spans[0]

    def audit_records(self) -> list[Any]:
        self.flush()
        return [data.log_record for data in self.log_exporter.get_finished_logs()]

    def points(self, metric_name: str) -> list[Any]:
        self.flush()
        data = self.metric_reader.get_metrics_data()
        found = []
        for resource_metrics in data.resource_metrics if data else ():
            for scope_metrics in resource_metrics.scope_metrics:
                for metric in scope_metrics.metrics:
                    if metric.name == metric_name:
                        found.extend(metric.data.data_points)
        return found

    def shutdown(self) -> None:
        self.tracer_provider.shutdown()
        self.meter_provider.shutdown()
        self.logger_provider.shutdown()


@pytest.fixture
def pipelines() -> Iterator[Pipelines]:
    pipes = Pipelines()
    yield pipes
    pipes.shutdown()


@pytest.fixture
def instrument(pipelines: Pipelines) -> Iterator[Any]:
    """Call to instrument with the in-memory providers (and any settings keywords); uninstruments after."""
    instrumentor = OpenRouterInstrumentor()

    def _instrument(**settings: Any) -> Pipelines:
        instrumentor.instrument(**pipelines.providers(), **settings)
        return pipelines

    yield _instrument
    instrumentor.uninstrument()


@pytest.fixture
def instrumented(instrument: Any) -> Pipelines:
    return instrument()


@pytest.fixture(scope="session")
def replay_server() -> Iterator[Any]:
    from openrouter_otel.server.replay import ReplayServer

    assert CORPUS_DIR.is_dir(), f"recorded corpus not found at {CORPUS_DIR}"
    with ReplayServer(CORPUS_DIR) as server:
        yield server


@pytest.fixture
def client(replay_server: Any) -> Iterator[openai.OpenAI]:
    sdk_client = openai.OpenAI(base_url=replay_server.base_url, api_key=TEST_API_KEY, max_retries=0)
    yield sdk_client
    sdk_client.close()


@pytest.fixture
async def async_client(replay_server: Any) -> Any:
    sdk_client = openai.AsyncOpenAI(base_url=replay_server.base_url, api_key=TEST_API_KEY, max_retries=0)
    yield sdk_client
    await sdk_client.close()


@pytest.fixture
def free_port() -> int:
    """A loopback port nobody listens on right now."""
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _sdk_http_module() -> Any:
    """The HTTP library the installed openai SDK is built on: httpx2 in openai 3.x, httpx in 2.x."""
    import openai._base_client as base_client

    return getattr(base_client, "httpx2", None) or base_client.httpx


SDK_HTTPX = _sdk_http_module()


# How LiteLLM reads an SDK stream: a new `for` loop for every chunk, each left after one chunk.
def one_loop_per_chunk(stream):
    chunks = []
    while True:
        for chunk in stream:
            chunks.append(chunk)
            break
        else:
            return chunks


async def one_async_loop_per_chunk(stream):
    chunks = []
    while True:
        async for chunk in stream:
            chunks.append(chunk)
            break
        else:
            return chunks
        await asyncio.sleep(0)  # lets the loop finalise the left iteration now rather than at some later await
