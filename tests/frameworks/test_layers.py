"""No call is recorded twice when several recorded layers are present: with the replay server a configured
OpenRouter host, every request below is seen by an SDK wrapper (openai or openrouter) and by the HTTP-level
wrapper of the httpx or httpx2 client the SDK sends with, and each is still one span and one audit record.

Covered elsewhere with hosts configured: the openrouter SDK (tests/test_openrouter_sdk.py), LiteLLM's
`openrouter/` route and DSPy (test_openrouter_routes.py), ChatOpenRouter (test_langchain_openrouter.py)."""

from __future__ import annotations

from typing import Any

import litellm
import openai
import pytest
from langchain_openai import ChatOpenAI

from .conftest import API_KEY, MODEL, PROMPT, assert_one_span_per_request, is_app, ours

pytestmark = pytest.mark.asyncio(loop_scope="module")

MESSAGES = [{"role": "user", "content": PROMPT}]


def test_openai_sdk_every_shape_is_one_span_each(pipelines, replay_server, instrument_hosts, app_span):
    client = openai.OpenAI(base_url=replay_server.base_url, api_key=API_KEY, max_retries=0)
    instrument_hosts()
    with app_span():
        client.chat.completions.create(model=MODEL, messages=MESSAGES)
        list(client.chat.completions.create(model=MODEL, messages=MESSAGES, stream=True))
        client.responses.create(model=MODEL, input=PROMPT)
        client.embeddings.create(model="openai/text-embedding-3-small", input=PROMPT)
        client.completions.create(model=MODEL, prompt=PROMPT)
    assert len(ours(pipelines)) == 5
    assert len(pipelines.audit_records()) == 5


async def test_async_openai_sdk_is_one_span_each(pipelines, replay_server, instrument_hosts, app_span):
    client = openai.AsyncOpenAI(base_url=replay_server.base_url, api_key=API_KEY, max_retries=0)
    instrument_hosts()
    with app_span():
        await client.chat.completions.create(model=MODEL, messages=MESSAGES)
        [chunk async for chunk in await client.chat.completions.create(model=MODEL, messages=MESSAGES, stream=True)]
    assert len(ours(pipelines)) == 2
    assert len(pipelines.audit_records()) == 2
    await client.close()


def test_litellm_openai_route_is_one_span(pipelines, replay_server, instrument_hosts, app_span):
    instrument_hosts()
    with app_span():
        litellm.completion(model=f"openai/{MODEL}", api_base=replay_server.base_url, api_key=API_KEY,
                           messages=MESSAGES, max_retries=0)
    assert_one_span_per_request(pipelines, replay_server, requests=1, stream=False, parent=is_app)


def test_langchain_chat_openai_stream_is_one_span(pipelines, replay_server, instrument_hosts, app_span):
    chat = ChatOpenAI(model=MODEL, base_url=replay_server.base_url, api_key=API_KEY, max_retries=0,
                      stream_usage=True)
    instrument_hosts()
    with app_span():
        list(chat.stream(PROMPT))
    assert_one_span_per_request(pipelines, replay_server, requests=1, stream=True, parent=is_app)
