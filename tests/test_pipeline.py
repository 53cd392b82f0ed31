"""The call pipeline: recorded off the caller's thread with true end times, nothing lost at flush, shutdown or
exit, a synchronous mode, no per-attempt wrapper, cached metric attribute sets, and current conventions."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import threading
import time

import openai
import pytest
import wrapt
from opentelemetry.sdk.trace import SpanProcessor

from openrouter_otel import record
from openrouter_otel import semconv as sc
from openrouter_otel.worker import Worker
from tests.conftest import REPO_ROOT

MODEL = "anthropic/claude-sonnet-4.5"
MESSAGES = [{"role": "user", "content": "hi"}]


def scenario(name: str) -> dict[str, dict[str, str]]:
    return {"extra_headers": {"X-Replay-Scenario": name}}


class ThreadNoting(SpanProcessor):
    """A span processor noting in which thread each span ended."""

    def __init__(self) -> None:
        self.threads: list[str] = []

    def on_end(self, span) -> None:
        self.threads.append(threading.current_thread().name)


def test_a_call_is_recorded_off_the_callers_thread_with_its_true_end_time(pipelines, instrument, client):
    noting = ThreadNoting()
    pipelines.tracer_provider.add_span_processor(noting)
    instrument()
    before = time.time_ns()
    client.chat.completions.create(model=MODEL, messages=MESSAGES, **scenario("chat"))
    returned = time.time_ns()
    time.sleep(0.2)  # recorded later than the call ended...
    span = pipelines.only_span()
    assert before <= span.start_time <= span.end_time <= returned  # ...with the time it really ended
    assert noting.threads == ["openrouter-otel-recorder"]
    assert pipelines.audit_records()[0].timestamp == span.end_time


def test_synchronous_mode_records_before_the_call_returns(pipelines, instrument, client):
    instrument(synchronous=True)
    client.chat.completions.create(model=MODEL, messages=MESSAGES, **scenario("chat"))
    assert len(pipelines.span_exporter.get_finished_spans()) == 1  # read without any flush
    assert len(pipelines.log_exporter.get_finished_logs()) == 1


@pytest.mark.parametrize("provider", ["tracer_provider", "logger_provider", "meter_provider"])
def test_each_providers_force_flush_records_the_calls_that_ended(pipelines, instrument, client, provider):
    instrument()
    client.chat.completions.create(model=MODEL, messages=MESSAGES, **scenario("chat"))
    getattr(pipelines, provider).force_flush()
    assert len(pipelines.span_exporter.get_finished_spans()) == 1
    assert len(pipelines.log_exporter.get_finished_logs()) == 1


def test_shutting_the_provider_down_records_the_calls_that_ended(pipelines, instrument, client):
    instrument()
    client.chat.completions.create(model=MODEL, messages=MESSAGES, **scenario("chat"))
    pipelines.tracer_provider.shutdown()
    assert len(pipelines.span_exporter.get_finished_spans()) == 1


def test_uninstrumenting_removes_the_flush_hooks(pipelines):
    from openrouter_otel import OpenRouterInstrumentor

    instrumentor = OpenRouterInstrumentor()
    instrumentor.instrument(**pipelines.providers())
    assert "force_flush" in vars(pipelines.tracer_provider)
    instrumentor.uninstrument()
    assert "force_flush" not in vars(pipelines.tracer_provider)
    assert "shutdown" not in vars(pipelines.logger_provider)


EXIT_SCRIPT = textwrap.dedent("""
    import openai
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExporter, SpanExportResult
    from openrouter_otel import OpenRouterInstrumentor
    from openrouter_otel.server.replay import ReplayServer

    class Printing(SpanExporter):
        def export(self, spans):
            for span in spans:
                print("exported", span.name, flush=True)
            return SpanExportResult.SUCCESS

    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(Printing()))
    OpenRouterInstrumentor().instrument(tracer_provider=provider)
    server = ReplayServer({corpus!r}).start()
    client = openai.OpenAI(base_url=server.base_url, api_key="sk-or-v1-test", max_retries=0)
    client.chat.completions.create(model="scenario/chat", messages=[{{"role": "user", "content": "hi"}}],
                                   extra_headers={{"X-Replay-Scenario": "chat"}})
    print("returned", flush=True)
    # exits at once: no flush, no shutdown by the application
""")


def test_a_call_that_ended_just_before_exit_is_still_exported():
    corpus = str(REPO_ROOT / "tests" / "fixtures" / "openrouter-recorded")
    result = subprocess.run([sys.executable, "-c", EXIT_SCRIPT.format(corpus=corpus)], capture_output=True,
                            text=True, timeout=60, cwd=REPO_ROOT)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "returned"
    assert [line for line in lines if line.startswith("exported chat")], result.stdout


def test_no_wrapper_runs_per_attempt_and_retries_are_still_counted(instrument, replay_server):
    from openai._base_client import BaseClient

    pipelines = instrument()
    assert not isinstance(vars(BaseClient)["_build_request"], wrapt.FunctionWrapper)
    client = openai.OpenAI(base_url=replay_server.base_url, api_key="sk-or-v1-test", max_retries=2)
    with pytest.raises(openai.RateLimitError):
        client.with_options(timeout=5).chat.completions.create(
            model=MODEL, messages=MESSAGES, **scenario("rate_limit_429"))
    assert pipelines.only_span().attributes[sc.OPENROUTER_RETRY_COUNT] == 2


def test_a_cut_stream_finishes_its_open_choice_with_error(instrumented, client):
    stream = client.chat.completions.create(model=MODEL, messages=MESSAGES, stream=True, **scenario("slow_stream"))
    next(stream)
    stream.close()
    attributes = instrumented.only_span().attributes
    assert attributes[sc.OPENROUTER_STREAM_OUTCOME] == "closed"
    assert list(attributes[sc.GEN_AI_RESPONSE_FINISH_REASONS]) == [sc.FINISH_REASON_ERROR]


def test_a_completed_stream_keeps_its_own_finish_reason(instrumented, client):
    for _ in client.chat.completions.create(model=MODEL, messages=MESSAGES, stream=True, **scenario("chat_stream")):
        pass
    assert list(instrumented.only_span().attributes[sc.GEN_AI_RESPONSE_FINISH_REASONS]) == ["stop"]


def test_cache_writes_are_recorded_under_the_newer_and_the_older_name(instrumented, client):
    client.chat.completions.create(model=MODEL, messages=MESSAGES, **scenario("cached_prompt"))
    attributes = instrumented.only_span().attributes
    assert attributes[sc.GEN_AI_USAGE_CACHE_WRITE_INPUT_TOKENS] == attributes[
        sc.GEN_AI_USAGE_CACHE_CREATION_INPUT_TOKENS]


def test_metric_attribute_sets_are_built_once_per_label_set():
    sets = record.MetricAttributeSets(lambda team: team if team == "a" else "other", with_enduser=False)
    call = {sc.GEN_AI_OPERATION_NAME: "chat", sc.GEN_AI_REQUEST_MODEL: "m", sc.OPENROUTER_TEAM: "a",
            sc.GEN_AI_RESPONSE_ID: "gen-1"}
    first = sets.of(call)
    assert sets.of({**call, sc.GEN_AI_RESPONSE_ID: "gen-2"}) is first  # the response id is no label
    base, input_attributes, output_attributes = first
    assert sc.GEN_AI_RESPONSE_ID not in base and base[sc.OPENROUTER_TEAM] == "a"
    assert input_attributes[sc.GEN_AI_TOKEN_TYPE] == sc.TOKEN_TYPE_INPUT
    assert output_attributes[sc.GEN_AI_TOKEN_TYPE] == sc.TOKEN_TYPE_OUTPUT
    assert sets.of({**call, sc.OPENROUTER_TEAM: "b"})[0][sc.OPENROUTER_TEAM] == "other"


def test_a_full_queue_records_in_the_callers_thread_and_drops_nothing():
    release = threading.Event()
    handled: list[tuple[int, str]] = []

    def handle(item: int) -> None:
        if item == 0:
            release.wait(5)
        handled.append((item, threading.current_thread().name))

    worker = Worker(handle, max_pending=1, batch_delay=0)
    worker.submit(0)  # the worker thread takes it and blocks
    deadline = time.monotonic() + 5
    while worker._pending and time.monotonic() < deadline:
        time.sleep(0.01)
    worker.submit(1)  # queued
    worker.submit(2)  # the queue is full: handled here
    assert (2, threading.current_thread().name) in handled
    assert worker.flush(timeout=0.1) is False  # the batch in progress is still blocked
    release.set()
    assert worker.flush(timeout=5) is True
    assert sorted(item for item, _ in handled) == [0, 1, 2]
    worker.shutdown()


def test_a_stopped_worker_records_in_the_callers_thread():
    handled: list[str] = []
    worker = Worker(lambda item: handled.append(threading.current_thread().name), batch_delay=0)
    worker.shutdown()
    worker.submit("late")
    assert handled == [threading.current_thread().name]


def test_the_audit_record_is_redacted_once_and_still_exported_redacted(instrument, client, monkeypatch):
    from openrouter_otel import audit_context
    from openrouter_otel.redaction_processors import RedactingLogRecordProcessor

    scans: list[object] = []
    original = RedactingLogRecordProcessor.redact_record
    monkeypatch.setattr(RedactingLogRecordProcessor, "redact_record",
                        lambda self, record: scans.append(record) or original(self, record))
    pipelines = instrument()
    with audit_context(user_id="alice@example.com", team="support +44 20 7946 0958"):
        client.chat.completions.create(model=MODEL, messages=MESSAGES, **scenario("chat"))
    (audit,) = pipelines.audit_records()
    span = pipelines.only_span()
    assert scans == []  # the log processor did not scan our record again...
    for attributes in (audit.attributes, span.attributes):  # ...and nothing personal got through
        assert attributes[sc.ENDUSER_ID] == "[REDACTED:EMAIL]"
        assert "7946" not in attributes[sc.OPENROUTER_TEAM]
    assert "alice" not in str(dict(audit.attributes)) + str(audit.body)


def test_another_record_with_the_audit_event_name_is_still_scanned(instrument, client):
    from opentelemetry._logs import SeverityNumber

    pipelines = instrument()
    client.chat.completions.create(model=MODEL, messages=MESSAGES, **scenario("chat"))  # our record: skipped
    pipelines.flush()
    forger = pipelines.logger_provider.get_logger(sc.INSTRUMENTATION_SCOPE)
    forger.emit(body="mail alice@example.com", attributes={sc.ENDUSER_ID: "alice@example.com"},
                severity_number=SeverityNumber.INFO, event_name=sc.AUDIT_EVENT_NAME)
    forged = pipelines.audit_records()[-1]
    assert forged.attributes[sc.ENDUSER_ID] == "[REDACTED:EMAIL]"
    assert "alice@" not in str(forged.body)
