"""Streams: identical chunks, usage from the final chunk, and a span that ends exactly once however the stream ends."""

from __future__ import annotations

import gc
import time

import openai
import pytest
from opentelemetry.trace import StatusCode

from openrouter_otel import OpenRouterInstrumentor
from openrouter_otel import semconv as sc

from .conftest import one_loop_per_chunk

MESSAGES = [{"role": "user", "content": "Count to ten"}]
MODEL = "google/gemini-2.5-flash"


def stream_of(client, scenario: str = "chat_stream", **kwargs):
    return client.chat.completions.create(model=MODEL, messages=MESSAGES, stream=True,
                                          extra_headers={"X-Replay-Scenario": scenario}, **kwargs)


def dumps(chunks):
    return [chunk.model_dump() for chunk in chunks]


def test_instrumented_stream_yields_exactly_the_uninstrumented_chunks(pipelines, client):
    plain = dumps(stream_of(client))
    OpenRouterInstrumentor().instrument(**pipelines.providers())
    try:
        instrumented = dumps(stream_of(client))
    finally:
        OpenRouterInstrumentor().uninstrument()
    assert instrumented == plain
    assert len(pipelines.spans()) == 1


def test_exhausted_stream_records_usage_and_cost_from_the_final_chunk(instrumented, client):
    chunks = list(stream_of(client))
    usage_chunk = next(chunk for chunk in reversed(chunks) if chunk.usage is not None)
    span = instrumented.only_span()
    assert span.attributes[sc.GEN_AI_USAGE_INPUT_TOKENS] == usage_chunk.usage.prompt_tokens
    assert span.attributes[sc.GEN_AI_USAGE_OUTPUT_TOKENS] == usage_chunk.usage.completion_tokens
    assert span.attributes[sc.GEN_AI_USAGE_COST] == usage_chunk.usage.cost
    assert span.attributes[sc.GEN_AI_RESPONSE_FINISH_REASONS] == ("stop",)
    assert span.attributes[sc.OPENROUTER_STREAM_OUTCOME] == "completed"
    assert span.attributes[sc.GEN_AI_RESPONSE_TIME_TO_FIRST_CHUNK] > 0
    ttfc_points = instrumented.points(sc.METRIC_TIME_TO_FIRST_CHUNK)
    assert len(ttfc_points) == 1 and ttfc_points[0].count == 1


async def test_async_exhausted_stream_records_usage(instrumented, async_client):
    stream = await async_client.chat.completions.create(model=MODEL, messages=MESSAGES, stream=True,
                                                        extra_headers={"X-Replay-Scenario": "chat_stream"})
    count = 0
    async for _chunk in stream:
        count += 1
    assert count > 2
    span = instrumented.only_span()
    assert span.attributes[sc.GEN_AI_USAGE_COST] > 0
    assert span.attributes[sc.OPENROUTER_STREAM_OUTCOME] == "completed"


def test_stream_used_as_a_context_manager_ends_the_span_on_exit(instrumented, client):
    with stream_of(client, "slow_stream") as stream:
        assert isinstance(stream, openai.Stream)
        next(stream)
        assert instrumented.spans() == []
    span = instrumented.only_span()
    assert span.attributes[sc.OPENROUTER_STREAM_OUTCOME] == "closed"
    assert span.attributes[sc.GEN_AI_RESPONSE_ID].startswith("gen-")


async def test_async_stream_used_as_a_context_manager_ends_the_span_on_exit(instrumented, async_client):
    stream = await async_client.chat.completions.create(model=MODEL, messages=MESSAGES, stream=True,
                                                        extra_headers={"X-Replay-Scenario": "slow_stream"})
    async with stream:
        await stream.__anext__()
    assert instrumented.only_span().attributes[sc.OPENROUTER_STREAM_OUTCOME] == "closed"


def test_stream_closed_early_ends_the_span_once_with_partial_data(instrumented, client):
    stream = stream_of(client, "slow_stream")
    for index, _chunk in enumerate(stream):
        if index == 3:
            break
    stream.close()
    stream.close()
    span = instrumented.only_span()
    assert span.attributes[sc.OPENROUTER_STREAM_OUTCOME] in ("abandoned", "closed")
    assert sc.GEN_AI_USAGE_COST not in span.attributes
    assert len(instrumented.audit_records()) == 1


def test_breaking_out_of_a_stream_ends_the_span_at_the_break_once_the_stream_is_dropped(instrumented, client):
    stream = stream_of(client, "slow_stream")
    for _chunk in stream:
        break
    left = time.time_ns()
    assert instrumented.spans() == []  # the SDK's stream can still be read on, so the call is not over yet
    time.sleep(0.05)
    del stream
    gc.collect()
    span = instrumented.only_span()
    assert span.attributes[sc.OPENROUTER_STREAM_OUTCOME] == "abandoned"
    assert span.end_time <= left  # it ended when the caller stopped reading, not when the stream was collected


def test_a_stream_read_one_loop_at_a_time_is_one_complete_call(instrumented, client):
    chunks = one_loop_per_chunk(stream_of(client, "chat_stream"))
    span = instrumented.only_span()
    assert span.attributes[sc.OPENROUTER_STREAM_OUTCOME] == "completed"
    assert span.attributes[sc.GEN_AI_USAGE_OUTPUT_TOKENS] == chunks[-1].usage.completion_tokens


def test_abandoned_stream_ends_span_with_partial_data_when_garbage_collected(instrumented, client):
    stream = stream_of(client, "slow_stream")
    first = next(stream)
    assert instrumented.spans() == []
    del stream
    gc.collect()
    span = instrumented.only_span()
    assert span.attributes[sc.OPENROUTER_STREAM_OUTCOME] == "abandoned"
    assert span.attributes[sc.GEN_AI_RESPONSE_ID] == first.id
    assert span.attributes[sc.GEN_AI_RESPONSE_TIME_TO_FIRST_CHUNK] > 0


def test_never_iterated_stream_ends_its_span_when_dropped(instrumented, client):
    stream = stream_of(client, "slow_stream")
    del stream
    gc.collect()
    assert instrumented.only_span().attributes[sc.OPENROUTER_STREAM_OUTCOME] == "abandoned"


def test_in_stream_error_chunk_ends_the_span_with_an_error_and_the_sdk_error_reaches_the_caller(instrumented, client):
    received = []
    with pytest.raises(openai.APIError) as raised:
        for chunk in stream_of(client, "stream_error"):
            received.append(chunk)
    assert received, "chunks before the error are delivered"
    span = instrumented.only_span()
    assert span.status.status_code is StatusCode.ERROR
    assert span.attributes[sc.OPENROUTER_STREAM_OUTCOME] == "error"
    assert span.attributes[sc.ERROR_TYPE] == type(raised.value).__qualname__ or span.attributes[sc.ERROR_TYPE].isdigit()
    assert instrumented.audit_records()[0].attributes[sc.OPENROUTER_STATUS] == "error"


async def test_async_in_stream_error_ends_the_span_with_an_error(instrumented, async_client):
    stream = await async_client.chat.completions.create(model=MODEL, messages=MESSAGES, stream=True,
                                                        extra_headers={"X-Replay-Scenario": "stream_error"})
    with pytest.raises(openai.APIError):
        async for _chunk in stream:
            pass
    assert instrumented.only_span().status.status_code is StatusCode.ERROR


def test_next_called_by_hand_until_exhaustion_ends_the_span(instrumented, client):
    stream = stream_of(client)
    with pytest.raises(StopIteration):
        while True:
            next(stream)
    assert instrumented.only_span().attributes[sc.OPENROUTER_STREAM_OUTCOME] == "completed"
