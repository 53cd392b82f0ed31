"""The OpenAI Agents SDK on the Responses API, with an `AsyncOpenAI` for the replay server as its default
client and its own trace export off. It makes no OpenTelemetry spans, so ours sit under the application's."""

from __future__ import annotations

import openai
import pytest
from agents import (Agent, ModelSettings, MultiProvider, RunConfig, Runner, set_default_openai_api,
                    set_default_openai_client, set_tracing_disabled)

from .conftest import API_KEY, MODEL, PROMPT, assert_one_span_per_request, is_app, scenario

pytestmark = pytest.mark.asyncio(loop_scope="module")

# OpenRouter's model slugs (`anthropic/...`) go to the default client as they are.
RUN_CONFIG = RunConfig(model_provider=MultiProvider(unknown_prefix_mode="model_id"))


@pytest.fixture
def assistant(replay_server):
    set_tracing_disabled(True)
    set_default_openai_client(openai.AsyncOpenAI(base_url=replay_server.base_url, api_key=API_KEY, max_retries=0),
                              use_for_tracing=False)
    set_default_openai_api("responses")
    return Agent(name="assistant", instructions="Answer briefly.", model=MODEL,
                 model_settings=ModelSettings(extra_headers=scenario("responses")))


def model_response(response):
    usage = response.usage
    return (response.response_id, [item.model_dump(mode="json") for item in response.output],
            (usage.requests, usage.input_tokens, usage.output_tokens, usage.total_tokens))


def run_result(result):
    return result.final_output, [model_response(response) for response in result.raw_responses]


async def test_run(assistant, pipelines, replay_server, instrument_after_baseline, app_span):
    baseline = run_result(await Runner.run(assistant, PROMPT, run_config=RUN_CONFIG))
    instrument_after_baseline()
    with app_span():
        assert run_result(await Runner.run(assistant, PROMPT, run_config=RUN_CONFIG)) == baseline
    assert_one_span_per_request(pipelines, replay_server, requests=1, stream=False, parent=is_app)


async def streamed(assistant):
    run = Runner.run_streamed(assistant, PROMPT, run_config=RUN_CONFIG)
    events = [event.data.model_dump(mode="json") async for event in run.stream_events() if event.type == "raw_response_event"]
    return events, run_result(run)


async def test_run_streamed(assistant, pipelines, replay_server, instrument_after_baseline, app_span):
    baseline = await streamed(assistant)
    instrument_after_baseline()
    with app_span():
        assert await streamed(assistant) == baseline
    assert_one_span_per_request(pipelines, replay_server, requests=1, stream=True, parent=is_app)
