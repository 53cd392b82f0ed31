"""Property: whichever client calls OpenRouter, what the caller receives is identical with and without us, and each
call is one span, ended once.

The clients are the ones recorded below the `openai` SDK (tests/test_never_interferes.py covers that one): the
official `openrouter` SDK (sync and async; chat, responses and embeddings, streamed or not), plain `httpx` and
`httpx2` (sync and async) and `requests`, each sending a generated request (model, messages, stream or not) to the
replay server, a configured OpenRouter host, which serves a generated answer or error. A stream is read as the
example says: with any of the client's readers and chunk sizes, fully or left after k chunks, and then closed,
left by its `with` block or dropped and collected. The bytes, text, chunks or parsed objects received (or the
exception raised) must be equal; the instrumented run must add exactly one span, ended once (no "ended span"
warning from the SDK) with the stream outcome the reading implies.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import itertools
import logging
from typing import Any, Callable, Iterator

import httpx
import httpx2
import pytest
import requests
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from openrouter_otel import OpenRouterInstrumentor
from openrouter_otel import semconv as sc
from openrouter_otel.server.replay import (
    CannedResponse,
    chat_completion_body,
    chat_stream_events,
    embeddings_body,
    error_body,
    responses_body,
    responses_stream_events,
)

from .conftest import TEST_API_KEY

import openrouter  # noqa: E402 - installed by scripts/test.sh: a missing client fails, never skips

EXAMPLES = 60
_tokens = itertools.count()

# See tests/test_never_interferes.py: other code in the process moves the global `random` state between draws.
pytestmark = pytest.mark.filterwarnings("ignore:Do not use the `random` module inside strategies")
PROPERTY = settings(max_examples=EXAMPLES, deadline=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


@pytest.fixture(scope="module", autouse=True)
def _no_garbage_from_earlier_tests() -> None:
    gc.collect()


# --- what is asked and what is served --------------------------------------------------------------------------

models = st.sampled_from(["google/gemini-2.5-flash", "anthropic/claude-sonnet-4.5", "openai/gpt-4o-mini"])
messages = st.lists(st.fixed_dictionaries({"role": st.sampled_from(["system", "user", "assistant"]),
                                           "content": st.text(max_size=24)}), min_size=1, max_size=3)
pieces = st.lists(st.text(min_size=1, max_size=8), min_size=1, max_size=6)
statuses = st.sampled_from([200, 200, 200, 200, 200, 400, 402, 429, 500])
PROVIDER = "Google AI Studio"


@st.composite
def served(draw: Any, operation: str, stream: bool) -> CannedResponse:
    status = draw(statuses)
    if status != 200:
        return CannedResponse(status=status, body=error_body(status, draw(st.text(max_size=20))))
    model = draw(models)
    if operation == "embeddings":
        return CannedResponse(body=embeddings_body(model=model, inputs=["hello"], provider=PROVIDER))
    if operation == "responses":
        if stream:
            return CannedResponse(sse_events=responses_stream_events(model=model, pieces=draw(pieces),
                                                                     provider=PROVIDER))
        # The SDK's OpenResponsesResult requires the penalties, which OpenRouter echoes back.
        body = responses_body(model=model, text="".join(draw(pieces)), provider=PROVIDER)
        return CannedResponse(body={**body, "frequency_penalty": 0.0, "presence_penalty": 0.0})
    if stream:
        return CannedResponse(sse_events=chat_stream_events(model=model, pieces=draw(pieces), provider=PROVIDER))
    # The SDK's ChatResult requires system_fingerprint (nullable), which OpenRouter sends as null.
    body = chat_completion_body(model=model, content="".join(draw(pieces)), provider=PROVIDER)
    return CannedResponse(body={**body, "system_fingerprint": None})


def register(server: Any, canned: CannedResponse) -> dict[str, str]:
    return {"Authorization": f"Bearer {TEST_API_KEY}",
            **server.register(f"clients-{next(_tokens)}", canned, repeat=True)}


# How a stream is read: `stop` chunks (None: all of them), then `end`: "exit" its `with` block, "close" it or
# "drop" it unclosed to be collected.
ENDS = ("exit", "close", "drop")
stops = st.one_of(st.none(), st.integers(0, 6))


# --- the comparison -------------------------------------------------------------------------------------------


class _EndedTwice(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


@contextlib.contextmanager
def sdk_warnings() -> Iterator[list[str]]:
    handler = _EndedTwice()
    sdk_logger = logging.getLogger("opentelemetry.sdk.trace")
    sdk_logger.addHandler(handler)
    try:
        yield handler.messages
    finally:
        sdk_logger.removeHandler(handler)


def outcome(run: Callable[[], Any]) -> Any:
    try:
        return ("value", run())
    except Exception as error:  # the outcome under test includes which exception, and its text
        return ("raised", type(error).__qualname__, str(error))


def assert_never_interferes(pipelines: Any, server: Any, received: Callable[[], Any],
                            outcomes: frozenset[str] | None) -> None:
    """`received` gets the same with and without instrumentation; instrumented, it is one span ended once, whose
    stream outcome (when `outcomes` names the possible ones) is one of `outcomes`."""
    plain = outcome(received)
    instrumentor = OpenRouterInstrumentor()
    instrumentor.instrument(**pipelines.providers(), hosts=[server.base_url])
    pipelines.span_exporter.clear()
    try:
        with sdk_warnings() as warned:
            instrumented = outcome(received)
            gc.collect()
    finally:
        instrumentor.uninstrument()
    assert instrumented == plain
    [span] = pipelines.spans()
    assert not warned, warned
    if outcomes is not None and span.attributes.get(sc.ERROR_TYPE) is None:
        assert span.attributes.get(sc.OPENROUTER_STREAM_OUTCOME) in outcomes, dict(span.attributes)


def stream_outcomes(stop: int | None, end: str) -> frozenset[str]:
    if stop is None:
        return frozenset({"completed"})
    if end == "drop":
        return frozenset({"completed", sc.STREAM_OUTCOME_ABANDONED})
    # httpx2 closes the response as soon as the caller drops the iterator it left, before any close: abandoned.
    return frozenset({"completed", "closed", sc.STREAM_OUTCOME_ABANDONED})


def take(items: Any, stop: int | None) -> list[Any]:
    taken: list[Any] = []
    if stop == 0:
        return taken
    for item in items:
        taken.append(item)
        if len(taken) == stop:
            break
    return taken


async def atake(items: Any, stop: int | None) -> list[Any]:
    taken: list[Any] = []
    if stop == 0:
        return taken
    async for item in items:
        taken.append(item)
        if len(taken) == stop:
            break
    return taken


def read_and_leave(response: Any, read: Callable[[Any], Any], end: str) -> tuple[int, Any]:
    """The status and what `read` reads of a response passed in as its only reference, then closed or dropped."""
    status, chunks = response.status_code, read(response)
    if end == "close":
        response.close()
    del response
    gc.collect()
    return status, chunks


async def collected() -> None:
    gc.collect()
    for _ in range(3):  # the loop closes collected async generators in tasks of its own
        await asyncio.sleep(0)


# --- the official openrouter SDK ----------------------------------------------------------------------------


def sdk_request(operation: str, model: str, chat: list[dict[str, str]], stream: bool) -> tuple[str, dict[str, Any]]:
    if operation == "embeddings":
        return "generate", {"model": model, "input": chat[0]["content"]}
    if operation == "responses":
        return "send", {"model": model, "input": chat[0]["content"], "stream": stream}
    return "send", {"model": model, "messages": chat, "stream": stream}


def sdk_client(server: Any) -> Any:
    # No retries: the served 5xx answers every attempt, and the SDK's default backoff would retry for minutes.
    return openrouter.OpenRouter(api_key=TEST_API_KEY, server_url=server.base_url, retry_config=None)


def dump(value: Any) -> Any:
    return value.model_dump() if hasattr(value, "model_dump") else value


@PROPERTY
@given(is_async=st.booleans(), operation=st.sampled_from(["chat", "chat", "responses", "embeddings"]),
       model=models, chat=messages, stream=st.booleans(), stop=stops, end=st.sampled_from(ENDS), data=st.data())
def test_openrouter_sdk_never_interferes(pipelines, replay_server, is_async, operation, model, chat, stream, stop,
                                         end, data):
    stream = stream and operation != "embeddings"
    headers = register(replay_server, data.draw(served(operation, stream), label="served"))
    method, request = sdk_request(operation, model, chat, stream)

    def sync_received() -> Any:
        with sdk_client(replay_server) as sdk:
            result = getattr(getattr(sdk, operation), method)(**request, http_headers=headers)
            if not stream:
                return dump(result)
            if end == "exit":
                with result:
                    return [dump(item) for item in take(result, stop)]
            items = [dump(item) for item in take(result, stop)]
            if end == "close":
                result.close()
            del result
            gc.collect()
            return items

    async def async_received() -> Any:
        async with sdk_client(replay_server) as sdk:
            result = await getattr(getattr(sdk, operation), f"{method}_async")(**request, http_headers=headers)
            if not stream:
                return dump(result)
            if end == "exit":
                async with result:
                    return [dump(item) for item in await atake(result, stop)]
            items = [dump(item) for item in await atake(result, stop)]
            if end == "close":
                await result.close()
            del result
            await collected()
            return items

    received = (lambda: asyncio.run(async_received())) if is_async else sync_received
    assert_never_interferes(pipelines, replay_server, received, stream_outcomes(stop, end) if stream else None)


# --- plain httpx and httpx2 ---------------------------------------------------------------------------------

# A streamed response's readers: name, whether it takes a chunk size. `read` reads the whole body.
HTTPX_READERS = (("iter_bytes", True), ("iter_text", True), ("iter_lines", False), ("iter_raw", True), ("read", False))
chunk_sizes = st.sampled_from([None, 1, 7, 64, 4096])


def chat_request(model: str, chat: list[dict[str, str]], stream: bool) -> dict[str, Any]:
    return {"model": model, "messages": chat, "stream": stream}


def httpx_outcomes(sse: bool, reader: str, stop: int | None, end: str) -> frozenset[str] | None:
    # iter_raw reads below iter_bytes, where the stream is observed: such a call ends at the close, unread.
    if not sse or reader == "iter_raw":
        return None
    return stream_outcomes(None if reader == "read" else stop, end)


@PROPERTY
@given(module=st.sampled_from([httpx, httpx2]), is_async=st.booleans(), model=models, chat=messages,
       stream=st.booleans(), streamed=st.booleans(), reader=st.sampled_from(HTTPX_READERS), size=chunk_sizes,
       stop=stops, end=st.sampled_from(ENDS), data=st.data())
def test_httpx_never_interferes(pipelines, replay_server, module, is_async, model, chat, stream, streamed, reader,
                                size, stop, end, data):
    """`streamed`: the response is read as a stream (`client.stream`, `send(stream=True)`), else by `post`."""
    headers = register(replay_server, data.draw(served("chat", stream), label="served"))
    url = replay_server.base_url + "/chat/completions"
    body = chat_request(model, chat, stream)
    name, sized = reader
    args = (size,) if sized else ()

    def read(response: Any) -> Any:
        return [response.read()] if name == "read" else take(getattr(response, name)(*args), stop)

    async def aread(response: Any) -> Any:
        return [await response.aread()] if name == "read" else await atake(getattr(response, "a" + name)(*args), stop)

    def sync_received() -> Any:
        with module.Client() as client:
            if not streamed:
                response = client.post(url, json=body, headers=headers)
                return response.status_code, response.content
            if end == "exit":
                with client.stream("POST", url, json=body, headers=headers) as response:
                    return response.status_code, read(response)
            return read_and_leave(client.send(client.build_request("POST", url, json=body, headers=headers),
                                              stream=True), read, end)

    async def async_received() -> Any:
        async with module.AsyncClient() as client:
            if not streamed:
                response = await client.post(url, json=body, headers=headers)
                return response.status_code, response.content
            if end == "exit":
                async with client.stream("POST", url, json=body, headers=headers) as response:
                    return response.status_code, await aread(response)
            response = await client.send(client.build_request("POST", url, json=body, headers=headers), stream=True)
            status, chunks = response.status_code, await aread(response)
            if end == "close":
                await response.aclose()
            del response
            await collected()
            return status, chunks

    received = (lambda: asyncio.run(async_received())) if is_async else sync_received
    assert_never_interferes(pipelines, replay_server, received, httpx_outcomes(streamed and stream, name, stop, end))


# --- requests -----------------------------------------------------------------------------------------------

REQUESTS_READERS = ("iter_content", "iter_lines", "content", "raw")


@PROPERTY
@given(model=models, chat=messages, stream=st.booleans(), streamed=st.booleans(),
       reader=st.sampled_from(REQUESTS_READERS), size=chunk_sizes, stop=stops, end=st.sampled_from(ENDS),
       data=st.data())
def test_requests_never_interferes(pipelines, replay_server, model, chat, stream, streamed, reader, size, stop, end,
                                   data):
    headers = register(replay_server, data.draw(served("chat", stream), label="served"))
    url = replay_server.base_url + "/chat/completions"
    body = chat_request(model, chat, stream)

    def read(response: requests.Response) -> Any:
        if reader == "content":
            return [response.content]
        if reader == "raw":  # urllib3's response, below iter_content
            return [response.raw.read()]
        return take(getattr(response, reader)(chunk_size=size), stop)

    def received() -> Any:
        with requests.Session() as session:
            if end == "exit":
                with session.post(url, json=body, headers=headers, stream=streamed) as response:
                    return response.status_code, read(response)
            return read_and_leave(session.post(url, json=body, headers=headers, stream=streamed), read, end)

    outcomes = None
    if streamed and stream and reader != "raw":  # raw reads below iter_content, where the stream is observed
        outcomes = stream_outcomes(None if reader == "content" else stop, end)
    assert_never_interferes(pipelines, replay_server, received, outcomes)
