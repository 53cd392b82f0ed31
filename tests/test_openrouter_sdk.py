"""The official `openrouter` SDK, driven for real against the replay server: one span and one audit record per
call with what the server served, streams ending exactly once, and results identical with and without us."""

from __future__ import annotations

import gc
import sys
import uuid
from typing import Any

import pytest
import wrapt

from openrouter_otel import OpenRouterInstrumentor
from openrouter_otel import semconv as sc
from openrouter_otel.extract import api_key_fingerprint
from openrouter_otel.server.replay import (
    CannedResponse,
    chat_completion_body,
    chat_stream_events,
    embeddings_body,
    responses_body,
    responses_stream_events,
)

from .conftest import TEST_API_KEY

import openrouter  # noqa: E402 - installed by scripts/test.sh: a missing client fails, never skips
from openrouter import utils as sdk_utils  # noqa: E402
from openrouter.basesdk import BaseSDK  # noqa: E402

MODEL = "google/gemini-2.5-flash"
SERVED_MODEL = "google/gemini-2.5-flash-001"
MESSAGES = [{"role": "user", "content": "Count to ten"}]


def served_chat() -> dict[str, Any]:
    # The SDK's ChatResult requires system_fingerprint (nullable), which OpenRouter sends as null.
    return {**chat_completion_body(model=SERVED_MODEL, provider="Google AI Studio"), "system_fingerprint": None}


def served_stream() -> list[Any]:
    return chat_stream_events(model=SERVED_MODEL, provider="Google AI Studio", pieces=["one ", "two ", "three"])


def canned(server: Any, *responses: CannedResponse, repeat: bool = False) -> dict[str, str]:
    return server.register(uuid.uuid4().hex, list(responses), repeat=repeat)


def usage_cost(events: list[Any]) -> float:
    return next(event["usage"]["cost"] for event in events if isinstance(event, dict) and event.get("usage"))


@pytest.fixture
def sdk(replay_server: Any) -> Any:
    with openrouter.OpenRouter(api_key=TEST_API_KEY, server_url=replay_server.base_url) as client:
        yield client


@pytest.fixture
def traced(instrument: Any, replay_server: Any) -> Any:
    # The server is also a configured OpenRouter host: the httpx wrapper under the SDK must not record again.
    return instrument(hosts=[replay_server.base_url])


def test_chat_is_one_span_with_what_was_served(traced, sdk, replay_server):
    body = served_chat()
    result = sdk.chat.send(model=MODEL, messages=MESSAGES, http_headers=canned(replay_server, CannedResponse(body=body)))
    assert result.id == body["id"]
    attributes = traced.only_span().attributes
    assert attributes[sc.GEN_AI_OPERATION_NAME] == sc.OPERATION_CHAT
    assert attributes[sc.GEN_AI_PROVIDER_NAME] == sc.PROVIDER_OPENROUTER
    assert attributes[sc.GEN_AI_REQUEST_MODEL] == MODEL
    assert attributes[sc.GEN_AI_RESPONSE_MODEL] == SERVED_MODEL
    assert attributes[sc.OPENROUTER_PROVIDER] == "Google AI Studio"
    assert attributes[sc.GEN_AI_RESPONSE_ID] == body["id"]
    assert attributes[sc.GEN_AI_USAGE_COST] == body["usage"]["cost"]
    assert attributes[sc.OPENROUTER_COST_SOURCE] == sc.COST_SOURCE_RESPONSE
    assert attributes[sc.GEN_AI_USAGE_INPUT_TOKENS] == body["usage"]["prompt_tokens"]
    assert attributes[sc.OPENROUTER_API_KEY_FINGERPRINT] == api_key_fingerprint(TEST_API_KEY)
    assert attributes[sc.OPENROUTER_PROMPT_HASH].startswith("sha256:")
    [record] = traced.audit_records()
    assert record.attributes[sc.GEN_AI_RESPONSE_ID] == body["id"]
    assert record.attributes[sc.GEN_AI_USAGE_COST] == body["usage"]["cost"]
    assert [point.sum for point in traced.points(sc.METRIC_COST)] == [body["usage"]["cost"]]


async def test_async_chat_is_one_span(traced, sdk, replay_server):
    body = served_chat()
    result = await sdk.chat.send_async(model=MODEL, messages=MESSAGES,
                                       http_headers=canned(replay_server, CannedResponse(body=body)))
    assert result.id == body["id"]
    attributes = traced.only_span().attributes
    assert attributes[sc.GEN_AI_USAGE_COST] == body["usage"]["cost"]
    assert attributes[sc.GEN_AI_RESPONSE_MODEL] == SERVED_MODEL
    assert len(traced.audit_records()) == 1


def test_embeddings_is_one_span_with_its_cost(traced, sdk, replay_server):
    body = embeddings_body(inputs=["hello"])
    sdk.embeddings.generate(model="openai/text-embedding-3-small", input="hello",
                            http_headers=canned(replay_server, CannedResponse(body=body)))
    attributes = traced.only_span().attributes
    assert attributes[sc.GEN_AI_OPERATION_NAME] == sc.OPERATION_EMBEDDINGS
    assert attributes[sc.GEN_AI_USAGE_COST] == body["usage"]["cost"]
    assert attributes[sc.GEN_AI_RESPONSE_ID] == body["id"]


def test_responses_api_plain_and_streamed(traced, sdk, replay_server):
    # The SDK's OpenResponsesResult requires the penalties, which OpenRouter echoes back.
    body = {**responses_body(provider="Google AI Studio"), "frequency_penalty": 0.0, "presence_penalty": 0.0}
    events = responses_stream_events(provider="Google AI Studio")
    headers = canned(replay_server, CannedResponse(body=body), CannedResponse(sse_events=events))
    sdk.responses.send(model="openai/gpt-4o-mini", input="hi", http_headers=headers)
    list(sdk.responses.send(model="openai/gpt-4o-mini", input="hi", stream=True, http_headers=headers))
    plain, streamed = (span.attributes for span in traced.spans())
    assert plain[sc.GEN_AI_RESPONSE_ID] == body["id"]
    assert plain[sc.GEN_AI_USAGE_COST] == body["usage"]["cost"]
    final = next(event.data["response"] for event in events
                 if getattr(event, "data", None) and event.data.get("type") == "response.completed")
    assert streamed[sc.GEN_AI_RESPONSE_ID] == final["id"]
    assert streamed[sc.GEN_AI_USAGE_COST] == final["usage"]["cost"]
    assert streamed[sc.OPENROUTER_STREAM_OUTCOME] == "completed"
    assert len(traced.audit_records()) == 2


def test_exhausted_stream_records_the_usage_chunk_once(traced, sdk, replay_server):
    events = served_stream()
    stream = sdk.chat.send(model=MODEL, messages=MESSAGES, stream=True,
                           http_headers=canned(replay_server, CannedResponse(sse_events=events)))
    chunks = list(stream)
    assert len(chunks) >= 4
    attributes = traced.only_span().attributes
    assert attributes[sc.OPENROUTER_STREAM_OUTCOME] == "completed"
    assert attributes[sc.GEN_AI_USAGE_COST] == usage_cost(events)
    assert attributes[sc.GEN_AI_RESPONSE_MODEL] == SERVED_MODEL
    assert attributes[sc.OPENROUTER_PROVIDER] == "Google AI Studio"
    assert attributes[sc.GEN_AI_RESPONSE_ID] == chunks[0].id
    assert attributes[sc.GEN_AI_RESPONSE_FINISH_REASONS] == ("stop",)
    assert attributes[sc.GEN_AI_RESPONSE_TIME_TO_FIRST_CHUNK] > 0
    assert len(traced.audit_records()) == 1


async def test_async_exhausted_stream(traced, sdk, replay_server):
    events = served_stream()
    stream = await sdk.chat.send_async(model=MODEL, messages=MESSAGES, stream=True,
                                       http_headers=canned(replay_server, CannedResponse(sse_events=events)))
    chunks = [chunk async for chunk in stream]
    assert len(chunks) >= 4
    attributes = traced.only_span().attributes
    assert attributes[sc.OPENROUTER_STREAM_OUTCOME] == "completed"
    assert attributes[sc.GEN_AI_USAGE_COST] == usage_cost(events)
    assert len(traced.audit_records()) == 1


def test_stream_closed_early_ends_once_as_closed(traced, sdk, replay_server):
    with sdk.chat.send(model=MODEL, messages=MESSAGES, stream=True,
                       http_headers=canned(replay_server, CannedResponse(sse_events=served_stream()))) as stream:
        next(stream)
        assert traced.spans() == []
    assert traced.only_span().attributes[sc.OPENROUTER_STREAM_OUTCOME] == "closed"
    stream.close()
    gc.collect()
    assert len(traced.spans()) == 1 and len(traced.audit_records()) == 1


async def test_async_stream_closed_early_ends_once(traced, sdk, replay_server):
    stream = await sdk.chat.send_async(model=MODEL, messages=MESSAGES, stream=True,
                                       http_headers=canned(replay_server, CannedResponse(sse_events=served_stream())))
    async with stream:
        await stream.__anext__()
    assert traced.only_span().attributes[sc.OPENROUTER_STREAM_OUTCOME] == "closed"


def test_stream_broken_out_of_then_dropped_ends_once(traced, sdk, replay_server):
    stream = sdk.chat.send(model=MODEL, messages=MESSAGES, stream=True,
                           http_headers=canned(replay_server, CannedResponse(sse_events=served_stream())))
    for _chunk in stream:
        break
    assert traced.spans() == []  # the caller may read on
    del stream, _chunk
    gc.collect()
    span = traced.only_span()
    assert span.attributes[sc.OPENROUTER_STREAM_OUTCOME] in ("closed", sc.STREAM_OUTCOME_ABANDONED)
    assert span.attributes[sc.GEN_AI_RESPONSE_ID].startswith("gen-")
    assert len(traced.audit_records()) == 1


def test_abandoned_stream_ends_once_when_collected(traced, sdk, replay_server):
    stream = sdk.chat.send(model=MODEL, messages=MESSAGES, stream=True,
                           http_headers=canned(replay_server, CannedResponse(sse_events=served_stream())))
    assert traced.spans() == []
    del stream
    gc.collect()
    assert len(traced.spans()) == 1 and len(traced.audit_records()) == 1


def test_error_status_is_an_error_span_and_the_sdk_raises_as_before(traced, sdk, replay_server):
    error = {"error": {"code": 429, "message": "Rate limited upstream", "metadata": {"provider_name": "Google"}}}
    headers = canned(replay_server, CannedResponse(status=429, body=error))
    with pytest.raises(openrouter.errors.TooManyRequestsResponseError):
        sdk.chat.send(model=MODEL, messages=MESSAGES, http_headers=headers, retries=None)
    attributes = traced.only_span().attributes
    assert attributes[sc.ERROR_TYPE] == "429"
    assert attributes[sc.HTTP_RESPONSE_STATUS_CODE] == 429
    assert attributes[sc.OPENROUTER_ERROR_PROVIDER] == "Google"
    [record] = traced.audit_records()
    assert record.attributes[sc.OPENROUTER_STATUS] == "error"


def test_retries_inside_the_sdk_are_one_span_with_a_retry_count(traced, sdk, replay_server):
    body = served_chat()
    headers = canned(replay_server, CannedResponse(status=502, body={"error": {"code": 502, "message": "down"}}),
                     CannedResponse(body=body))
    retries = sdk_utils.RetryConfig("backoff", sdk_utils.BackoffStrategy(1, 5, 1.1, 1000), False)
    sdk.chat.send(model=MODEL, messages=MESSAGES, http_headers=headers, retries=retries)
    attributes = traced.only_span().attributes
    assert attributes[sc.OPENROUTER_RETRY_COUNT] == 1
    assert attributes[sc.GEN_AI_USAGE_COST] == body["usage"]["cost"]


def test_results_are_identical_with_and_without_instrumentation(pipelines, sdk, replay_server):
    chat = canned(replay_server, CannedResponse(body=served_chat()), repeat=True)
    stream = canned(replay_server, CannedResponse(sse_events=served_stream()), repeat=True)

    def run() -> list[Any]:
        result = sdk.chat.send(model=MODEL, messages=MESSAGES, http_headers=chat)
        chunks = list(sdk.chat.send(model=MODEL, messages=MESSAGES, stream=True, http_headers=stream))
        return [result.model_dump(), [chunk.model_dump() for chunk in chunks]]

    plain = run()
    OpenRouterInstrumentor().instrument(**pipelines.providers())
    try:
        instrumented = run()
    finally:
        OpenRouterInstrumentor().uninstrument()
    assert instrumented == plain
    assert len(pipelines.spans()) == 2


def test_uninstrument_removes_the_wrappers(instrument, sdk, replay_server):
    pipes = instrument()
    assert isinstance(vars(BaseSDK)["do_request"], wrapt.FunctionWrapper)
    OpenRouterInstrumentor().uninstrument()
    assert not isinstance(vars(BaseSDK)["do_request"], wrapt.FunctionWrapper)
    assert not isinstance(vars(BaseSDK)["do_request_async"], wrapt.FunctionWrapper)
    sdk.chat.send(model=MODEL, messages=MESSAGES, http_headers=canned(replay_server, CannedResponse(body=served_chat())))
    assert pipes.spans() == []


def test_without_the_openrouter_sdk_the_rest_is_instrumented_quietly(instrument, monkeypatch, caplog, client):
    monkeypatch.setitem(sys.modules, "openrouter.basesdk", None)  # import fails as if not installed
    assert "openrouter" not in {dependency.split()[0] for dependency in OpenRouterInstrumentor()
                                .instrumentation_dependencies()}
    pipes = instrument()
    client.chat.completions.create(model=MODEL, messages=MESSAGES)
    assert len(pipes.spans()) == 1
    assert not [record for record in caplog.records if record.levelname == "WARNING"]
    OpenRouterInstrumentor().uninstrument()
    assert not isinstance(vars(BaseSDK)["do_request"], wrapt.FunctionWrapper)
