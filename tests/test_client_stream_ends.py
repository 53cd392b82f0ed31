"""How a stream read below the `openai` SDK ends when the caller stops reading it: through the `openrouter` SDK,
plain httpx and requests, a stream left unread and dropped ends `abandoned` (not `closed`: the SDK's generator
closes the response when it is collected), with the time the caller stopped reading as its end, as the
`openai` SDK's streams do; a stream the caller closes still ends `closed` when it is closed."""

from __future__ import annotations

import asyncio
import gc
import time
import uuid
from typing import Any

import httpx
import pytest
import requests

from openrouter_otel import semconv as sc
from openrouter_otel.server.replay import CannedResponse, chat_stream_events

from .conftest import TEST_API_KEY

import openrouter  # noqa: E402 - installed by scripts/test.sh: a missing client fails, never skips

MODEL = "google/gemini-2.5-flash"
MESSAGES = [{"role": "user", "content": "Count to ten"}]
BODY = {"model": MODEL, "messages": MESSAGES, "stream": True}
PAUSE = 0.3  # between the caller's last read and the stream's collection


@pytest.fixture
def traced(instrument: Any, replay_server: Any) -> Any:
    return instrument(hosts=[replay_server.base_url])


def headers(server: Any) -> dict[str, str]:
    events = chat_stream_events(model=MODEL, provider="Google AI Studio", pieces=["one ", "two ", "three"])
    return {"Authorization": f"Bearer {TEST_API_KEY}",
            **server.register(uuid.uuid4().hex, CannedResponse(sse_events=events))}


def assert_abandoned_when_the_caller_stopped(traced: Any, stopped: int) -> None:
    gc.collect()
    span = traced.only_span()
    assert span.attributes[sc.OPENROUTER_STREAM_OUTCOME] == sc.STREAM_OUTCOME_ABANDONED
    assert span.end_time <= stopped, f"ended {(span.end_time - stopped) / 1e6:.0f} ms after the caller stopped"
    assert len(traced.audit_records()) == 1


def test_openrouter_sdk_stream_broken_out_of_and_dropped(traced, replay_server):
    with openrouter.OpenRouter(api_key=TEST_API_KEY, server_url=replay_server.base_url) as sdk:
        stream = sdk.chat.send(model=MODEL, messages=MESSAGES, stream=True, http_headers=headers(replay_server))
        for _chunk in stream:
            break
        stopped = time.time_ns()
        time.sleep(PAUSE)
        assert traced.spans() == []
        del stream, _chunk
        assert_abandoned_when_the_caller_stopped(traced, stopped)


def test_async_openrouter_sdk_stream_broken_out_of_and_dropped(traced, replay_server):
    async def main() -> int:
        async with openrouter.OpenRouter(api_key=TEST_API_KEY, server_url=replay_server.base_url) as sdk:
            stream = await sdk.chat.send_async(model=MODEL, messages=MESSAGES, stream=True,
                                               http_headers=headers(replay_server))
            async for _chunk in stream:
                break
            stopped = time.time_ns()
            await asyncio.sleep(PAUSE)
            del stream, _chunk
            gc.collect()
            for _ in range(5):  # the loop closes a collected async generator in a task of its own
                await asyncio.sleep(0.01)
            return stopped

    assert_abandoned_when_the_caller_stopped(traced, asyncio.run(main()))


def httpx_stream_read_in_part(server: Any) -> Any:
    client = httpx.Client()
    response = client.send(client.build_request("POST", server.base_url + "/chat/completions", json=BODY,
                                                headers=headers(server)), stream=True)
    next(response.iter_lines())
    return response


def requests_stream_read_in_part(server: Any) -> Any:
    response = requests.post(server.base_url + "/chat/completions", json=BODY, headers=headers(server), stream=True)
    next(response.iter_content(chunk_size=16))
    return response


@pytest.mark.parametrize("read_in_part", [httpx_stream_read_in_part, requests_stream_read_in_part],
                         ids=["httpx", "requests"])
def test_http_stream_read_in_part_and_dropped(traced, replay_server, read_in_part):
    response = read_in_part(replay_server)
    stopped = time.time_ns()
    time.sleep(PAUSE)
    del response
    assert_abandoned_when_the_caller_stopped(traced, stopped)


def test_openrouter_sdk_stream_closed_by_the_caller_is_closed_when_closed(traced, replay_server):
    with openrouter.OpenRouter(api_key=TEST_API_KEY, server_url=replay_server.base_url) as sdk:
        stream = sdk.chat.send(model=MODEL, messages=MESSAGES, stream=True, http_headers=headers(replay_server))
        next(stream)
        time.sleep(PAUSE)
        closing = time.time_ns()
        stream.close()
        span = traced.only_span()
        assert span.attributes[sc.OPENROUTER_STREAM_OUTCOME] == "closed"
        assert span.end_time >= closing
