"""LangChain's `ChatOpenAI` against the replay server: invoke, stream, astream, and astream with response
headers (which goes through `with_raw_response.create(stream=True)` and `.parse()`)."""

from __future__ import annotations

import pytest
from langchain_openai import ChatOpenAI

from .conftest import API_KEY, MODEL, PROMPT, assert_one_span_per_request, is_app, scenario

# LangChain keeps one default async HTTP client per process; it belongs to the loop that made it.
pytestmark = pytest.mark.asyncio(loop_scope="module")


def dump(message):
    """The message as the application sees it, less the run id LangChain makes up locally per call."""
    data = message.model_dump()
    if str(data.get("id")).startswith("lc_run-"):
        data["id"] = "lc_run"
    return data


def chat_model(replay_server, **settings):
    return ChatOpenAI(model=MODEL, base_url=replay_server.base_url, api_key=API_KEY, max_retries=0,
                      default_headers=scenario("chat"), **settings)


def test_invoke(pipelines, replay_server, instrument_after_baseline, app_span):
    llm = chat_model(replay_server)
    baseline = dump(llm.invoke(PROMPT))
    instrument_after_baseline()
    with app_span():
        result = dump(llm.invoke(PROMPT))
    assert result == baseline
    assert_one_span_per_request(pipelines, replay_server, requests=1, stream=False, parent=is_app)


def test_stream(pipelines, replay_server, instrument_after_baseline, app_span):
    llm = chat_model(replay_server)
    baseline = [dump(chunk) for chunk in llm.stream(PROMPT)]
    instrument_after_baseline()
    with app_span():
        chunks = [dump(chunk) for chunk in llm.stream(PROMPT)]
    assert chunks == baseline
    assert_one_span_per_request(pipelines, replay_server, requests=1, stream=True, parent=is_app)


async def astream(llm):
    return [dump(chunk) async for chunk in llm.astream(PROMPT)]


# include_response_headers goes through `await with_raw_response.create(stream=True)` and `.parse()`.
@pytest.mark.parametrize("settings", [{}, {"include_response_headers": True}], ids=["plain", "response_headers"])
async def test_astream(settings, pipelines, replay_server, instrument_after_baseline, app_span):
    llm = chat_model(replay_server, **settings)
    baseline = await astream(llm)
    instrument_after_baseline()
    with app_span():
        chunks = await astream(llm)
    assert chunks == baseline
    assert_one_span_per_request(pipelines, replay_server, requests=1, stream=True, parent=is_app)
