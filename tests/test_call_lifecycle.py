"""A call's life: cancellation as its own outcome, each sink guarded on its own, no request body kept alive."""

from __future__ import annotations

import asyncio
import gc
import weakref

import pytest
from opentelemetry.trace import StatusCode

from openrouter_otel import semconv as sc
from openrouter_otel.emitter import Emitter

MODEL = "openai/gpt-4o"


def scenario(name: str) -> dict[str, dict[str, str]]:
    return {"extra_headers": {"X-Replay-Scenario": name}}


def assert_cancelled(pipelines):
    span = pipelines.only_span()
    assert span.attributes[sc.ERROR_TYPE] == sc.OUTCOME_CANCELLED
    assert span.status.status_code is StatusCode.UNSET  # the caller's decision, not a failure of the call
    (record,) = pipelines.audit_records()
    assert record.attributes[sc.OPENROUTER_STATUS] == sc.OUTCOME_CANCELLED
    (point,) = pipelines.points(sc.METRIC_OPERATION_DURATION)
    assert point.attributes[sc.ERROR_TYPE] == sc.OUTCOME_CANCELLED
    return span


async def test_cancelled_async_call_is_its_own_outcome(instrumented, replay_server, async_client):
    from openrouter_otel.server.replay import CannedResponse

    replay_server.register("cancel-slow", CannedResponse(body={"id": "x"}, delay_ms=2000), repeat=True)
    task = asyncio.create_task(async_client.chat.completions.create(
        model=MODEL, messages=[{"role": "user", "content": "hi"}], extra_headers={"X-Replay-Token": "cancel-slow"}))
    await asyncio.sleep(0.2)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert_cancelled(instrumented)


async def test_cancelled_stream_keeps_its_partial_data(instrumented, async_client):
    stream = await async_client.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": "hi"}],
                                                        stream=True, **scenario("slow_stream"))

    async def consume():
        async for _chunk in stream:
            pass

    task = asyncio.create_task(consume())
    await asyncio.sleep(0.1)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    span = assert_cancelled(instrumented)
    assert span.attributes[sc.OPENROUTER_STREAM_OUTCOME] == sc.OUTCOME_CANCELLED
    assert span.attributes[sc.GEN_AI_RESPONSE_ID].startswith("gen-")


def _raise(*_args, **_kwargs):
    raise RuntimeError("sink broke")


@pytest.mark.parametrize("broken", ["_result_attributes", "_record_metrics", "_emit_audit", "_set_status"])
def test_each_sink_is_guarded_on_its_own(instrumented, client, monkeypatch, broken):
    monkeypatch.setattr(Emitter, broken, _raise)
    client.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": "hi"}], **scenario("chat"))
    span = instrumented.only_span()
    assert span.end_time is not None
    if broken != "_record_metrics":
        assert len(instrumented.points(sc.METRIC_OPERATION_DURATION)) == 1
    if broken != "_emit_audit":
        assert len(instrumented.audit_records()) == 1
    if broken not in ("_result_attributes",):
        assert span.attributes[sc.GEN_AI_USAGE_COST] > 0


class Body(dict):
    """A request body that can be weakly referenced."""


def test_the_request_body_is_not_kept_alive_while_the_span_is_open(instrument, client, monkeypatch):
    from openrouter_otel import call as call_module

    bodies = []
    original = call_module._request_body

    def weakly_referenced_body(options):
        body = Body(original(options))
        bodies.append(weakref.ref(body))
        return body

    monkeypatch.setattr(call_module, "_request_body", weakly_referenced_body)
    pipelines = instrument(capture_message_content=True)
    messages = [{"role": "user", "content": "a long prompt " * 100}]
    stream = client.chat.completions.create(model=MODEL, messages=messages, stream=True, **scenario("slow_stream"))
    next(stream)
    gc.collect()
    (alive,) = bodies
    assert pipelines.spans() == []  # the span is still open
    assert alive() is None
    stream.close()
    assert pipelines.only_span().attributes[sc.OPENROUTER_PROMPT_HASH].startswith("sha256:")
