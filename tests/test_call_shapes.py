"""Every way of calling the SDK produces one correct span, metric points and one audit record (sync and async)."""

from __future__ import annotations

import openai
import pydantic
import pytest
from opentelemetry.trace import SpanKind, StatusCode

from openrouter_otel import semconv as sc

from .conftest import TEST_API_KEY

MESSAGES = [{"role": "user", "content": "Say hello"}]


def scenario(name: str) -> dict[str, dict[str, str]]:
    return {"extra_headers": {"X-Replay-Scenario": name}}


def assert_one_successful_chat_span(pipelines, *, model: str, stream: bool = False):
    span = pipelines.only_span()
    attributes = span.attributes
    assert span.kind is SpanKind.CLIENT
    assert span.name == f"chat {model}"
    assert span.status.status_code is StatusCode.UNSET
    assert attributes[sc.GEN_AI_OPERATION_NAME] == sc.OPERATION_CHAT
    assert attributes[sc.GEN_AI_REQUEST_MODEL] == model
    assert attributes[sc.GEN_AI_RESPONSE_ID].startswith("gen-")
    assert attributes[sc.GEN_AI_RESPONSE_MODEL]
    assert attributes[sc.OPENROUTER_PROVIDER]
    assert attributes[sc.GEN_AI_PROVIDER_NAME] == sc.PROVIDER_OPENROUTER
    assert attributes[sc.SERVER_ADDRESS] == "127.0.0.1"
    assert attributes[sc.GEN_AI_USAGE_INPUT_TOKENS] > 0
    assert attributes[sc.GEN_AI_USAGE_OUTPUT_TOKENS] > 0
    assert attributes[sc.GEN_AI_USAGE_COST] > 0
    assert attributes[sc.OPENROUTER_COST_SOURCE] == sc.COST_SOURCE_RESPONSE
    assert attributes[sc.OPENROUTER_PROMPT_HASH].startswith("sha256:")
    assert len(attributes[sc.OPENROUTER_API_KEY_FINGERPRINT]) == 12
    assert attributes[sc.GEN_AI_RESPONSE_FINISH_REASONS]
    if stream:
        assert attributes[sc.GEN_AI_RESPONSE_TIME_TO_FIRST_CHUNK] > 0
    assert len(pipelines.audit_records()) == 1
    assert len(pipelines.points(sc.METRIC_OPERATION_DURATION)) == 1
    return span


def test_plain_create_records_served_model_provider_tokens_and_cost(instrumented, client):
    response = client.chat.completions.create(model="anthropic/claude-sonnet-4.5", messages=MESSAGES, **scenario("chat"))
    span = assert_one_successful_chat_span(instrumented, model="anthropic/claude-sonnet-4.5")
    assert span.attributes[sc.GEN_AI_RESPONSE_ID] == response.id
    assert span.attributes[sc.GEN_AI_USAGE_COST] == response.usage.cost


def test_dated_served_model_name_is_recorded_as_served(instrumented, client):
    response = client.chat.completions.create(model="anthropic/claude-sonnet-4.6", messages=MESSAGES,
                                              **scenario("dated_model"))
    span = instrumented.only_span()
    assert span.attributes[sc.GEN_AI_REQUEST_MODEL] == "anthropic/claude-sonnet-4.6"
    assert span.attributes[sc.GEN_AI_RESPONSE_MODEL] == response.model == "anthropic/claude-4.6-sonnet-20260217"


async def test_async_create_records_the_same_span(instrumented, async_client):
    await async_client.chat.completions.create(model="openai/gpt-4o", messages=MESSAGES, **scenario("chat"))
    assert_one_successful_chat_span(instrumented, model="openai/gpt-4o")


def test_with_raw_response_is_recorded_and_still_parses(instrumented, client):
    raw = client.chat.completions.with_raw_response.create(model="openai/gpt-4o", messages=MESSAGES, **scenario("chat"))
    assert raw.http_response.status_code == 200
    completion = raw.parse()
    span = assert_one_successful_chat_span(instrumented, model="openai/gpt-4o")
    assert span.attributes[sc.GEN_AI_RESPONSE_ID] == completion.id


async def test_async_with_raw_response_is_recorded(instrumented, async_client):
    raw = await async_client.chat.completions.with_raw_response.create(model="openai/gpt-4o", messages=MESSAGES,
                                                                        **scenario("chat"))
    assert raw.parse().id
    assert_one_successful_chat_span(instrumented, model="openai/gpt-4o")


def test_with_streaming_response_records_when_parsed(instrumented, client):
    with client.chat.completions.with_streaming_response.create(model="openai/gpt-4o", messages=MESSAGES,
                                                                **scenario("chat")) as response:
        completion = response.parse()
    span = assert_one_successful_chat_span(instrumented, model="openai/gpt-4o")
    assert span.attributes[sc.GEN_AI_RESPONSE_ID] == completion.id


def test_with_streaming_response_of_a_stream_records_usage_from_the_final_chunk(instrumented, client):
    with client.chat.completions.with_streaming_response.create(
        model="openai/gpt-4o", messages=MESSAGES, stream=True, **scenario("chat_stream")
    ) as response:
        chunks = list(response.parse())
    assert chunks
    assert_one_successful_chat_span(instrumented, model="openai/gpt-4o", stream=True)


async def test_async_with_streaming_response_records_when_parsed(instrumented, async_client):
    async with async_client.chat.completions.with_streaming_response.create(
        model="openai/gpt-4o", messages=MESSAGES, **scenario("chat")
    ) as response:
        await response.parse()
    assert_one_successful_chat_span(instrumented, model="openai/gpt-4o")


def test_with_streaming_response_closed_unread_still_ends_the_span(instrumented, client):
    with client.chat.completions.with_streaming_response.create(model="openai/gpt-4o", messages=MESSAGES,
                                                                **scenario("chat")) as response:
        assert response.http_response.status_code == 200
    span = instrumented.only_span()
    assert span.end_time is not None


class Greeting(pydantic.BaseModel):
    text: str


def test_parse_with_a_response_format_is_recorded(instrumented, client):
    completion = client.chat.completions.parse(model="openai/gpt-4o", messages=MESSAGES, response_format=Greeting,
                                               **scenario("structured"))
    assert completion.choices[0].message.parsed is not None
    assert_one_successful_chat_span(instrumented, model="openai/gpt-4o")


async def test_async_parse_is_recorded(instrumented, async_client):
    await async_client.chat.completions.parse(model="openai/gpt-4o", messages=MESSAGES, response_format=Greeting,
                                              **scenario("structured"))
    assert_one_successful_chat_span(instrumented, model="openai/gpt-4o")


def test_stream_helper_records_one_span_with_usage(instrumented, client):
    with client.chat.completions.stream(model="openai/gpt-4o", messages=MESSAGES, **scenario("chat_stream")) as stream:
        for _event in stream:
            pass
        final = stream.get_final_completion()
    assert final.choices[0].message.content
    assert_one_successful_chat_span(instrumented, model="openai/gpt-4o", stream=True)


def test_stream_helper_left_early_ends_the_span_when_the_block_exits(instrumented, client):
    with client.chat.completions.stream(model="openai/gpt-4o", messages=MESSAGES, **scenario("slow_stream")) as stream:
        next(iter(stream))
        assert instrumented.spans() == []
    span = instrumented.only_span()
    assert span.attributes[sc.OPENROUTER_STREAM_OUTCOME] == "closed"


async def test_async_stream_helper_records_one_span(instrumented, async_client):
    async with async_client.chat.completions.stream(model="openai/gpt-4o", messages=MESSAGES,
                                                    **scenario("chat_stream")) as stream:
        async for _event in stream:
            pass
    assert_one_successful_chat_span(instrumented, model="openai/gpt-4o", stream=True)


def test_legacy_text_completion_is_a_text_completion_span(instrumented, client):
    client.completions.create(model="openai/gpt-3.5-turbo-instruct", prompt="Once upon", **scenario("completions"))
    span = instrumented.only_span()
    assert span.name == "text_completion openai/gpt-3.5-turbo-instruct"
    assert span.attributes[sc.GEN_AI_OPERATION_NAME] == sc.OPERATION_TEXT_COMPLETION
    assert span.attributes[sc.GEN_AI_USAGE_INPUT_TOKENS] > 0


def test_embeddings_are_an_embeddings_span_with_input_tokens_and_cost(instrumented, client):
    client.embeddings.create(model="openai/text-embedding-3-small", input=["a", "b"], **scenario("embeddings"))
    span = instrumented.only_span()
    assert span.name == "embeddings openai/text-embedding-3-small"
    assert span.attributes[sc.GEN_AI_OPERATION_NAME] == sc.OPERATION_EMBEDDINGS
    assert span.attributes[sc.GEN_AI_USAGE_INPUT_TOKENS] > 0
    assert sc.GEN_AI_USAGE_COST in span.attributes


async def test_async_embeddings_are_recorded(instrumented, async_client):
    await async_client.embeddings.create(model="openai/text-embedding-3-small", input="a", **scenario("embeddings"))
    assert instrumented.only_span().attributes[sc.GEN_AI_OPERATION_NAME] == sc.OPERATION_EMBEDDINGS


def test_responses_api_call_records_usage_and_status(instrumented, client):
    response = client.responses.create(model="openai/gpt-4o", input="Say hello", **scenario("responses"))
    span = instrumented.only_span()
    assert span.attributes[sc.GEN_AI_OPERATION_NAME] == sc.OPERATION_CHAT
    assert span.attributes[sc.GEN_AI_RESPONSE_ID] == response.id
    assert span.attributes[sc.GEN_AI_USAGE_INPUT_TOKENS] == response.usage.input_tokens
    assert span.attributes[sc.GEN_AI_USAGE_OUTPUT_TOKENS] == response.usage.output_tokens
    assert span.attributes[sc.OPENROUTER_PROMPT_HASH].startswith("sha256:")


def test_responses_api_stream_records_usage_from_the_completed_event(instrumented, client):
    events = list(client.responses.create(model="openai/gpt-4o", input="Say hello", stream=True,
                                          **scenario("responses_stream")))
    assert events[-1].type == "response.completed"
    span = instrumented.only_span()
    assert span.attributes[sc.GEN_AI_USAGE_OUTPUT_TOKENS] == events[-1].response.usage.output_tokens
    assert span.attributes[sc.GEN_AI_RESPONSE_TIME_TO_FIRST_CHUNK] > 0


async def test_async_responses_api_stream_is_recorded(instrumented, async_client):
    stream = await async_client.responses.create(model="openai/gpt-4o", input="Say hello", stream=True,
                                                 **scenario("responses_stream"))
    async for _event in stream:
        pass
    assert instrumented.only_span().attributes[sc.OPENROUTER_STREAM_OUTCOME] == "completed"


def test_other_endpoints_are_not_instrumented(instrumented, replay_server):
    client = openai.OpenAI(base_url=replay_server.base_url, api_key=TEST_API_KEY, max_retries=0)
    with pytest.raises(openai.APIStatusError):
        client.models.retrieve("anthropic/claude-sonnet-4.5")
    assert instrumented.spans() == []


def test_openai_compatible_endpoint_is_provider_openai_with_an_estimated_cost(instrumented, replay_server):
    base_url = replay_server.base_url.replace("/api/v1", "/v1")
    client = openai.OpenAI(base_url=base_url, api_key=TEST_API_KEY, max_retries=0)
    response = client.chat.completions.create(model="gpt-4o", messages=MESSAGES, **scenario("openai_style"))
    assert response.id.startswith("chatcmpl-")
    attributes = instrumented.only_span().attributes
    assert attributes[sc.GEN_AI_PROVIDER_NAME] == sc.PROVIDER_OPENAI
    assert sc.OPENROUTER_PROVIDER not in attributes
    assert attributes[sc.OPENROUTER_COST_SOURCE] == sc.COST_SOURCE_ESTIMATE
    expected = response.usage.prompt_tokens * 2.5e-6 + response.usage.completion_tokens * 10e-6
    assert attributes[sc.GEN_AI_USAGE_COST] == pytest.approx(expected, rel=0.05)


def test_byok_call_records_upstream_cost_and_byok_flag(instrumented, client):
    response = client.chat.completions.create(model="anthropic/claude-sonnet-4.5", messages=MESSAGES, **scenario("byok"))
    attributes = instrumented.only_span().attributes
    assert attributes[sc.OPENROUTER_IS_BYOK] is True
    assert attributes[sc.GEN_AI_USAGE_COST] == response.usage.cost
    assert attributes[sc.OPENROUTER_COST_UPSTREAM] == response.usage.cost_details["upstream_inference_cost"]


# --- raw and lazily-read responses (the shapes LiteLLM and LangChain use) ------------------------------


async def test_async_raw_response_of_a_stream_parses_synchronously_and_is_recorded(instrumented, async_client):
    # LegacyAPIResponse.parse() is synchronous even on the async client (LiteLLM's acompletion(stream=True)).
    raw = await async_client.chat.completions.with_raw_response.create(model="openai/gpt-4o", messages=MESSAGES,
                                                                        stream=True, **scenario("chat_stream"))
    stream = raw.parse()
    assert isinstance(stream, openai.AsyncStream)
    chunks = [chunk async for chunk in stream]
    assert chunks
    assert_one_successful_chat_span(instrumented, model="openai/gpt-4o", stream=True)


def test_raw_response_of_a_stream_parsed_twice_is_one_tracked_stream(instrumented, client):
    raw = client.chat.completions.with_raw_response.create(model="openai/gpt-4o", messages=MESSAGES, stream=True,
                                                           **scenario("chat_stream"))
    first, second = raw.parse(), raw.parse()
    assert first is second
    list(first)
    assert_one_successful_chat_span(instrumented, model="openai/gpt-4o", stream=True)


async def test_async_parse_never_awaited_ends_the_span_when_dropped(instrumented, async_client):
    import gc
    import warnings

    async with async_client.chat.completions.with_streaming_response.create(
        model="openai/gpt-4o", messages=MESSAGES, **scenario("chat")
    ) as response:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            coroutine = response.parse()
            del coroutine
            gc.collect()
    del response
    gc.collect()
    span = instrumented.only_span()
    assert span.end_time is not None
    assert len(instrumented.audit_records()) == 1


@pytest.mark.parametrize("method", ["read", "text", "json"])
def test_with_streaming_response_read_by_hand_records_tokens_and_cost(instrumented, client, method):
    with client.chat.completions.with_streaming_response.create(model="openai/gpt-4o", messages=MESSAGES,
                                                                **scenario("chat")) as response:
        getattr(response, method)()
    assert_one_successful_chat_span(instrumented, model="openai/gpt-4o")


@pytest.mark.parametrize("method", ["read", "text"])
def test_with_streaming_response_of_a_stream_read_as_text_records_usage(instrumented, client, method):
    with client.chat.completions.with_streaming_response.create(model="openai/gpt-4o", messages=MESSAGES, stream=True,
                                                                **scenario("chat_stream")) as response:
        getattr(response, method)()
    span = instrumented.only_span()
    assert span.attributes[sc.GEN_AI_USAGE_OUTPUT_TOKENS] > 0
    assert span.attributes[sc.GEN_AI_USAGE_COST] > 0
    assert span.attributes[sc.GEN_AI_RESPONSE_ID].startswith("gen-")


@pytest.mark.parametrize("method", ["read", "text", "json"])
async def test_async_with_streaming_response_read_by_hand_records_tokens_and_cost(instrumented, async_client, method):
    async with async_client.chat.completions.with_streaming_response.create(
        model="openai/gpt-4o", messages=MESSAGES, **scenario("chat")
    ) as response:
        await getattr(response, method)()
    assert_one_successful_chat_span(instrumented, model="openai/gpt-4o")


def test_listing_stored_chat_completions_is_not_an_llm_call(instrumented, client):
    client.chat.completions.list()
    assert instrumented.spans() == []
    assert instrumented.audit_records() == []
    assert instrumented.points(sc.METRIC_OPERATION_DURATION) == []


def test_suppressed_instrumentation_records_nothing(instrumented, client):
    from opentelemetry.instrumentation.utils import suppress_instrumentation

    with suppress_instrumentation():
        client.chat.completions.create(model="openai/gpt-4o", messages=MESSAGES, **scenario("chat"))
    assert instrumented.spans() == []
    assert instrumented.audit_records() == []
    assert instrumented.points(sc.METRIC_OPERATION_DURATION) == []


async def test_async_suppressed_instrumentation_records_nothing(instrumented, async_client):
    from opentelemetry.instrumentation.utils import suppress_instrumentation

    with suppress_instrumentation():
        await async_client.chat.completions.create(model="openai/gpt-4o", messages=MESSAGES, **scenario("chat"))
    assert instrumented.spans() == []
