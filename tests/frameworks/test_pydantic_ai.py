"""Pydantic AI's OpenRouter provider, pointed at the replay server through its `openai_client`, with Pydantic
AI's own OpenTelemetry instrumentation on: our span sits under its `chat` span."""

from __future__ import annotations

import openai
import pytest
from pydantic_ai import Agent
from pydantic_ai.messages import ModelMessagesTypeAdapter
from pydantic_ai.models.instrumented import InstrumentationSettings
from pydantic_ai.models.openrouter import OpenRouterModel
from pydantic_ai.providers.openrouter import OpenRouterProvider

from .conftest import API_KEY, MODEL, PROMPT, assert_one_span_per_request, scenario, without

pytestmark = pytest.mark.asyncio(loop_scope="module")

# Stamped by Pydantic AI from the local clock, per run.
LOCAL_FIELDS = frozenset({"timestamp", "run_id", "conversation_id"})


def agent(replay_server, pipelines):
    client = openai.AsyncOpenAI(base_url=replay_server.base_url, api_key=API_KEY, max_retries=0,
                                default_headers=scenario("chat"))
    model = OpenRouterModel(MODEL, provider=OpenRouterProvider(openai_client=client))
    assistant = Agent(model)
    assistant.instrument = InstrumentationSettings(tracer_provider=pipelines.tracer_provider)
    return assistant


def is_pydantic_ai_chat(span):
    return span.instrumentation_scope.name.startswith("pydantic-ai") and span.name.startswith("chat ")


def run_result(result):
    messages = ModelMessagesTypeAdapter.dump_python(result.all_messages(), mode="json")
    return result.output, without(messages, LOCAL_FIELDS)


def test_run_sync(pipelines, replay_server, instrument_after_baseline):
    assistant = agent(replay_server, pipelines)
    baseline = run_result(assistant.run_sync(PROMPT))
    instrument_after_baseline()
    assert run_result(assistant.run_sync(PROMPT)) == baseline
    assert_one_span_per_request(pipelines, replay_server, requests=1, stream=False, parent=is_pydantic_ai_chat)


async def streamed_text(assistant):
    async with assistant.run_stream(PROMPT) as run:
        return [text async for text in run.stream_text(delta=True)]


async def test_run_stream(pipelines, replay_server, instrument_after_baseline):
    assistant = agent(replay_server, pipelines)
    baseline = await streamed_text(assistant)
    instrument_after_baseline()
    assert await streamed_text(assistant) == baseline
    assert_one_span_per_request(pipelines, replay_server, requests=1, stream=True, parent=is_pydantic_ai_chat)
