"""The local OpenRouter-compatible server, driven by the real `openai` SDK over real HTTP, without instrumentation.

Proves that recorded exchanges replay faithfully (bytes, status, headers, split events, keep-alives, the
two streams cut short), that every synthesised scenario parses in the SDK or raises the right exception,
and that canned responses, generation lookups and request recording work.
"""

from __future__ import annotations

import base64
import json
import os
import re
import struct
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx2
import openai
import pydantic
import pytest

from openrouter_otel.server.replay import (
    SCENARIOS,
    CannedResponse,
    Comment,
    Delay,
    Raw,
    ReplayServer,
    Split,
    chat_completion_body,
    chat_stream_events,
    error_body,
    load_corpus,
    usage_block,
)

from .conftest import CORPUS_DIR

EXCHANGES = load_corpus(CORPUS_DIR)
SUCCESSES = [exchange for exchange in EXCHANGES if not exchange.is_error and not exchange.is_truncated]
FAILURES = [exchange for exchange in EXCHANGES if exchange.is_error]
TRUNCATED = [exchange for exchange in EXCHANGES if exchange.is_truncated]
STREAMS = [exchange for exchange in SUCCESSES if exchange.is_stream]
NON_STREAMED = [exchange for exchange in EXCHANGES if not exchange.is_stream]
API_KEY = "sk-or-v1-test"
MESSAGES = [{"role": "user", "content": "Say hello"}]
GEN_ID = re.compile(r"^gen-\d+-[A-Za-z0-9]{20}$")



def ids(exchanges: list[Any]) -> list[str]:
    return [exchange.id for exchange in exchanges]


def exchange_id(exchange: Any) -> str:
    return exchange.id


def scenario(name: str) -> dict[str, dict[str, str]]:
    return {"extra_headers": {"X-Replay-Scenario": name}}


@pytest.fixture
def server(replay_server: ReplayServer) -> ReplayServer:
    return replay_server


@pytest.fixture
def sdk(server: ReplayServer) -> Iterator[openai.OpenAI]:
    client = openai.OpenAI(base_url=server.base_url, api_key=API_KEY, max_retries=0)
    yield client
    client.close()


@pytest.fixture
async def async_sdk(server: ReplayServer) -> Any:
    client = openai.AsyncOpenAI(base_url=server.base_url, api_key=API_KEY, max_retries=0)
    yield client
    await client.close()


@pytest.fixture
def http(server: ReplayServer) -> Iterator[httpx2.Client]:
    with httpx2.Client(base_url=server.base_url) as client:
        yield client


# --------------------------------------------------------------------------------------------------
# The recorded corpus
# --------------------------------------------------------------------------------------------------


def test_corpus_loads_twenty_successes_of_which_twelve_streamed_and_eight_400s():
    assert len(EXCHANGES) == 28
    assert sum(not exchange.is_error for exchange in EXCHANGES) == 20
    assert sum(exchange.is_stream for exchange in EXCHANGES) == 12
    assert [exchange.status for exchange in FAILURES] == [400] * 8
    assert ids(TRUNCATED) == ["5V2m0ZjBVln", "SQdqVfHTM78"]


def test_every_recorded_success_carries_a_generation_id_provider_served_model_and_cost():
    for exchange in EXCHANGES:
        if exchange.is_error:
            continue
        assert GEN_ID.match(exchange.response_id), exchange.id
        assert exchange.provider and exchange.model, exchange.id
        assert exchange.cost > 0 and exchange.usage["total_tokens"] > 0, exchange.id


@pytest.mark.parametrize("exchange", [e for e in SUCCESSES if not e.is_stream], ids=exchange_id)
def test_recorded_non_streamed_success_parses_with_its_recorded_id_model_and_cost(sdk, exchange):
    completion = sdk.chat.completions.create(**exchange.sdk_kwargs())
    assert completion.id == exchange.response_id
    assert completion.model == exchange.model
    assert completion.provider == exchange.provider
    assert completion.usage.cost == exchange.cost
    assert completion.choices[0].message.content == exchange.content


@pytest.mark.parametrize("exchange", STREAMS, ids=exchange_id)
def test_recorded_stream_parses_with_its_recorded_id_model_and_final_usage_cost(sdk, exchange):
    chunks = list(sdk.chat.completions.create(**exchange.sdk_kwargs()))
    assert len(chunks) == len(exchange.events)
    assert {chunk.id for chunk in chunks} == {exchange.response_id}
    assert chunks[0].model == exchange.model
    assert [chunk.usage.cost for chunk in chunks if chunk.usage] == [exchange.cost]
    assert "".join(chunk.choices[0].delta.content or "" for chunk in chunks if chunk.choices) == exchange.content


@pytest.mark.parametrize("exchange", STREAMS, ids=exchange_id)
async def test_recorded_stream_parses_in_the_async_client(async_sdk, exchange):
    stream = await async_sdk.chat.completions.create(**exchange.sdk_kwargs())
    chunks = [chunk async for chunk in stream]
    assert chunks[-1].usage.cost == exchange.cost


@pytest.mark.parametrize("exchange", FAILURES, ids=exchange_id)
def test_recorded_400_raises_bad_request_error_with_openrouters_message(sdk, exchange):
    with pytest.raises(openai.BadRequestError) as raised:
        sdk.chat.completions.create(**exchange.sdk_kwargs())
    assert raised.value.status_code == 400
    assert raised.value.body == exchange.error
    assert exchange.error["message"] in str(raised.value)


@pytest.mark.parametrize("exchange", FAILURES[:2], ids=exchange_id)
async def test_recorded_400_raises_bad_request_error_in_the_async_client(async_sdk, exchange):
    with pytest.raises(openai.BadRequestError):
        await async_sdk.chat.completions.create(**exchange.sdk_kwargs())


@pytest.mark.parametrize("exchange", TRUNCATED, ids=exchange_id)
def test_streams_cut_short_by_the_recorder_open_fine_and_raise_while_iterating(sdk, exchange):
    stream = sdk.chat.completions.create(**exchange.sdk_kwargs())
    assert isinstance(stream, openai.Stream)
    with pytest.raises(json.JSONDecodeError):
        for _chunk in stream:
            pass


@pytest.mark.parametrize("exchange", TRUNCATED, ids=exchange_id)
async def test_streams_cut_short_raise_while_iterating_in_the_async_client(async_sdk, exchange):
    stream = await async_sdk.chat.completions.create(**exchange.sdk_kwargs())
    with pytest.raises(json.JSONDecodeError):
        async for _chunk in stream:
            pass


@pytest.mark.parametrize("exchange", NON_STREAMED, ids=exchange_id)
def test_non_streamed_body_status_and_headers_are_replayed_byte_for_byte(http, exchange):
    response = http.post("/chat/completions", json=exchange.request_body,
                         headers={"X-Replay-Exchange": exchange.id})
    assert response.status_code == exchange.status
    assert response.content == exchange.raw_body
    assert response.headers["content-length"] == str(len(exchange.raw_body))
    assert "content-encoding" not in response.headers
    assert response.headers["cf-ray"] == exchange.response_headers["cf-ray"]
    assert response.headers["date"] == exchange.response_headers["date"]


def test_recorded_success_bodies_keep_openrouters_leading_whitespace_padding(http):
    padded = [exchange for exchange in NON_STREAMED if not exchange.is_error]
    for exchange in padded:
        content = http.post("/chat/completions", json=exchange.request_body).content
        assert content[:1] in (b"\n", b" ") and content.lstrip()[:1] == b"{", exchange.id


def test_request_body_alone_selects_the_recorded_exchange(sdk, server):
    exchange = server.exchange("IcAxzM4Kgpg")
    completion = sdk.chat.completions.create(**exchange.sdk_kwargs(pin=False))
    assert completion.id == exchange.response_id
    assert server.requests[-1].json == exchange.request_body


def test_a_body_recorded_twice_replays_the_earliest_recording_unless_the_exchange_is_pinned(sdk, server):
    earlier, later = server.exchange("VatY3XorSc2"), server.exchange("JlkjtO2qFKO")
    assert earlier.request_body == later.request_body and earlier.recorded_at < later.recorded_at
    unpinned = list(sdk.chat.completions.create(**later.sdk_kwargs(pin=False)))
    pinned = list(sdk.chat.completions.create(**later.sdk_kwargs()))
    assert unpinned[0].id == earlier.response_id
    assert pinned[0].id == later.response_id


def test_split_events_arrive_in_separate_reads_and_the_sdk_reassembles_them(sdk, http, server):
    exchange = server.exchange("P8ZSCtkLaD6")
    with http.stream("POST", "/chat/completions", json=exchange.request_body,
                     headers={"X-Replay-Exchange": exchange.id}) as response:
        reads = list(response.iter_raw())
    partial = [read for read in reads if read.startswith(b"data: {") and not read.endswith(b"\n\n")]
    assert partial, "a split event's first fragment arrives on its own"
    assert reads[reads.index(partial[0]) + 1].endswith(b"\n\n")
    chunks = list(sdk.chat.completions.create(**exchange.sdk_kwargs()))
    assert "_calls" in [chunk.choices[0].delta.content for chunk in chunks if chunk.choices]


def test_keepalive_comments_reach_the_client_and_the_sdk_skips_them(sdk, http, server):
    exchange = server.exchange("P8ZSCtkLaD6")
    with http.stream("POST", "/chat/completions", json=exchange.request_body,
                     headers={"X-Replay-Exchange": exchange.id}) as response:
        assert response.headers["content-type"] == "text/event-stream"
        assert response.headers["transfer-encoding"] == "chunked"
        raw = b"".join(response.iter_raw())
    comments = sum("comment" in item for item in exchange.stream_items)
    assert raw.count(b": OPENROUTER PROCESSING\n\n") == comments == 2
    assert raw.endswith(b"data: [DONE]\n\n")
    assert len(list(sdk.chat.completions.create(**exchange.sdk_kwargs()))) == len(exchange.events)


def test_recorded_delays_are_skipped_by_default_and_honoured_when_asked():
    exchange = next(e for e in STREAMS if e.id == "7DnrB604rYW")
    recorded = sum(item.get("delay_ms", 0) for item in exchange.stream_items) / 1000
    elapsed = {}
    for honor in (False, True):
        with ReplayServer(CORPUS_DIR, honor_delays=honor) as server:
            client = openai.OpenAI(base_url=server.base_url, api_key=API_KEY, max_retries=0)
            started = time.perf_counter()
            list(client.chat.completions.create(**exchange.sdk_kwargs()))
            elapsed[honor] = time.perf_counter() - started
            client.close()
    assert recorded > 0.3
    assert elapsed[True] >= recorded * 0.9  # a lower bound holds on any machine, however loaded
    # What the server pauses for, rather than how long a loaded machine took without pausing:
    pauses = {honor: sum(item.ms for item in exchange.to_canned(honor_delays=honor).sse_events or ()
                         if isinstance(item, Delay)) / 1000 for honor in (False, True)}
    assert pauses == {False: 0, True: pytest.approx(recorded)}


def test_sum_of_recorded_costs_is_what_replaying_every_success_returns(sdk):
    served = 0.0
    for exchange in SUCCESSES:
        result = sdk.chat.completions.create(**exchange.sdk_kwargs())
        usage = [chunk.usage for chunk in result if chunk.usage][-1] if exchange.is_stream else result.usage
        served += usage.cost
    assert served == pytest.approx(sum(exchange.cost for exchange in SUCCESSES))


def test_an_unknown_exchange_id_is_a_404(sdk):
    with pytest.raises(openai.NotFoundError):
        sdk.chat.completions.create(model="a/b", messages=MESSAGES, extra_headers={"X-Replay-Exchange": "nope"})


# --------------------------------------------------------------------------------------------------
# Synthesised scenarios
# --------------------------------------------------------------------------------------------------


def chat(sdk, name, model="anthropic/claude-sonnet-4.5", extra_headers=None, **kwargs):
    headers = {"X-Replay-Scenario": name, **(extra_headers or {})}
    return sdk.chat.completions.create(model=model, messages=MESSAGES, extra_headers=headers, **kwargs)


def assert_openrouter_usage(usage, *, byok=False):
    assert usage.prompt_tokens > 0 and usage.completion_tokens > 0
    assert usage.total_tokens == usage.prompt_tokens + usage.completion_tokens
    assert usage.cost > 0
    assert usage.is_byok is byok
    assert usage.prompt_tokens_details.cached_tokens == 0
    assert usage.completion_tokens_details.reasoning_tokens == 0
    assert "upstream_inference_cost" in usage.cost_details


def test_chat_serves_the_requested_model_with_an_openrouter_id_provider_and_usage(sdk):
    completion = chat(sdk, "chat", model="anthropic/claude-sonnet-4.5")
    assert GEN_ID.match(completion.id)
    assert completion.model == "anthropic/claude-sonnet-4.5"
    assert completion.provider == "Anthropic"
    assert completion.choices[0].finish_reason == "stop"
    assert completion.choices[0].message.content
    assert_openrouter_usage(completion.usage)
    assert completion.usage.cost_details["upstream_inference_cost"] is None


async def test_chat_parses_in_the_async_client(async_sdk):
    completion = await async_sdk.chat.completions.create(model="openai/gpt-4o", messages=MESSAGES, **scenario("chat"))
    assert completion.model == "openai/gpt-4o" and completion.provider == "OpenAI"


def test_a_request_without_any_replay_header_gets_the_basic_chat_scenario(sdk, server):
    completion = sdk.chat.completions.create(model="mistralai/mistral-small", messages=MESSAGES)
    assert completion.model == "mistralai/mistral-small"
    assert completion.usage.cost > 0


def test_dated_model_is_served_under_its_dated_name(sdk):
    completion = chat(sdk, "dated_model", model="anthropic/claude-sonnet-4.6")
    assert completion.model == "anthropic/claude-4.6-sonnet-20260217"


def test_chat_stream_has_keepalives_a_role_chunk_deltas_a_finish_chunk_and_a_usage_chunk(sdk, http):
    chunks = list(chat(sdk, "chat_stream", model="google/gemini-2.5-flash", stream=True))
    assert chunks[0].choices[0].delta.role == "assistant" and chunks[0].choices[0].delta.content == ""
    contents = [chunk.choices[0].delta.content for chunk in chunks[1:-2]]
    assert len(contents) >= 3 and all(contents)
    assert chunks[-2].choices[0].finish_reason == "stop"
    assert chunks[-1].choices == [] and chunks[-1].usage.cost > 0
    assert all(chunk.usage is None for chunk in chunks[:-1])
    assert {chunk.id for chunk in chunks} == {chunks[0].id} and chunks[0].provider == "Google AI Studio"
    with http.stream("POST", "/chat/completions", json={"model": "a/b", "messages": MESSAGES, "stream": True},
                     headers={"X-Replay-Scenario": "chat_stream"}) as response:
        raw = b"".join(response.iter_raw())
    assert raw.startswith(b": OPENROUTER PROCESSING\n\n") and raw.count(b": OPENROUTER PROCESSING") >= 2


async def test_chat_stream_parses_in_the_async_client(async_sdk):
    stream = await async_sdk.chat.completions.create(model="openai/gpt-4o", messages=MESSAGES, stream=True,
                                                     **scenario("chat_stream"))
    chunks = [chunk async for chunk in stream]
    assert chunks[-1].usage.total_tokens > 0


def test_the_chat_stream_helper_accumulates_the_final_completion(sdk):
    with sdk.chat.completions.stream(model="openai/gpt-4o", messages=MESSAGES, **scenario("chat_stream")) as stream:
        for _event in stream:
            pass
        final = stream.get_final_completion()
    assert final.choices[0].message.content
    assert final.usage.cost > 0


def test_fallback_is_served_by_the_second_model_from_another_provider(sdk):
    completion = chat(sdk, "fallback", model="anthropic/claude-sonnet-4.5",
                      extra_body={"models": ["anthropic/claude-sonnet-4.5", "anthropic/claude-opus-4.1"]})
    assert completion.model == "anthropic/claude-opus-4.1"
    assert completion.provider not in (None, "Anthropic")
    other = chat(sdk, "fallback", model="openai/gpt-4o", extra_body={"models": ["openai/gpt-4o", "x-ai/grok-4"]})
    assert (other.model, other.provider) == ("x-ai/grok-4", "xAI")


def test_byok_reports_a_small_openrouter_fee_and_the_upstream_cost(sdk):
    completion = chat(sdk, "byok")
    usage = completion.usage
    assert usage.is_byok is True
    upstream = usage.cost_details["upstream_inference_cost"]
    assert upstream > 0 and usage.cost == pytest.approx(upstream * 0.05)


def test_no_cost_reports_tokens_only_and_the_generation_endpoint_still_knows_the_cost(sdk, server):
    completion = chat(sdk, "no_cost")
    assert completion.usage.total_tokens > 0
    assert completion.usage.model_extra == {}
    data = sdk.get(f"/generation?id={completion.id}", cast_to=object)["data"]
    assert data["total_cost"] > 0 and data["id"] == completion.id


def test_openai_style_has_a_chatcmpl_id_and_no_provider_or_cost(sdk):
    completion = chat(sdk, "openai_style", model="gpt-4o-mini")
    assert completion.id.startswith("chatcmpl-")
    assert completion.model == "gpt-4o-mini"
    assert not hasattr(completion, "provider") or completion.model_extra.get("provider") is None
    assert "cost" not in completion.usage.model_extra
    assert completion.system_fingerprint


def test_openai_style_stream_sends_usage_only_when_include_usage_asks(sdk):
    without = list(chat(sdk, "openai_style", model="gpt-4o-mini", stream=True))
    with_usage = list(chat(sdk, "openai_style", model="gpt-4o-mini", stream=True,
                           stream_options={"include_usage": True}))
    assert all(chunk.usage is None for chunk in without)
    assert with_usage[-1].usage.total_tokens > 0 and with_usage[-1].choices == []


class Greeting(pydantic.BaseModel):
    text: str
    count: int


def test_structured_output_satisfies_the_requested_schema_for_parse(sdk):
    completion = sdk.chat.completions.parse(model="openai/gpt-4o", messages=MESSAGES, response_format=Greeting,
                                            **scenario("structured"))
    assert completion.choices[0].message.parsed == Greeting(text="hello", count=1)


def test_tool_calls_call_the_first_requested_tool_with_schema_shaped_arguments(sdk):
    tools = [{"type": "function", "function": {"name": "lookup", "parameters": {
        "type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}}]
    completion = chat(sdk, "tool_calls", tools=tools)
    call = completion.choices[0].message.tool_calls[0]
    assert completion.choices[0].finish_reason == "tool_calls"
    assert (call.function.name, json.loads(call.function.arguments)) == ("lookup", {"city": "hello"})
    with sdk.chat.completions.stream(model="a/b", messages=MESSAGES, tools=tools, **scenario("tool_calls")) as stream:
        final = stream.get_final_completion()
    assert final.choices[0].message.tool_calls[0].function.arguments == call.function.arguments


def test_reasoning_reports_reasoning_tokens_and_streams_reasoning_deltas(sdk):
    completion = chat(sdk, "reasoning")
    reasoning_tokens = completion.usage.completion_tokens_details.reasoning_tokens
    assert reasoning_tokens > 0 and completion.usage.completion_tokens > reasoning_tokens
    assert completion.choices[0].message.reasoning
    chunks = list(chat(sdk, "reasoning", stream=True))
    assert any(chunk.choices and chunk.choices[0].delta.model_extra.get("reasoning") for chunk in chunks)
    assert chunks[-1].usage.completion_tokens_details.reasoning_tokens == reasoning_tokens


def test_cached_prompt_reports_cache_read_and_cache_write_tokens(sdk):
    usage = chat(sdk, "cached_prompt").usage
    assert usage.prompt_tokens_details.cached_tokens > 0
    assert usage.prompt_tokens_details.cache_write_tokens > 0
    assert usage.prompt_tokens >= usage.prompt_tokens_details.cached_tokens


def test_credits_402_raises_an_api_status_error_with_openrouters_error_body(sdk):
    with pytest.raises(openai.APIStatusError) as raised:
        chat(sdk, "credits_402")
    assert raised.value.status_code == 402
    assert raised.value.body["code"] == 402 and "Insufficient credits" in raised.value.body["message"]
    assert "metadata" in raised.value.body


def test_rate_limit_429_raises_rate_limit_error_with_retry_after_and_the_provider(sdk):
    with pytest.raises(openai.RateLimitError) as raised:
        chat(sdk, "rate_limit_429", model="meta-llama/llama-3.3-70b-instruct")
    assert raised.value.response.headers["retry-after"] == "0"
    assert raised.value.body["metadata"]["provider_name"] == "Together"


def test_upstream_502_raises_internal_server_error_with_the_provider(sdk):
    with pytest.raises(openai.InternalServerError) as raised:
        chat(sdk, "upstream_502")
    assert raised.value.status_code == 502
    assert raised.value.body["metadata"]["provider_name"] == "Anthropic"


def test_error_in_200_returns_an_object_without_choices_that_carries_the_error(sdk):
    completion = chat(sdk, "error_in_200")
    assert completion.choices is None
    assert completion.model_extra["error"]["code"] == 502


def test_choices_null_returns_a_completion_whose_choices_are_none(sdk):
    completion = chat(sdk, "choices_null")
    assert completion.choices is None
    assert GEN_ID.match(completion.id) and completion.usage.total_tokens > 0


def test_stream_error_delivers_chunks_then_raises_api_error_from_the_error_chunk(sdk, http):
    received = []
    with pytest.raises(openai.APIError) as raised:
        for chunk in chat(sdk, "stream_error", stream=True):
            received.append(chunk)
    assert len(received) >= 3
    assert "Provider disconnected" in raised.value.message
    with http.stream("POST", "/chat/completions", json={"model": "a/b", "messages": MESSAGES, "stream": True},
                     headers={"X-Replay-Scenario": "stream_error"}) as response:
        events = [json.loads(line[6:]) for line in response.iter_lines() if line.startswith("data: {")]
    assert events[-1]["choices"][0]["finish_reason"] == "error" and events[-1]["error"]["code"] == 502


async def test_stream_error_raises_api_error_in_the_async_client(async_sdk):
    stream = await async_sdk.chat.completions.create(model="a/b", messages=MESSAGES, stream=True,
                                                     **scenario("stream_error"))
    with pytest.raises(openai.APIError):
        async for _chunk in stream:
            pass


def test_slow_stream_is_two_hundred_deltas_and_can_be_abandoned_without_harming_the_server(sdk):
    stream = chat(sdk, "slow_stream", stream=True)
    for index, _chunk in enumerate(stream):
        if index == 3:
            break
    stream.close()
    assert chat(sdk, "chat").choices[0].message.content
    chunks = list(chat(sdk, "slow_stream", stream=True))
    assert sum(bool(chunk.choices and chunk.choices[0].delta.content) for chunk in chunks) == 200


def test_embeddings_are_openrouter_shaped_with_cost_in_float_and_base64(sdk, http):
    response = sdk.embeddings.create(model="openai/text-embedding-3-small", input=["a", "b"], **scenario("embeddings"))
    assert [item.index for item in response.data] == [0, 1]
    assert len(response.data[0].embedding) == 8
    assert response.usage.prompt_tokens > 0 and response.usage.model_extra["cost"] > 0
    raw = http.post("/embeddings", json={"model": "m/e", "input": "a", "encoding_format": "base64"}).json()
    assert GEN_ID.match(raw["id"]) and raw["provider"] == "DeepInfra" and raw["usage"]["cost"] > 0
    assert len(struct.unpack("<8f", base64.b64decode(raw["data"][0]["embedding"]))) == 8
    floats = http.post("/embeddings", json={"model": "m/e", "input": "a", "encoding_format": "float"}).json()
    assert floats["data"][0]["embedding"] == pytest.approx(response.data[0].embedding, abs=1e-6)


async def test_embeddings_parse_in_the_async_client(async_sdk):
    response = await async_sdk.embeddings.create(model="openai/text-embedding-3-small", input="a")
    assert len(response.data) == 1 and response.usage.total_tokens > 0


def test_legacy_completions_return_a_text_completion_streamed_or_not(sdk):
    completion = sdk.completions.create(model="openai/gpt-3.5-turbo-instruct", prompt="Once upon",
                                        **scenario("completions"))
    assert completion.object == "text_completion" and completion.choices[0].text
    assert GEN_ID.match(completion.id) and completion.usage.cost > 0
    chunks = list(sdk.completions.create(model="openai/gpt-3.5-turbo-instruct", prompt="Once upon", stream=True))
    assert "".join(chunk.choices[0].text for chunk in chunks if chunk.choices) == completion.choices[0].text
    assert chunks[-1].usage.cost > 0


def test_responses_api_returns_a_response_with_output_text_and_usage(sdk):
    response = sdk.responses.create(model="openai/gpt-4o", input="Say hello", **scenario("responses"))
    assert response.status == "completed" and response.output_text
    assert response.model == "openai/gpt-4o" and GEN_ID.match(response.id)
    assert response.usage.input_tokens > 0 and response.usage.output_tokens > 0
    assert response.usage.model_extra["cost"] > 0


def test_responses_api_stream_ends_with_response_completed_carrying_usage(sdk):
    events = list(sdk.responses.create(model="openai/gpt-4o", input="Say hello", stream=True,
                                       **scenario("responses_stream")))
    assert events[0].type == "response.created" and events[-1].type == "response.completed"
    assert [event.sequence_number for event in events] == list(range(len(events)))
    text = "".join(event.delta for event in events if event.type == "response.output_text.delta")
    assert events[-1].response.output_text == text
    assert events[-1].response.usage.output_tokens > 0


def test_responses_stream_helper_accumulates_the_final_response(sdk):
    with sdk.responses.stream(model="openai/gpt-4o", input="Say hello", **scenario("responses_stream")) as stream:
        final = stream.get_final_response()
    assert final.output_text and final.usage.total_tokens > 0


async def test_responses_api_stream_parses_in_the_async_client(async_sdk):
    stream = await async_sdk.responses.create(model="openai/gpt-4o", input="hi", stream=True,
                                              **scenario("responses_stream"))
    events = [event async for event in stream]
    assert events[-1].type == "response.completed"


def test_scenarios_apply_to_every_endpoint_shape(sdk):
    byok = sdk.responses.create(model="anthropic/claude-sonnet-4.5", input="hi", **scenario("byok"))
    assert byok.usage.model_extra["is_byok"] is True
    dated = sdk.completions.create(model="anthropic/claude-sonnet-4.6", prompt="hi", **scenario("dated_model"))
    assert dated.model == "anthropic/claude-4.6-sonnet-20260217"
    with pytest.raises(openai.RateLimitError):
        sdk.embeddings.create(model="openai/text-embedding-3-small", input="a", **scenario("rate_limit_429"))


EXPECTED_ERRORS = {"credits_402": openai.APIStatusError, "rate_limit_429": openai.RateLimitError,
                   "upstream_502": openai.InternalServerError}
EXPECTED_STREAM_ERRORS = {**EXPECTED_ERRORS, "stream_error": openai.APIError, "error_in_200": openai.APIError}
ALWAYS_STREAMED = ("chat_stream", "slow_stream", "stream_error", "responses_stream")


def call_scenario(sdk, name: str, stream: bool) -> Any:
    if name.startswith("responses"):
        result = sdk.responses.create(model="openai/gpt-4o", input="hi", stream=stream, **scenario(name))
    elif name in ("embeddings", "completions"):
        resource, field = (sdk.embeddings, "input") if name == "embeddings" else (sdk.completions, "prompt")
        return resource.create(model="openai/gpt-4o", **{field: "hi"}, **scenario(name))
    else:
        result = chat(sdk, name, stream=stream)
    return list(result) if stream else result


@pytest.mark.parametrize("name", [name for name in SCENARIOS if name not in ALWAYS_STREAMED])
def test_every_scenario_asked_without_streaming_parses_or_raises_its_openai_exception(sdk, name):
    if name in EXPECTED_ERRORS:
        with pytest.raises(EXPECTED_ERRORS[name]):
            call_scenario(sdk, name, stream=False)
    else:
        result = call_scenario(sdk, name, stream=False)
        assert isinstance(result, pydantic.BaseModel) and (result.id or name == "error_in_200")


@pytest.mark.parametrize("name", [name for name in SCENARIOS if name != "embeddings"])
def test_every_scenario_asked_to_stream_parses_or_raises_its_openai_exception(sdk, name):
    if name in EXPECTED_STREAM_ERRORS:
        with pytest.raises(EXPECTED_STREAM_ERRORS[name]):
            call_scenario(sdk, name, stream=True)
    else:
        assert call_scenario(sdk, name, stream=True)


def test_the_same_scenario_and_request_answer_identically_and_other_requests_get_other_ids(sdk):
    first = [chunk.model_dump() for chunk in chat(sdk, "chat_stream", stream=True)]
    again = [chunk.model_dump() for chunk in chat(sdk, "chat_stream", stream=True)]
    assert first == again
    other = chat(sdk, "chat_stream", model="openai/gpt-4o", stream=True)
    assert next(iter(other)).id != first[0]["id"]
    assert chat(sdk, "byok").id != chat(sdk, "chat").id


def test_a_scenario_model_name_selects_the_scenario_without_headers(sdk):
    with pytest.raises(openai.APIStatusError) as raised:
        sdk.chat.completions.create(model="scenario/credits_402", messages=MESSAGES)
    assert raised.value.status_code == 402
    completion = sdk.chat.completions.create(model="scenario/byok", messages=MESSAGES)
    assert completion.usage.is_byok is True and completion.model == "openai/gpt-4o-mini"


def test_an_unknown_scenario_is_a_400_that_names_the_known_ones(sdk):
    with pytest.raises(openai.BadRequestError) as raised:
        chat(sdk, "no_such_scenario")
    assert "chat_stream" in raised.value.message


def test_an_unknown_endpoint_is_a_404(sdk):
    with pytest.raises(openai.NotFoundError):
        sdk.models.retrieve("anthropic/claude-sonnet-4.5")


def test_synthesised_scenarios_work_without_a_corpus():
    with ReplayServer() as server:
        client = openai.OpenAI(base_url=server.base_url, api_key=API_KEY, max_retries=0)
        assert chat(client, "dated_model", model="anthropic/claude-sonnet-4.6").model.endswith("-20260217")
        assert list(chat(client, "chat_stream", stream=True))[-1].usage.cost > 0
        client.close()


# --------------------------------------------------------------------------------------------------
# Generation lookups
# --------------------------------------------------------------------------------------------------


def test_generation_lookup_answers_for_issued_ids_with_cost_provider_model_and_tokens(sdk, server):
    completion = chat(sdk, "byok", model="anthropic/claude-sonnet-4.5")
    data = sdk.get(f"/generation?id={completion.id}", cast_to=object)["data"]
    assert data["id"] == completion.id
    assert data["total_cost"] == completion.usage.cost
    assert data["provider_name"] == completion.provider and data["model"] == completion.model
    assert (data["tokens_prompt"], data["tokens_completion"]) == (completion.usage.prompt_tokens,
                                                                  completion.usage.completion_tokens)
    assert data["is_byok"] is True
    assert server.generation(completion.id) == {"data": data}


def test_generation_lookup_knows_replayed_exchanges_and_streams(sdk, server):
    exchange = server.exchange("7buJmKWfmK3")
    list(sdk.chat.completions.create(**exchange.sdk_kwargs()))
    data = sdk.get(f"/generation?id={exchange.response_id}", cast_to=object)["data"]
    assert data["total_cost"] == exchange.cost and data["streamed"] is True
    assert data["native_tokens_cached"] == 1405


def test_generation_lookup_of_an_unknown_id_is_a_404(sdk):
    with pytest.raises(openai.NotFoundError):
        sdk.get("/generation?id=gen-0-unknown", cast_to=object)


def test_generation_lookup_ignores_a_scenario_header_set_for_the_whole_client(server):
    client = openai.OpenAI(base_url=server.base_url, api_key=API_KEY, max_retries=0,
                           default_headers={"X-Replay-Scenario": "credits_402"})
    generation_id = openai.OpenAI(base_url=server.base_url, api_key=API_KEY).chat.completions.create(
        model="a/b", messages=MESSAGES).id
    assert client.get(f"/generation?id={generation_id}", cast_to=object)["data"]["id"] == generation_id


# --------------------------------------------------------------------------------------------------
# Canned responses
# --------------------------------------------------------------------------------------------------


def test_a_registered_502_then_200_succeeds_with_one_retry(server):
    headers = server.register("replay-retry", [
        CannedResponse(status=502, body=error_body(502, "Bad gateway", {"provider_name": "Together"}),
                       headers={"retry-after-ms": "1"}),
        CannedResponse(body=chat_completion_body(model="a/b", id="gen-1-retrysucceeded00000000")),
    ])
    client = openai.OpenAI(base_url=server.base_url, api_key=API_KEY, max_retries=1)
    completion = client.chat.completions.create(model="a/b", messages=MESSAGES, extra_headers=headers)
    assert completion.id == "gen-1-retrysucceeded00000000"
    assert sum(request.headers.get("x-replay-token") == "replay-retry" for request in server.requests) == 2
    client.close()


def test_a_registered_response_is_one_shot_unless_it_repeats(sdk, server):
    once = server.register("replay-once", CannedResponse(body=chat_completion_body(model="a/once")))
    assert chat(sdk, "chat", extra_headers=once).model == "a/once"
    with pytest.raises(openai.NotFoundError):
        sdk.chat.completions.create(model="a/b", messages=MESSAGES, extra_headers=once)
    always = server.register("replay-always", CannedResponse(body=chat_completion_body(model="a/always")),
                             repeat=True)
    for _ in range(3):
        assert sdk.chat.completions.create(model="a/b", messages=MESSAGES, extra_headers=always).model == "a/always"


def test_a_registered_stream_writes_comments_split_events_raw_payloads_and_delays(sdk, http, server):
    events = chat_stream_events(model="a/split", pieces=["Hel", "lo"], provider="Anthropic")
    text = json.dumps(events[2], separators=(",", ":"))
    middle = len(text) // 2
    items = [*events[:2], Split([text[:middle], text[middle:]]), Delay(20), Comment("still here"), *events[3:]]
    server.register("replay-split", CannedResponse(sse_events=items), repeat=True)
    headers = {"X-Replay-Token": "replay-split"}
    with http.stream("POST", "/chat/completions", json={}, headers=headers) as response:
        reads = list(response.iter_raw())
    assert f"data: {text[:middle]}".encode() in reads
    assert b": still here\n\n" in reads
    started = time.perf_counter()
    chunks = list(sdk.chat.completions.create(model="a/b", messages=MESSAGES, stream=True, extra_headers=headers))
    assert time.perf_counter() - started >= 0.02
    assert "".join(chunk.choices[0].delta.content or "" for chunk in chunks if chunk.choices) == "Hello"
    assert chunks[-1].usage.cost > 0


def test_a_registered_broken_fragment_makes_the_sdk_fail_while_iterating(sdk, server):
    events = chat_stream_events(model="a/b", pieces=["ok"])
    headers = server.register("replay-broken", CannedResponse(sse_events=[events[1], '{"id": "gen-1-broken', "[DONE]"]))
    stream = sdk.chat.completions.create(model="a/b", messages=MESSAGES, stream=True, extra_headers=headers)
    assert next(stream).choices[0].delta.role == "assistant"
    with pytest.raises(json.JSONDecodeError):
        next(stream)


def test_a_registered_raw_write_reaches_the_client_untouched(http, server):
    headers = server.register("replay-raw", CannedResponse(sse_events=[Raw(b"data: 1\n\n"), Raw(b"event: x\n\n")]))
    with http.stream("POST", "/chat/completions", json={}, headers=headers) as response:
        assert b"".join(response.iter_raw()) == b"data: 1\n\nevent: x\n\n"


def test_a_registered_delay_holds_the_response_for_timeout_tests(server):
    headers = server.register("replay-slow", CannedResponse(body=chat_completion_body(), delay_ms=500))
    client = openai.OpenAI(base_url=server.base_url, api_key=API_KEY, max_retries=0, timeout=0.1)
    with pytest.raises(openai.APITimeoutError):
        client.chat.completions.create(model="a/b", messages=MESSAGES, extra_headers=headers)
    client.close()


def test_body_helpers_build_what_the_sdk_parses(sdk, server):
    usage = usage_block(100, 20, is_byok=True, cached_tokens=40, reasoning_tokens=5)
    body = chat_completion_body(model="a/b", content="hi", provider="Groq", usage=usage)
    completion = chat(sdk, "chat", extra_headers=server.register("replay-helper", CannedResponse(body=body)))
    assert completion.provider == "Groq" and completion.usage.is_byok is True
    assert completion.usage.prompt_tokens_details.cached_tokens == 40
    assert completion.usage.completion_tokens_details.reasoning_tokens == 5
    assert completion.usage.cost < usage["cost_details"]["upstream_inference_cost"]


# --------------------------------------------------------------------------------------------------
# Recording requests, connections
# --------------------------------------------------------------------------------------------------


def test_requests_record_method_path_headers_and_the_json_body(server):
    client = openai.OpenAI(base_url=server.base_url, api_key=API_KEY, max_retries=0,
                           default_headers={"X-Title": "replay-test", "HTTP-Referer": "https://example.test"})
    client.chat.completions.create(model="a/recorded", messages=MESSAGES, temperature=0.5,
                                   extra_body={"models": ["a/recorded", "b/other"]})
    request = next(r for r in reversed(server.requests) if r.json and r.json.get("model") == "a/recorded")
    assert (request.method, request.path, request.route) == ("POST", "/api/v1/chat/completions", "/chat/completions")
    assert request.headers["authorization"] == f"Bearer {API_KEY}"
    assert request.headers["x-title"] == "replay-test" and request.headers["http-referer"] == "https://example.test"
    assert request.json == {"model": "a/recorded", "messages": MESSAGES, "temperature": 0.5,
                            "models": ["a/recorded", "b/other"]}
    assert json.loads(request.body) == request.json
    client.close()


def test_requests_from_concurrent_clients_are_all_recorded(server):
    def call(index: int) -> None:
        client = openai.OpenAI(base_url=server.base_url, api_key=API_KEY, max_retries=0)
        for _ in range(5):
            client.chat.completions.create(model=f"concurrent/{index}", messages=MESSAGES)
        client.close()

    threads = [threading.Thread(target=call, args=(index,)) for index in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    models = [r.json["model"] for r in server.requests if r.json and str(r.json.get("model")).startswith("concurrent/")]
    assert sorted(models) == sorted(f"concurrent/{index}" for index in range(8) for _ in range(5))


def test_keep_alive_serves_many_requests_over_one_connection():
    with ReplayServer() as server:
        client = openai.OpenAI(base_url=server.base_url, api_key=API_KEY, max_retries=0)
        for _ in range(50):
            client.chat.completions.create(model="a/b", messages=MESSAGES)
        assert server.connections == 1
        assert len(server.requests) == 50
        client.close()


async def test_keep_alive_serves_many_async_streams_over_one_connection():
    # The async SDK drains the body after [DONE]; the sync SDK closes it unread, which costs a connection.
    with ReplayServer() as server:
        client = openai.AsyncOpenAI(base_url=server.base_url, api_key=API_KEY, max_retries=0)
        for _ in range(20):
            stream = await client.chat.completions.create(model="a/b", messages=MESSAGES, stream=True)
            async for _chunk in stream:
                pass
        assert server.connections == 1
        await client.close()


def test_stop_returns_promptly_while_a_client_holds_an_idle_keep_alive_connection():
    server = ReplayServer().start()
    client = openai.OpenAI(base_url=server.base_url, api_key=API_KEY, max_retries=0)
    client.chat.completions.create(model="a/b", messages=MESSAGES)
    started = time.perf_counter()
    server.stop()
    assert time.perf_counter() - started < 1.0
    with pytest.raises(RuntimeError):
        _ = server.base_url
    client.close()
