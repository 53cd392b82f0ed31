"""LangChain's `ChatOpenRouter` (langchain-openrouter), built on the official `openrouter` SDK: each request is one
span and one audit record with the served cost, under the application's span, with the replay server also a
configured OpenRouter host (the httpx wrapper under the SDK must not record again), and what the caller gets is
the same as without us.

langchain-openrouter 0.2.9 pins openrouter<1.0 but works with the openrouter 1.x we instrument (the chat
operations it calls, `chat.send` and `chat.send_async`, are the same), so scripts/test.sh installs it without its
pins, as it does instructor.
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from openrouter_otel.server.replay import CannedResponse, chat_completion_body, chat_stream_events

from .conftest import API_KEY, MODEL, PROMPT, assert_one_span_per_request, is_app, without

import langchain_openrouter  # noqa: E402 - installed by scripts/test.sh: a missing client fails, never skips

pytestmark = pytest.mark.asyncio(loop_scope="module")

STAMPED = frozenset({"id"})  # LangChain's run ids
SERVED_MODEL = "anthropic/claude-4.5-sonnet-20250929"
PROVIDER = "Amazon Bedrock"


def chat_model(server: Any, canned: CannedResponse) -> Any:
    """A ChatOpenRouter whose every request the server answers with `canned` (the SDK's ChatResult requires the
    system_fingerprint OpenRouter sends, null, which the server's synthesised answers leave out)."""
    token = server.register(uuid.uuid4().hex, canned, repeat=True)
    return langchain_openrouter.ChatOpenRouter(model=MODEL, api_key=API_KEY, base_url=server.base_url,
                                               default_headers=token, max_retries=0)


@pytest.fixture
def chat(replay_server: Any) -> Any:
    body = {**chat_completion_body(model=SERVED_MODEL, provider=PROVIDER), "system_fingerprint": None}
    return chat_model(replay_server, CannedResponse(body=body))


@pytest.fixture
def streaming_chat(replay_server: Any) -> Any:
    events = chat_stream_events(model=SERVED_MODEL, provider=PROVIDER, pieces=["Hello", " there", "!"])
    return chat_model(replay_server, CannedResponse(sse_events=events))


def received(message: Any) -> Any:
    return without(message.model_dump(), STAMPED)


def test_invoke(pipelines, replay_server, instrument_hosts, app_span, chat):
    baseline = received(chat.invoke(PROMPT))
    instrument_hosts()
    with app_span():
        assert received(chat.invoke(PROMPT)) == baseline
    assert_one_span_per_request(pipelines, replay_server, requests=1, stream=False, parent=is_app)


def test_stream(pipelines, replay_server, instrument_hosts, app_span, streaming_chat):
    def stream() -> list[Any]:
        return [received(chunk) for chunk in streaming_chat.stream(PROMPT)]

    baseline = stream()
    instrument_hosts()
    with app_span():
        assert stream() == baseline
    assert_one_span_per_request(pipelines, replay_server, requests=1, stream=True, parent=is_app)


async def test_ainvoke(pipelines, replay_server, instrument_hosts, app_span, chat):
    baseline = received(await chat.ainvoke(PROMPT))
    instrument_hosts()
    with app_span():
        assert received(await chat.ainvoke(PROMPT)) == baseline
    assert_one_span_per_request(pipelines, replay_server, requests=1, stream=False, parent=is_app)


async def test_astream(pipelines, replay_server, instrument_hosts, app_span, streaming_chat):
    async def stream() -> list[Any]:
        return [received(chunk) async for chunk in streaming_chat.astream(PROMPT)]

    baseline = await stream()
    instrument_hosts()
    with app_span():
        assert await stream() == baseline
    assert_one_span_per_request(pipelines, replay_server, requests=1, stream=True, parent=is_app)
