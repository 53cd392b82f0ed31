"""Frameworks that reach OpenRouter without the `openai` SDK: LiteLLM's `openrouter/` route (its own httpx
handler) and DSPy's default engine, recorded by the HTTP-level wrappers with the replay server as a configured
OpenRouter host, once per request even where the openai SDK is underneath too."""

from __future__ import annotations

from typing import Any

import litellm
import pytest

from .conftest import API_KEY, MODEL, PROMPT, assert_one_span_per_request, is_app, without

pytestmark = pytest.mark.asyncio(loop_scope="module")

MESSAGES = [{"role": "user", "content": PROMPT}]
# The replay server stamps `created` with the current second: two runs may straddle one.
STAMPED = frozenset({"created"})


def litellm_request(replay_server: Any, **options: Any) -> dict[str, Any]:
    return dict(model=f"openrouter/{MODEL}", api_base=replay_server.base_url, api_key=API_KEY, messages=MESSAGES,
                max_retries=0, **options)


def test_litellm_openrouter_route(pipelines, replay_server, instrument_hosts, app_span):
    baseline = without(litellm.completion(**litellm_request(replay_server)).model_dump(), STAMPED)
    instrument_hosts()
    with app_span():
        assert without(litellm.completion(**litellm_request(replay_server)).model_dump(), STAMPED) == baseline
    assert_one_span_per_request(pipelines, replay_server, requests=1, stream=False, parent=is_app)


def test_litellm_openrouter_route_stream(pipelines, replay_server, instrument_hosts, app_span):
    def stream() -> list[Any]:
        chunks = litellm.completion(**litellm_request(replay_server, stream=True))
        return without([chunk.model_dump() for chunk in chunks], STAMPED)

    baseline = stream()
    instrument_hosts()
    with app_span():
        assert stream() == baseline
    assert_one_span_per_request(pipelines, replay_server, requests=1, stream=True, parent=is_app)


async def test_litellm_openrouter_route_async(pipelines, replay_server, instrument_hosts, app_span):
    baseline = without((await litellm.acompletion(**litellm_request(replay_server))).model_dump(), STAMPED)
    instrument_hosts()
    with app_span():
        assert without((await litellm.acompletion(**litellm_request(replay_server))).model_dump(), STAMPED) == baseline
    assert_one_span_per_request(pipelines, replay_server, requests=1, stream=False, parent=is_app)


# DSPy 3.4's default engine: `openrouter/` models through LiteLLM's own httpx handler, `openai/` models through
# the openai SDK (over httpx2): each is one span, whichever wrapper sees it first.
@pytest.mark.parametrize("route", ["openrouter", "openai"])
def test_dspy_default_engine(pipelines, replay_server, instrument_hosts, app_span, route):
    import dspy  # imported here: importing it sets LiteLLM up, which the other tests of this module must not see

    lm = dspy.LM(f"{route}/{MODEL}", api_base=replay_server.base_url, api_key=API_KEY, cache=False, num_retries=0)
    baseline = lm(PROMPT)
    instrument_hosts()
    with app_span():
        assert lm(PROMPT) == baseline
    assert_one_span_per_request(pipelines, replay_server, requests=1, stream=False, parent=is_app)


async def test_dspy_default_engine_async(pipelines, replay_server, instrument_hosts, app_span):
    import dspy

    lm = dspy.LM(f"openrouter/{MODEL}", api_base=replay_server.base_url, api_key=API_KEY, cache=False, num_retries=0)
    baseline = await lm.acall(PROMPT)
    instrument_hosts()
    with app_span():
        assert await lm.acall(PROMPT) == baseline
    assert_one_span_per_request(pipelines, replay_server, requests=1, stream=False, parent=is_app)


def test_uninstrument_removes_the_dspy_transport_wrappers(instrument):
    import wrapt
    from dspy._vendor.lm15.transports import _sync as transports

    instrument()
    assert isinstance(vars(transports.StdlibTransport)["stream"], wrapt.FunctionWrapper)
    from openrouter_otel import OpenRouterInstrumentor

    OpenRouterInstrumentor().uninstrument()
    assert not isinstance(vars(transports.StdlibTransport)["stream"], wrapt.FunctionWrapper)
