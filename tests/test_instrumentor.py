"""The instrumentor's life cycle, and zero-code use through `opentelemetry-instrument`."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest
import wrapt
from openai._base_client import AsyncAPIClient, SyncAPIClient

from openrouter_otel import OpenRouterInstrumentor
from openrouter_otel import semconv as sc

from .conftest import TEST_API_KEY

APP = Path(__file__).parent / "apps" / "zero_code_app.py"
MESSAGES = [{"role": "user", "content": "hi"}]
WRAPPED = ((SyncAPIClient, "request"), (AsyncAPIClient, "request"))


def chat(client):
    client.chat.completions.create(model="a/b", messages=MESSAGES, extra_headers={"X-Replay-Scenario": "chat"})


def test_uninstrument_restores_the_original_methods_and_stops_recording(pipelines, client):
    originals = [vars(cls)[name] for cls, name in WRAPPED]
    instrumentor = OpenRouterInstrumentor()
    instrumentor.instrument(**pipelines.providers())
    assert all(vars(cls)[name] is not original for (cls, name), original in zip(WRAPPED, originals))
    chat(client)
    instrumentor.uninstrument()
    assert all(vars(cls)[name] is original for (cls, name), original in zip(WRAPPED, originals))
    chat(client)
    assert len(pipelines.spans()) == 1


def test_instrumenting_twice_does_not_double_record(pipelines, client):
    instrumentor = OpenRouterInstrumentor()
    instrumentor.instrument(**pipelines.providers())
    instrumentor.instrument(**pipelines.providers())
    try:
        chat(client)
    finally:
        instrumentor.uninstrument()
    assert len(pipelines.spans()) == 1
    assert len(pipelines.audit_records()) == 1


def test_instrumentation_dependencies_name_the_supported_openai_range():
    (requirement,) = OpenRouterInstrumentor().instrumentation_dependencies()
    assert requirement.startswith("openai") and "< 4" in requirement


def test_entry_point_lets_opentelemetry_instrument_find_the_instrumentor():
    from importlib.metadata import entry_points

    (entry,) = [ep for ep in entry_points(group="opentelemetry_instrumentor") if ep.name == "openrouter"]
    assert entry.load() is OpenRouterInstrumentor


def test_zero_code_setup_records_spans_and_audit_events_with_no_code_change(replay_server, tmp_path):
    env = {
        **os.environ,
        "APP_BASE_URL": replay_server.base_url,
        "APP_API_KEY": TEST_API_KEY,
        "OTEL_SERVICE_NAME": "zero-code-app",
        "OTEL_TRACES_EXPORTER": "console",
        "OTEL_METRICS_EXPORTER": "none",
        "OTEL_LOGS_EXPORTER": "console",
        "OTEL_PYTHON_DISABLED_INSTRUMENTATIONS": "",
    }
    bin_dir = Path(sys.executable).parent
    completed = subprocess.run(
        [str(bin_dir / "opentelemetry-instrument"), sys.executable, str(APP)],
        env=env, capture_output=True, text=True, timeout=120, check=False,
    )
    assert completed.returncode == 0, completed.stderr
    assert "APP-RESULT gen-" in completed.stdout
    spans = [item for item in _json_objects(completed.stdout) if "context" in item and "kind" in item]
    ours = [span for span in spans if span["attributes"].get(sc.GEN_AI_OPERATION_NAME) == sc.OPERATION_CHAT]
    assert [span["name"] for span in ours] == ["chat anthropic/claude-sonnet-4.5", "chat google/gemini-2.5-flash"]
    assert all(span["attributes"][sc.GEN_AI_USAGE_COST] > 0 for span in ours)
    audit = [item for item in _json_objects(completed.stdout) if item.get("event_name") == sc.AUDIT_EVENT_NAME]
    assert len(audit) == 2
    assert TEST_API_KEY not in completed.stdout
    assert "bob@example.org" not in completed.stdout


def _json_objects(text: str) -> list[dict]:
    """The JSON objects the console exporters print, one after another, possibly over several lines."""
    decoder = json.JSONDecoder()
    objects, index = [], 0
    while True:
        start = text.find("{", index)
        if start < 0:
            return objects
        try:
            value, index = decoder.raw_decode(text, start)
        except json.JSONDecodeError:
            index = start + 1
            continue
        if isinstance(value, dict):
            objects.append(value)


OTHER_INSTRUMENTATION = "another OpenAI instrumentation"


def other_instrumentation_warnings(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records
            if r.levelno == logging.WARNING and OTHER_INSTRUMENTATION in r.getMessage()]


@pytest.fixture
def other_instrumentation():
    """Wrap a resource method with wrapt, as the official openai-v2, OpenLLMetry and OpenLIT instrumentations do."""
    from openai.resources.chat import completions

    original = vars(completions.Completions)["create"]

    def wrap():
        wrapt.wrap_function_wrapper(completions, "Completions.create", lambda wrapped, _i, a, k: wrapped(*a, **k))

    yield wrap
    completions.Completions.create = original


def test_warns_once_when_another_openai_instrumentation_is_already_active(instrument, client, other_instrumentation,
                                                                          caplog):
    other_instrumentation()
    instrument()
    chat(client)
    chat(client)
    [message] = other_instrumentation_warnings(caplog)
    assert "Completions.create" in message and "double" in message and sc.INSTRUMENTATION_SCOPE in message


def test_warns_once_when_another_openai_instrumentation_comes_after_ours(instrument, client, other_instrumentation,
                                                                         caplog):
    instrument()
    assert other_instrumentation_warnings(caplog) == []
    other_instrumentation()
    chat(client)
    chat(client)
    assert len(other_instrumentation_warnings(caplog)) == 1


def test_no_warning_when_ours_is_the_only_openai_instrumentation(instrument, client, caplog):
    instrument()
    chat(client)
    assert other_instrumentation_warnings(caplog) == []


def test_warns_when_the_official_openai_v2_instrumentor_is_instrumented(instrument, client, caplog, monkeypatch):
    import types

    from opentelemetry.instrumentation.instrumentor import BaseInstrumentor

    class OpenAIInstrumentor(BaseInstrumentor):
        def instrumentation_dependencies(self):
            return ()

        def _instrument(self, **kwargs):
            pass

        def _uninstrument(self, **kwargs):
            pass

    module = types.ModuleType("opentelemetry.instrumentation.openai_v2")
    module.OpenAIInstrumentor = OpenAIInstrumentor
    monkeypatch.setitem(sys.modules, module.__name__, module)
    OpenAIInstrumentor().instrument()
    instrument()
    [message] = other_instrumentation_warnings(caplog)
    assert "openai_v2.OpenAIInstrumentor" in message
