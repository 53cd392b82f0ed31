"""LlamaIndex chat and stream_chat. Its OpenAI integrations (`llama-index-llms-openai`, and `-openai-like`
on top of it) pin `openai<3`, so LlamaIndex reaches the `openai` 3 SDK here through its LiteLLM integration
(`openai/<model>` with `api_base`). LlamaIndex's own instrumentation is not OpenTelemetry, so ours sit under
the application's span."""

from __future__ import annotations

from llama_index.core.llms import ChatMessage
from llama_index.llms.litellm import LiteLLM

from .conftest import API_KEY, MODEL, PROMPT, assert_one_span_per_request, is_app, scenario

MESSAGES = [ChatMessage(role="user", content=PROMPT)]


def llm(replay_server):
    return LiteLLM(model=f"openai/{MODEL}", api_base=replay_server.base_url, api_key=API_KEY, max_retries=0,
                   additional_kwargs={"extra_headers": scenario("chat")})


def test_chat(pipelines, replay_server, instrument_after_baseline, app_span):
    model = llm(replay_server)
    baseline = model.chat(MESSAGES).message.model_dump()
    instrument_after_baseline()
    with app_span():
        assert model.chat(MESSAGES).message.model_dump() == baseline
    assert_one_span_per_request(pipelines, replay_server, requests=1, stream=False, parent=is_app)


def streamed(model):
    return [(response.delta, response.message.model_dump()) for response in model.stream_chat(MESSAGES)]


def test_stream_chat(pipelines, replay_server, instrument_after_baseline, app_span):
    model = llm(replay_server)
    baseline = streamed(model)
    instrument_after_baseline()
    with app_span():
        assert streamed(model) == baseline
    assert_one_span_per_request(pipelines, replay_server, requests=1, stream=True, parent=is_app)
