"""Plain httpx, httpx2 and requests calls to OpenRouter, driven for real against the replay server (a configured
OpenRouter host): one span per call with what was served, streams ending once, nothing recorded twice under
the openai or openrouter SDKs, and other hosts and endpoints left alone."""

from __future__ import annotations

import json
from typing import Any

import httpx
import httpx2
import pytest
import requests
import wrapt

from openrouter_otel import OpenRouterInstrumentor
from openrouter_otel import semconv as sc
from openrouter_otel.clients.http import HostMatcher
from openrouter_otel.extract import api_key_fingerprint

from .conftest import TEST_API_KEY

MODEL = "google/gemini-2.5-flash"
BODY = {"model": MODEL, "messages": [{"role": "user", "content": "Count to ten"}]}
STREAM_BODY = {**BODY, "stream": True}
HEADERS = {"Authorization": f"Bearer {TEST_API_KEY}", "X-Title": "http-test"}


@pytest.fixture
def traced(instrument: Any, replay_server: Any) -> Any:
    return instrument(hosts=[replay_server.base_url])


def url(server: Any, path: str = "/chat/completions") -> str:
    return server.base_url + path


def sse_payloads(text: str) -> list[dict[str, Any]]:
    return [json.loads(line[5:]) for line in text.splitlines()
            if line.startswith("data:") and line[5:].strip() != "[DONE]"]


def assert_served(span: Any, served: dict[str, Any]) -> None:
    attributes = span.attributes
    assert attributes[sc.GEN_AI_OPERATION_NAME] == sc.OPERATION_CHAT
    assert attributes[sc.GEN_AI_PROVIDER_NAME] == sc.PROVIDER_OPENROUTER
    assert attributes[sc.GEN_AI_REQUEST_MODEL] == MODEL
    assert attributes[sc.GEN_AI_RESPONSE_MODEL] == served["model"]
    assert attributes[sc.OPENROUTER_PROVIDER] == served["provider"]
    assert attributes[sc.GEN_AI_RESPONSE_ID] == served["id"]
    assert attributes[sc.GEN_AI_USAGE_COST] == served["usage"]["cost"]
    assert attributes[sc.OPENROUTER_API_KEY_FINGERPRINT] == api_key_fingerprint(TEST_API_KEY)
    assert attributes[sc.OPENROUTER_APP_TITLE] == "http-test"


def streamed_summary(payloads: list[dict[str, Any]]) -> dict[str, Any]:
    usage = next(payload["usage"] for payload in payloads if payload.get("usage"))
    return {**payloads[0], "usage": usage}


@pytest.mark.parametrize("module", [httpx, httpx2], ids=["httpx", "httpx2"])
def test_httpx_post_is_one_span(traced, replay_server, module):
    response = module.post(url(replay_server), json=BODY, headers=HEADERS)
    assert_served(traced.only_span(), response.json())
    [record] = traced.audit_records()
    assert record.attributes[sc.GEN_AI_USAGE_COST] == response.json()["usage"]["cost"]


async def test_async_httpx_post_is_one_span(traced, replay_server):
    async with httpx.AsyncClient() as client:
        response = await client.post(url(replay_server), json=BODY, headers=HEADERS)
    assert_served(traced.only_span(), response.json())


def test_httpx_stream_read_to_the_end(traced, replay_server):
    with httpx.stream("POST", url(replay_server), json=STREAM_BODY, headers=HEADERS) as response:
        text = "\n".join(response.iter_lines())
    span = traced.only_span()
    assert_served(span, streamed_summary(sse_payloads(text)))
    assert span.attributes[sc.OPENROUTER_STREAM_OUTCOME] == "completed"
    assert span.attributes[sc.GEN_AI_RESPONSE_TIME_TO_FIRST_CHUNK] > 0
    assert len(traced.audit_records()) == 1


async def test_async_httpx_stream_read_to_the_end(traced, replay_server):
    async with httpx.AsyncClient() as client:
        async with client.stream("POST", url(replay_server), json=STREAM_BODY, headers=HEADERS) as response:
            text = "\n".join([line async for line in response.aiter_lines()])
    span = traced.only_span()
    assert_served(span, streamed_summary(sse_payloads(text)))
    assert span.attributes[sc.OPENROUTER_STREAM_OUTCOME] == "completed"


def test_httpx_stream_left_early_ends_once_as_closed(traced, replay_server):
    body = {**STREAM_BODY, "model": "scenario/slow_stream"}
    with httpx.stream("POST", url(replay_server), json=body, headers=HEADERS) as response:
        for _line in response.iter_lines():
            break
        assert traced.spans() == []
    assert traced.only_span().attributes[sc.OPENROUTER_STREAM_OUTCOME] == "closed"
    assert len(traced.audit_records()) == 1


def test_requests_post_and_stream(traced, replay_server):
    plain = requests.post(url(replay_server), json=BODY, headers=HEADERS)
    with requests.post(url(replay_server), json=STREAM_BODY, headers=HEADERS, stream=True) as streamed:
        text = "\n".join(line.decode() for line in streamed.iter_lines())
    first, second = traced.spans()
    assert_served(first, plain.json())
    assert_served(second, streamed_summary(sse_payloads(text)))
    assert second.attributes[sc.OPENROUTER_STREAM_OUTCOME] == "completed"
    assert len(traced.audit_records()) == 2


def test_requests_error_status_is_an_error_span(traced, replay_server):
    response = requests.post(url(replay_server), json=BODY, headers={**HEADERS, "X-Replay-Scenario": "credits_402"})
    assert response.status_code == 402
    attributes = traced.only_span().attributes
    assert attributes[sc.ERROR_TYPE] == "402"
    assert attributes[sc.HTTP_RESPONSE_STATUS_CODE] == 402
    [record] = traced.audit_records()
    assert record.attributes[sc.OPENROUTER_STATUS] == "error"


def test_other_hosts_and_endpoints_are_left_alone(instrument, replay_server):
    pipes = instrument()  # the replay server is not a configured OpenRouter host here
    httpx.post(url(replay_server), json=BODY, headers=HEADERS)
    requests.post(url(replay_server), json=BODY, headers=HEADERS)
    assert pipes.spans() == []
    OpenRouterInstrumentor().uninstrument()
    pipes = instrument(hosts=[replay_server.base_url])
    httpx.get(url(replay_server, "/models"))
    requests.get(url(replay_server, "/models"))
    assert pipes.spans() == []


def test_host_matcher():
    matches = HostMatcher("gateway.internal, 10.0.0.5:8080, https://proxy.example/openrouter/api/v1")
    assert matches("https://openrouter.ai/api/v1/chat/completions")
    assert matches("https://eu.openrouter.ai/api/v1/chat/completions")
    assert matches("https://gateway.internal/api/v1/embeddings")
    assert matches("http://10.0.0.5:8080/api/v1/responses")
    assert matches("https://proxy.example/openrouter/api/v1/chat/completions")
    assert not matches("https://openrouter.ai/docs/chat/completions")
    assert not matches("https://api.openai.com/v1/chat/completions")
    assert not matches("https://notopenrouter.ai/api/v1/chat/completions")
    assert not matches("http://10.0.0.5:9090/api/v1/responses")


def test_openai_sdk_over_httpx2_is_recorded_once(traced, client):
    client.chat.completions.create(model=MODEL, messages=BODY["messages"])
    stream = client.chat.completions.create(model=MODEL, messages=BODY["messages"], stream=True)
    list(stream)
    assert len(traced.spans()) == 2
    assert len(traced.audit_records()) == 2


def test_results_are_identical_with_and_without_instrumentation(pipelines, replay_server):
    def run() -> list[Any]:
        with httpx.stream("POST", url(replay_server), json=STREAM_BODY, headers=HEADERS) as streamed:
            lines = list(streamed.iter_lines())
        with requests.post(url(replay_server), json=STREAM_BODY, headers=HEADERS, stream=True) as chunked:
            chunks = list(chunked.iter_content(chunk_size=None))
        return [httpx.post(url(replay_server), json=BODY, headers=HEADERS).content,
                requests.post(url(replay_server), json=BODY, headers=HEADERS).content, lines, b"".join(chunks)]

    plain = run()
    OpenRouterInstrumentor().instrument(**pipelines.providers(), hosts=[replay_server.base_url])
    try:
        instrumented = run()
    finally:
        OpenRouterInstrumentor().uninstrument()
    assert instrumented == plain
    assert len(pipelines.spans()) == 4


def test_uninstrument_removes_the_wrappers(instrument):
    instrument()
    assert isinstance(vars(httpx.Client)["send"], wrapt.FunctionWrapper)
    assert isinstance(vars(requests.Session)["send"], wrapt.FunctionWrapper)
    OpenRouterInstrumentor().uninstrument()
    for cls in (httpx.Client, httpx.AsyncClient, httpx2.Client, httpx2.AsyncClient, requests.Session):
        assert not isinstance(vars(cls)["send"], wrapt.FunctionWrapper), cls


def test_abandoned_httpx_stream_ends_once_when_collected(traced, replay_server):
    import gc

    client = httpx.Client()
    request = client.build_request("POST", url(replay_server), json=STREAM_BODY, headers=HEADERS)
    response = client.send(request, stream=True)
    next(response.iter_bytes())
    assert traced.spans() == []
    del response
    gc.collect()
    assert traced.only_span().attributes[sc.OPENROUTER_STREAM_OUTCOME] == sc.STREAM_OUTCOME_ABANDONED
    assert len(traced.audit_records()) == 1
    client.close()


@pytest.fixture(scope="module")
def served_sse(replay_server: Any) -> bytes:
    with httpx.stream("POST", url(replay_server), json=STREAM_BODY, headers=HEADERS) as response:
        return response.read()


def test_stream_bytes_split_anywhere_record_the_same_and_reach_the_caller_unchanged(traced, served_sse):
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    served = streamed_summary(sse_payloads(served_sse.decode()))

    @settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(st.lists(st.integers(0, len(served_sse)), max_size=12).map(sorted))
    def check(cuts: list[int]) -> None:
        bounds = [0, *cuts, len(served_sse)]
        chunks = [served_sse[start:end] for start, end in zip(bounds, bounds[1:])]
        transport = httpx.MockTransport(lambda request: httpx.Response(
            200, headers={"content-type": "text/event-stream"}, stream=_Chunks(chunks)))
        traced.span_exporter.clear()
        with httpx.Client(transport=transport) as client:  # openrouter.ai itself: no network, a mock transport
            with client.stream("POST", "https://openrouter.ai/api/v1/chat/completions", json=STREAM_BODY,
                               headers=HEADERS) as response:
                assert b"".join(response.iter_bytes()) == served_sse
        span = traced.only_span()
        assert_served(span, served)
        assert span.attributes[sc.OPENROUTER_STREAM_OUTCOME] == "completed"

    check()


class _Chunks(httpx.SyncByteStream):
    def __init__(self, chunks: list[bytes]) -> None:
        self.chunks = chunks

    def __iter__(self) -> Any:
        yield from self.chunks
