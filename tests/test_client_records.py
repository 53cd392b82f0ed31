"""Every client records the same things for the same call: one span and one audit record with every required
key, the prompt hash of the messages sent, the served cost with its source, and one cost metric point, whether
the call went through the openai SDK, the openrouter SDK, httpx, httpx2 or requests."""

from __future__ import annotations

from typing import Any, Callable

import httpx
import httpx2
import openai
import pytest
import requests

from openrouter_otel import semconv as sc
from openrouter_otel.prompt_hash import prompt_hash

from .conftest import TEST_API_KEY

import openrouter  # noqa: E402 - installed by scripts/test.sh: a missing client fails, never skips

MODEL = "google/gemini-2.5-flash"
MESSAGES = [{"role": "user", "content": "Count to ten"}]
HEADERS = {"Authorization": f"Bearer {TEST_API_KEY}"}


def via_openai(server: Any) -> None:
    openai.OpenAI(base_url=server.base_url, api_key=TEST_API_KEY, max_retries=0).chat.completions.create(
        model=MODEL, messages=MESSAGES)


def via_openrouter(server: Any) -> None:
    # Streamed: the server's synthesised plain answer lacks the system_fingerprint the SDK's ChatResult requires.
    with openrouter.OpenRouter(api_key=TEST_API_KEY, server_url=server.base_url, retry_config=None) as sdk:
        list(sdk.chat.send(model=MODEL, messages=MESSAGES, stream=True))


def via_post(post: Callable[..., Any]) -> Callable[[Any], None]:
    return lambda server: post(server.base_url + "/chat/completions", json={"model": MODEL, "messages": MESSAGES},
                               headers=HEADERS)


CLIENTS = {"openai": via_openai, "openrouter": via_openrouter, "httpx": via_post(httpx.post),
           "httpx2": via_post(httpx2.post), "requests": via_post(requests.post)}


@pytest.mark.parametrize("call", CLIENTS.values(), ids=CLIENTS.keys())
def test_every_client_records_the_audit_record_prompt_hash_cost_and_metrics(instrument, replay_server, call):
    pipelines = instrument(hosts=[replay_server.base_url])
    call(replay_server)
    span = pipelines.only_span()
    [record] = pipelines.audit_records()
    served = replay_server.generation(span.attributes[sc.GEN_AI_RESPONSE_ID])["data"]
    for key in sc.AUDIT_REQUIRED_KEYS:
        assert key in record.attributes, key
    for attributes in (span.attributes, record.attributes):
        assert attributes[sc.OPENROUTER_PROMPT_HASH] == prompt_hash({"messages": MESSAGES})
        assert attributes[sc.GEN_AI_USAGE_COST] == served["total_cost"]
        assert attributes[sc.OPENROUTER_COST_SOURCE] == sc.COST_SOURCE_RESPONSE
    assert record.span_id == span.context.span_id
    assert [point.sum for point in pipelines.points(sc.METRIC_COST)] == [served["total_cost"]]
    assert pipelines.points(sc.METRIC_OPERATION_DURATION)
