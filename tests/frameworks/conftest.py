"""Fixtures and checks shared by the framework tests: each framework drives the real `openai` SDK against the
replay server, once uninstrumented and once instrumented, and the instrumented run must record exactly one
span and one audit record per HTTP request, agreeing with what the server served, and change nothing."""

from __future__ import annotations

import contextlib
import logging
import os
import warnings
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest
from opentelemetry.sdk.trace import ReadableSpan

import openrouter_otel
from openrouter_otel import semconv as sc

from ..conftest import TEST_API_KEY

# Frameworks that would reach the network at import or call time are told not to.
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
os.environ.setdefault("LANGSMITH_TRACING", "false")
os.environ.setdefault("OPENAI_AGENTS_DISABLE_TRACING", "1")

MODEL = "anthropic/claude-sonnet-4.5"
PROMPT = "Say hello"
API_KEY = TEST_API_KEY
LLM_ROUTES = frozenset({"/chat/completions", "/responses", "/completions", "/embeddings"})
OUR_PACKAGE_DIR = str(Path(openrouter_otel.__file__).resolve().parent)


def scenario(name: str) -> dict[str, str]:
    return {"X-Replay-Scenario": name}


@pytest.fixture(autouse=True)
def no_warnings_from_us(caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    """No warning logged by `openrouter_otel.*` and no Python warning raised from our modules."""
    caplog.set_level(logging.WARNING, logger=sc.INSTRUMENTATION_SCOPE)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        yield
    ours = [record for record in caplog.records
            if record.name.startswith(sc.INSTRUMENTATION_SCOPE) and record.levelno >= logging.WARNING]
    assert not ours, [record.getMessage() for record in ours]
    raised = [str(item.message) for item in caught if str(Path(item.filename).resolve()).startswith(OUR_PACKAGE_DIR)]
    assert not raised, raised


@pytest.fixture
def instrument_after_baseline(pipelines: Any, replay_server: Any, instrument: Any) -> Callable[[], Any]:
    """Called between the uninstrumented and the instrumented run: forgets the baseline's telemetry and
    requests, then instruments."""

    def _instrument() -> Any:
        pipelines.span_exporter.clear()
        pipelines.log_exporter.clear()
        replay_server.clear_requests()
        return instrument()

    return _instrument


@pytest.fixture
def instrument_hosts(pipelines: Any, replay_server: Any, instrument: Any) -> Callable[[], Any]:
    """`instrument_after_baseline` with the replay server also a configured OpenRouter host, for clients the
    HTTP-level wrappers record (and must leave to an SDK wrapper above them)."""

    def _instrument() -> Any:
        pipelines.span_exporter.clear()
        pipelines.log_exporter.clear()
        replay_server.clear_requests()
        return instrument(hosts=[replay_server.base_url])

    return _instrument


@pytest.fixture
def app_span(pipelines: Any) -> Callable[[], Any]:
    """The application's own span around a framework call, for frameworks that make no spans."""
    tracer = pipelines.tracer_provider.get_tracer("app")

    @contextlib.contextmanager
    def _span() -> Iterator[Any]:
        with tracer.start_as_current_span("app") as span:
            yield span

    return _span


def ours(pipelines: Any) -> list[ReadableSpan]:
    return [span for span in pipelines.spans() if span.instrumentation_scope.name == sc.INSTRUMENTATION_SCOPE]


def llm_requests(replay_server: Any) -> list[Any]:
    return [request for request in replay_server.requests if request.route in LLM_ROUTES]


def assert_one_span_per_request(pipelines: Any, replay_server: Any, *, requests: int, stream: bool,
                                parent: Callable[[ReadableSpan], bool]) -> list[ReadableSpan]:
    """`requests` HTTP requests since the baseline, each with exactly one span of ours (under a span
    `parent` accepts) and one audit record, and each span agreeing with what the server served."""
    spans = ours(pipelines)
    assert len(llm_requests(replay_server)) == requests
    assert len(spans) == requests, [span.name for span in pipelines.spans()]
    by_id = {span.context.span_id: span for span in pipelines.spans()}
    for span in spans:
        assert span.parent is not None and span.parent.span_id in by_id, f"{span.name} has no recorded parent"
        assert parent(by_id[span.parent.span_id]), by_id[span.parent.span_id].name
        assert_matches_server(span, replay_server, stream=stream)
    audits = [record for record in pipelines.audit_records() if record.event_name == sc.AUDIT_EVENT_NAME]
    assert sorted(record.span_id for record in audits) == sorted(span.context.span_id for span in spans)
    return spans


def assert_matches_server(span: ReadableSpan, replay_server: Any, *, stream: bool) -> None:
    attributes = dict(span.attributes or {})
    generation_id = attributes.get(sc.GEN_AI_RESPONSE_ID)
    served = (replay_server.generation(generation_id) or {}).get("data")
    assert served is not None, f"the server never served {generation_id}: {attributes}"
    expected = {
        sc.GEN_AI_RESPONSE_MODEL: served["model"],
        sc.OPENROUTER_PROVIDER: served["provider_name"],
        sc.GEN_AI_USAGE_INPUT_TOKENS: served["tokens_prompt"],
        sc.GEN_AI_USAGE_OUTPUT_TOKENS: served["tokens_completion"],
        sc.GEN_AI_USAGE_COST: served["total_cost"],
        sc.OPENROUTER_COST_SOURCE: sc.COST_SOURCE_RESPONSE,
        sc.GEN_AI_REQUEST_STREAM: stream,
    }
    if stream:
        expected[sc.OPENROUTER_STREAM_OUTCOME] = "completed"
    actual = {key: attributes.get(key, False if key == sc.GEN_AI_REQUEST_STREAM else None) for key in expected}
    assert actual == expected, attributes
    if stream:
        assert attributes[sc.GEN_AI_RESPONSE_TIME_TO_FIRST_CHUNK] > 0


def is_app(span: ReadableSpan) -> bool:
    return span.name == "app"


def without(value: Any, keys: frozenset[str]) -> Any:
    """`value` with the mapping keys in `keys` dropped at every depth (for fields a framework stamps locally)."""
    if isinstance(value, dict):
        return {key: without(item, keys) for key, item in value.items() if key not in keys}
    if isinstance(value, (list, tuple)):
        return [without(item, keys) for item in value]
    return value
