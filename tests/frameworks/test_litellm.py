"""LiteLLM's OpenAI-compatible path (`openai/<model>` with `api_base`), which drives the `openai` SDK through
`with_raw_response.create()` and `.parse()`. LiteLLM makes OpenTelemetry spans only with its `otel` callback
configured (not here), so ours sit under the application's."""

from __future__ import annotations


import litellm
import pytest

from tests.conftest import one_async_loop_per_chunk, one_loop_per_chunk

from .conftest import API_KEY, MODEL, PROMPT, assert_one_span_per_request, is_app, scenario

pytestmark = pytest.mark.asyncio(loop_scope="module")

MESSAGES = [{"role": "user", "content": PROMPT}]


def without_created(chunk) -> dict:
    """A streamed chunk as LiteLLM builds it, less `created`, which LiteLLM stamps with the current second."""
    return {key: value for key, value in chunk.model_dump().items() if key != "created"}


def request(replay_server, **options):
    return dict(model=f"openai/{MODEL}", api_base=replay_server.base_url, api_key=API_KEY, messages=MESSAGES,
                max_retries=0, extra_headers=scenario("chat"), **options)


def test_completion(pipelines, replay_server, instrument_after_baseline, app_span):
    baseline = litellm.completion(**request(replay_server)).model_dump()
    instrument_after_baseline()
    with app_span():
        assert litellm.completion(**request(replay_server)).model_dump() == baseline
    assert_one_span_per_request(pipelines, replay_server, requests=1, stream=False, parent=is_app)


# LiteLLM reads the SDK's stream one `for ... return` loop per chunk: each chunk starts a new iteration.
def test_completion_stream(pipelines, replay_server, instrument_after_baseline, app_span):
    def stream():
        return [without_created(chunk) for chunk in litellm.completion(**request(replay_server, stream=True))]

    baseline = stream()
    instrument_after_baseline()
    with app_span():
        assert stream() == baseline
    assert_one_span_per_request(pipelines, replay_server, requests=1, stream=True, parent=is_app)


async def astream(replay_server):
    stream = await litellm.acompletion(**request(replay_server, stream=True))
    return [without_created(chunk) async for chunk in stream]


async def test_acompletion_stream(pipelines, replay_server, instrument_after_baseline, app_span):
    baseline = await astream(replay_server)
    instrument_after_baseline()
    with app_span():
        assert await astream(replay_server) == baseline
    assert_one_span_per_request(pipelines, replay_server, requests=1, stream=True, parent=is_app)


# LiteLLM's read pattern on the bare SDK (tests.conftest.one_loop_per_chunk), without LiteLLM's timing: the caller
# gets every chunk (usage last), so the span must too. Deterministic where the LiteLLM tests above depend on when
# generators are finalised.


def sdk_stream_request():
    return dict(model=MODEL, messages=MESSAGES, stream=True, extra_headers=scenario("chat"))


def test_sdk_stream_read_one_loop_per_chunk(pipelines, replay_server, instrument_after_baseline, app_span, client):
    def stream():
        return [chunk.model_dump() for chunk in one_loop_per_chunk(client.chat.completions.create(**sdk_stream_request()))]

    baseline = stream()
    instrument_after_baseline()
    with app_span():
        assert stream() == baseline
    assert_one_span_per_request(pipelines, replay_server, requests=1, stream=True, parent=is_app)


async def test_sdk_astream_read_one_loop_per_chunk(pipelines, replay_server, instrument_after_baseline, app_span,
                                                   async_client):
    async def stream():
        created = await async_client.chat.completions.create(**sdk_stream_request())
        return [chunk.model_dump() for chunk in await one_async_loop_per_chunk(created)]

    baseline = await stream()
    instrument_after_baseline()
    with app_span():
        assert await stream() == baseline
    assert_one_span_per_request(pipelines, replay_server, requests=1, stream=True, parent=is_app)
