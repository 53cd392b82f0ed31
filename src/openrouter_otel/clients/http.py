"""The HTTP-level core every non-`openai` client shares: a request in, a Call; the raw response (JSON or SSE
bytes) in, the call's result and its end.

OpenRouter's wire format is the same whichever client sends it, so the extraction is the one the `openai`
wrappers use (extract.py, streams.StreamTracker); a client adapter only says where its request is and how its
response's bytes are read. A call already recorded by a higher-level wrapper (patch._current_call) is left to it.
"""

from __future__ import annotations

import json
import logging
import sys
import weakref
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping
from urllib.parse import urlsplit

from openrouter_otel import semconv as sc
from openrouter_otel.call import Call, CallState, Telemetry
from openrouter_otel.config import items
from openrouter_otel.extract import INFERENCE_PATHS, error_details
from openrouter_otel.facts import Failure
from openrouter_otel.patch import StartCall, _current_call, async_call_wrapper, sync_call_wrapper
from openrouter_otel.streams import StreamTracker, failed_outcome, record_body

logger = logging.getLogger(__name__)

OPENROUTER_HOST = "openrouter.ai"
API_PREFIX = "/api/v1/"


@dataclass(frozen=True)
class HttpRequest:
    """What a Call needs of a request, whichever client built it."""

    method: str
    url: str
    headers: Mapping[str, str]
    content: Any  # bytes, text or None


@dataclass
class _Client:
    """The request as the `client` Telemetry.start_call reads (base URL, key, default headers)."""

    base_url: str
    api_key: str | None
    _custom_headers: Any = None


@dataclass
class _Options:
    """The request as the `options` Telemetry.start_call reads (openai's FinalRequestOptions' fields)."""

    url: str
    method: str
    json_data: Any
    headers: Mapping[str, str] = field(default_factory=dict)


def start_http_call(telemetry: Telemetry, request: HttpRequest, counts_attempts: bool = False) -> Call | None:
    """A Call for an inference request, or None (another endpoint, a body that is no JSON, or any failure)."""
    try:
        parts = urlsplit(request.url)
        suffix = next((suffix for suffix in INFERENCE_PATHS if parts.path.rstrip("/").endswith(suffix)), None)
        if suffix is None:
            return None
        base_path = parts.path.rstrip("/")[: -len(suffix)]
        client = _Client(f"{parts.scheme}://{parts.netloc}{base_path}", _bearer_key(request.headers))
        options = _Options(parts.path, request.method, _json_body(request.content), dict(request.headers))
        return telemetry.start_call(client, options, counts_attempts=counts_attempts)
    except Exception:
        logger.debug("openrouter-otel: could not read an HTTP request", exc_info=True)
        return None


def _bearer_key(headers: Mapping[str, str]) -> str | None:
    value = headers.get("authorization") or headers.get("Authorization") or ""
    scheme, _, key = value.partition(" ")
    return key.strip() or None if scheme.lower() == "bearer" else None


def _json_body(content: Any) -> Any:
    if isinstance(content, (bytes, bytearray, str)) and content:
        try:
            return json.loads(content)
        except ValueError:
            return None
    return None


class HostMatcher:
    """Which URLs are OpenRouter's API: openrouter.ai and its subdomains, and the hosts or base URLs configured."""

    def __init__(self, configured: str | None) -> None:
        entries = items(configured)
        self.prefixes = tuple(entry.rstrip("/") + "/" for entry in entries if "://" in entry)
        self.hosts = frozenset(entry.lower() for entry in entries if "://" not in entry)

    def __call__(self, url: str) -> bool:
        if url.startswith(self.prefixes):
            return True
        parts = urlsplit(url)
        host = (parts.hostname or "").lower()
        known = host == OPENROUTER_HOST or host.endswith("." + OPENROUTER_HOST)
        known = known or host in self.hosts or parts.netloc.lower() in self.hosts
        return known and API_PREFIX in parts.path + "/"


# --- the wrappers, sync and async --------------------------------------------------------------

RequestOf = Callable[[tuple[Any, ...], dict[str, Any]], "HttpRequest | None"]
ResponseObserver = Callable[[Call, Any, bool], Any]


def sync_wrapper(telemetry: Telemetry, request_of: RequestOf, observe: ResponseObserver,
                 counts_attempts: bool = False) -> Callable[..., Any]:
    """A wrapt wrapper recording one call around a client's sending method (retries included when it has them).

    `counts_attempts`: the method retries over httpx, whose wrapper then counts the attempts of this call.
    """
    return sync_call_wrapper(_starter(telemetry, request_of, counts_attempts), observe)


def async_wrapper(telemetry: Telemetry, request_of: RequestOf, observe: ResponseObserver,
                  counts_attempts: bool = False) -> Callable[..., Any]:
    return async_call_wrapper(_starter(telemetry, request_of, counts_attempts), observe)


def _starter(telemetry: Telemetry, request_of: RequestOf, counts_attempts: bool) -> StartCall:
    return lambda instance, args, kwargs: _start(telemetry, request_of, args, kwargs, counts_attempts)


def host_wrapper(telemetry: Telemetry, is_async: bool, to_request: Callable[[Any], HttpRequest],
                 observe: ResponseObserver) -> Callable[..., Any]:
    """The wrapper of a general HTTP client's send(request): records only calls to OpenRouter's hosts."""
    matcher = HostMatcher(telemetry.settings.hosts)

    def request_of(args: tuple[Any, ...], kwargs: dict[str, Any]) -> HttpRequest | None:
        request = to_request(kwargs["request"] if "request" in kwargs else args[0])
        return request if matcher(request.url) else None

    return (async_wrapper if is_async else sync_wrapper)(telemetry, request_of, observe)


def _start(telemetry: Telemetry, request_of: RequestOf, args: tuple[Any, ...], kwargs: dict[str, Any],
           counts_attempts: bool) -> Call | None:
    current = _current_call.get()
    if current is not None:  # a higher-level wrapper records this call; count the HTTP attempt if it asked
        if current.counts_attempts:
            current.attempts += 1
        return None
    try:
        request = request_of(args, kwargs)
    except Exception:
        logger.debug("openrouter-otel: could not find the request of an HTTP call", exc_info=True)
        return None
    return start_http_call(telemetry, request, counts_attempts) if request is not None else None


# --- the response ------------------------------------------------------------------------------


def observe_response(call: Call, response: Any, *, status: Any, streamed: bool, body: Callable[[], bytes],
                     hook_stream: Callable[[SSEReader], None]) -> None:
    """Hand a response to the call: a read body is recorded and the call ends; a stream is followed to its end."""
    try:
        if isinstance(status, int) and status >= 400:
            call.end(failure=http_error(status, body() if not streamed else b""))
        elif not streamed:
            call.end(record_body(call, body()))
        else:
            call.hand_to(CallState.STREAMING)
            reader = SSEReader(call)
            hook_stream(reader)
            weakref.finalize(response, reader.on_collected)
    except Exception:
        logger.debug("openrouter-otel: could not observe an HTTP response", exc_info=True)
        call.end()


def http_error(status: int, content: bytes) -> Failure:
    """The failure of an HTTP error status, with OpenRouter's error object if any."""
    attributes: dict[str, Any] = {sc.HTTP_RESPONSE_STATUS_CODE: status}
    message = f"HTTP {status}"
    error = _json_body(content)
    error = error.get("error") if isinstance(error, Mapping) else None
    if isinstance(error, Mapping):
        _, error_attributes, message = error_details(error, default_type=str(status))
        attributes.update(error_attributes)
    return Failure(str(status), attributes, message)


class SSEReader:
    """Reads a stream's bytes as the caller's client reads them, into a StreamTracker; ends the call once.

    A stream ends `completed` once `[DONE]` or the end of the body is read, `error` when reading raises,
    `closed` when the response is closed before that, `abandoned` when it is collected unclosed. A body
    with no SSE event in it (one JSON document read through a stream) is recorded as a plain response.
    """

    def __init__(self, call: Call) -> None:
        self.tracker = StreamTracker(call)
        self.call = call
        self.buffer = b""
        self.data: list[str] = []
        self.done = False
        self.reading = False
        self.body: bytearray | None = bytearray()  # kept until the first SSE event shows it is a stream

    def feed(self, chunk: Any) -> None:
        try:
            chunk = chunk.encode() if isinstance(chunk, str) else bytes(chunk)
            if self.body is not None:
                self.body += chunk
            self.buffer += chunk
            *lines, self.buffer = self.buffer.split(b"\n")
            for line in lines:
                self._line(line.rstrip(b"\r").decode("utf-8", "replace"))
        except Exception:
            logger.debug("openrouter-otel: could not read stream bytes", exc_info=True)

    def _line(self, line: str) -> None:
        if line.startswith("data:"):
            self.data.append(line[5:].lstrip())
        elif not line and self.data:
            data, self.data = "\n".join(self.data), []
            if data.strip() == "[DONE]":
                self.done = True
                return
            try:
                event = json.loads(data)
            except ValueError:
                return
            self.body = None
            self.tracker.observe(event)
            if self.tracker.final is not None:
                self.done = True

    def iterate(self, chunks: Any) -> Any:
        """The chunks of a sync byte iterator, observed."""
        try:
            while True:
                self.reading = True
                try:
                    chunk = next(chunks)
                except StopIteration:
                    self.end(sc.STREAM_OUTCOME_COMPLETED)
                    return
                finally:
                    self.reading = False
                self.feed(chunk)
                self.tracker.left_loop()  # the end time if the caller reads no more and drops the stream
                yield chunk
        except GeneratorExit:
            raise
        except BaseException as exc:
            self.end(failed_outcome(exc), exc)
            raise

    async def aiterate(self, chunks: Any) -> Any:
        try:
            while True:
                self.reading = True
                try:
                    chunk = await chunks.__anext__()
                except StopAsyncIteration:
                    self.end(sc.STREAM_OUTCOME_COMPLETED)
                    return
                finally:
                    self.reading = False
                self.feed(chunk)
                self.tracker.left_loop()  # the end time if the caller reads no more and drops the stream
                yield chunk
        except GeneratorExit:
            raise
        except BaseException as exc:
            self.end(failed_outcome(exc), exc)
            raise

    def on_close(self) -> None:
        if not self.reading:  # closed by the client itself at the end of the body: iterate() ends the call
            self.end(sc.STREAM_OUTCOME_COMPLETED if self.done else _closed_outcome())

    def on_collected(self) -> None:
        self.end(sc.STREAM_OUTCOME_COMPLETED if self.done else sc.STREAM_OUTCOME_ABANDONED)

    def end(self, outcome: str, error: BaseException | None = None) -> None:
        if self.buffer:  # a body that does not end with a newline
            self.feed(b"\n")
        if self.data:
            self._line("")
        if self.body and self.body.lstrip().startswith(b"{"):
            failure = Failure.of_exception(error) if error is not None else None
            self.call.end(record_body(self.call, bytes(self.body)), failure)
            return
        self.tracker.end(outcome, error)



def _closed_outcome() -> str:
    # A response closed while a GeneratorExit is handled is closed by the `finally` of a generator that was
    # discarded unfinished (the openrouter SDK's event generator, when its stream is collected): abandoned.
    return sc.STREAM_OUTCOME_ABANDONED if isinstance(sys.exc_info()[1], GeneratorExit) else sc.STREAM_OUTCOME_CLOSED
