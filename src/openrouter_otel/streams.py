"""Streams and lazily-read responses: observe what the caller reads, end the span exactly once.

A stream's span ends when the stream is exhausted, raises, is closed (directly, by a `with` block, by
the SDK's stream helpers or by closing the HTTP response), is broken out of, or is garbage-collected
after being abandoned. The proxies yield exactly what the SDK yields; per chunk they keep a reference
or two and read a couple of fields, nothing more.
"""

from __future__ import annotations

import asyncio
import importlib
import inspect
import json
import logging
import time
import weakref
from typing import Any

import wrapt

from openrouter_otel import semconv as sc
from openrouter_otel.call import Call, CallState
from openrouter_otel.content import StreamedContent
from openrouter_otel.extract import as_int, get, response_attributes, response_error
from openrouter_otel.facts import Failure, Response, Usage

logger = logging.getLogger(__name__)

_RESPONSE_DONE_EVENTS = frozenset({"response.completed", "response.incomplete", "response.failed"})


class StreamTracker:
    """What has been seen of one streamed response; ends its call, once, with the Response it adds up to.

    Chunks are SDK models, or plain dicts when SSE bytes are read (clients/http.py, `record_body`).
    """

    __slots__ = ("call", "responses_api", "first", "last", "usage", "final", "finish", "content", "reading",
                 "left_at")

    def __init__(self, call: Call) -> None:
        self.call = call
        self.responses_api = call.is_responses_api
        self.first: Any = None
        self.last: Any = None
        self.usage: Any = None
        self.final: Any = None
        self.finish: dict[int, str] = {}
        self.content: StreamedContent | None = StreamedContent() if call.capture_content else None
        self.reading = False  # inside the wrapped stream's next(): an HTTP close then is the stream's own
        # When the caller last left a `for` loop over the stream without finishing it. The SDK's stream carries
        # on where it stopped if a new loop starts (LiteLLM reads one chunk per loop), so leaving a loop does not
        # end the call; if nothing resumes, this is the end time the span gets when the stream is collected.
        self.left_at: tuple[int, float] | None = None

    def left_loop(self) -> None:
        self.left_at = (time.time_ns(), time.perf_counter())

    def observe(self, item: Any, timed: bool = True) -> None:
        if self.first is None:
            self.first = item
            if timed:
                self.call.mark_first_chunk()
        self.last = item
        try:
            if self.responses_api:
                self._observe_event(item)
            else:
                self._observe_chunk(item)
        except Exception:
            logger.debug("openrouter-otel: could not read a stream chunk", exc_info=True)

    def _observe_chunk(self, chunk: Any) -> None:
        usage = get(chunk, "usage")
        if usage is not None:
            self.usage = usage
        for choice in get(chunk, "choices") or ():
            index = as_int(get(choice, "index")) or 0
            reason = get(choice, "finish_reason")
            if reason is not None:
                self.finish[index] = reason
            if self.content is not None:
                self.content.add_choice(index, choice)

    def _observe_event(self, event: Any) -> None:
        event_type = get(event, "type")
        if event_type in _RESPONSE_DONE_EVENTS:
            self.final = get(event, "response")
        elif self.content is not None and event_type == "response.output_text.delta":
            self.content.add_text(0, get(event, "delta"))

    # --- the end ------------------------------------------------------------------------------

    def end(self, outcome: str, error: BaseException | None = None) -> None:
        if self.call.ended:
            return
        try:
            response = self.response(cut=outcome != sc.STREAM_OUTCOME_COMPLETED)
        except Exception:
            logger.debug("openrouter-otel: could not summarise a stream", exc_info=True)
            response = None
        failure = Failure.of_exception(error) if error is not None else None
        at = self.left_at if outcome == sc.STREAM_OUTCOME_ABANDONED else None
        self.call.end(response, failure, outcome=outcome, at=at)

    def failed(self, exc: BaseException) -> None:
        self.end(failed_outcome(exc), exc)

    def response(self, cut: bool = False) -> Response:
        """The Response the stream added up to; a stream `cut` before its end finishes its open choices with `error`."""
        capture = self.content is not None
        if self.final is not None:
            return Response.parse(self.final, capture)
        attributes: dict[str, Any] = {}
        for item in (self.first, self.last):
            if item is not None:
                attributes.update(response_attributes(item))
        finish = self._finish_reasons(cut)
        if finish:
            attributes[sc.GEN_AI_RESPONSE_FINISH_REASONS] = [finish[index] for index in sorted(finish)]
        error = response_error(self.last) if self.last is not None else None
        return Response(
            attributes=attributes,
            usage=Usage.parse(self.usage),
            failure=Failure(*error) if error is not None else None,
            output_messages=self.content.messages(finish) if self.content is not None else None,
        )

    def _finish_reasons(self, cut: bool) -> dict[int, str]:
        if not cut:
            return self.finish
        seen = set(self.content.texts) | set(self.content.tool_calls) if self.content is not None else set()
        open_choices = (seen | {0}) - set(self.finish)
        return {**self.finish, **{index: sc.FINISH_REASON_ERROR for index in open_choices}}

    # --- how the end arrives ------------------------------------------------------------------

    def on_http_close(self) -> None:
        # The SDK closes the HTTP response itself at the end of iteration; that end is handled there.
        if not self.reading:
            self.end(sc.STREAM_OUTCOME_CLOSED)

    def on_collected(self) -> None:
        self.end(sc.STREAM_OUTCOME_ABANDONED)

    def resumed(self) -> None:
        self.left_at = None


def failed_outcome(exc: BaseException) -> str:
    """The outcome of a stream whose reading raised: the caller's cancellation, or an error."""
    return sc.OUTCOME_CANCELLED if isinstance(exc, asyncio.CancelledError) else sc.STREAM_OUTCOME_ERROR


def hook_http_close(http_response: Any, on_close: Any, is_async: bool) -> None:
    """Call `on_close` after the HTTP response is closed, by whoever closes it."""
    name = "aclose" if is_async else "close"
    original = getattr(http_response, name, None)
    if original is None:
        return
    if is_async:

        async def aclose() -> None:
            try:
                await original()
            finally:
                on_close()

        setattr(http_response, name, aclose)
    else:

        def close() -> None:
            try:
                original()
            finally:
                on_close()

        setattr(http_response, name, close)


class _TrackedProxy(wrapt.ObjectProxy):  # type: ignore[misc]
    def __init__(self, wrapped: Any, tracker: StreamTracker) -> None:
        super().__init__(wrapped)
        self._self_tracker = tracker
        weakref.finalize(self, tracker.on_collected)


class StreamProxy(_TrackedProxy):
    """An `openai.Stream` that reports to a StreamTracker; `isinstance(x, openai.Stream)` still holds."""

    def __iter__(self) -> Any:
        tracker = self._self_tracker
        iterator = iter(self.__wrapped__)
        observe = tracker.observe
        tracker.resumed()
        try:
            while True:
                tracker.reading = True
                try:
                    item = next(iterator)
                except StopIteration:
                    tracker.end(sc.STREAM_OUTCOME_COMPLETED)
                    return
                finally:
                    tracker.reading = False
                observe(item)
                yield item
        except GeneratorExit:  # the caller left the loop: the stream may still be read on (see left_at)
            tracker.left_loop()
            raise
        except BaseException as exc:
            tracker.failed(exc)
            raise

    def __next__(self) -> Any:
        tracker = self._self_tracker
        tracker.resumed()
        tracker.reading = True
        try:
            item = self.__wrapped__.__next__()
        except StopIteration:
            tracker.reading = False
            tracker.end(sc.STREAM_OUTCOME_COMPLETED)
            raise
        except BaseException as exc:
            tracker.reading = False
            tracker.failed(exc)
            raise
        tracker.reading = False
        tracker.observe(item)
        return item

    def __enter__(self) -> Any:
        self.__wrapped__.__enter__()
        return self

    def __exit__(self, *exc_info: Any) -> Any:
        try:
            return self.__wrapped__.__exit__(*exc_info)
        finally:
            self._self_tracker.end(sc.STREAM_OUTCOME_CLOSED)

    def close(self) -> None:
        try:
            self.__wrapped__.close()
        finally:
            self._self_tracker.end(sc.STREAM_OUTCOME_CLOSED)


class AsyncStreamProxy(_TrackedProxy):
    """An `openai.AsyncStream` that reports to a StreamTracker: StreamProxy with the awaits."""

    async def __aiter__(self) -> Any:
        tracker = self._self_tracker
        iterator = self.__wrapped__.__aiter__()
        observe = tracker.observe
        tracker.resumed()
        try:
            while True:
                tracker.reading = True
                try:
                    item = await iterator.__anext__()
                except StopAsyncIteration:
                    tracker.end(sc.STREAM_OUTCOME_COMPLETED)
                    return
                finally:
                    tracker.reading = False
                observe(item)
                yield item
        except GeneratorExit:
            tracker.left_loop()
            raise
        except BaseException as exc:
            tracker.failed(exc)
            raise

    async def __anext__(self) -> Any:
        tracker = self._self_tracker
        tracker.resumed()
        tracker.reading = True
        try:
            item = await self.__wrapped__.__anext__()
        except StopAsyncIteration:
            tracker.reading = False
            tracker.end(sc.STREAM_OUTCOME_COMPLETED)
            raise
        except BaseException as exc:
            tracker.reading = False
            tracker.failed(exc)
            raise
        tracker.reading = False
        tracker.observe(item)
        return item

    async def __aenter__(self) -> Any:
        await self.__wrapped__.__aenter__()
        return self

    async def __aexit__(self, *exc_info: Any) -> Any:
        try:
            return await self.__wrapped__.__aexit__(*exc_info)
        finally:
            self._self_tracker.end(sc.STREAM_OUTCOME_CLOSED)

    async def close(self) -> None:
        try:
            await self.__wrapped__.close()
        finally:
            self._self_tracker.end(sc.STREAM_OUTCOME_CLOSED)


class RawResponseProxy(wrapt.ObjectProxy):  # type: ignore[misc]
    """A response whose body the caller reads later (`with_streaming_response`, raw streams)."""

    def __init__(self, wrapped: Any, call: Call, is_async: bool) -> None:
        super().__init__(wrapped)
        self._self_call = call
        self._self_is_async = is_async
        self._self_parsed: tuple[Any, Any] | None = None
        weakref.finalize(self, _end_abandoned, call)

    # Reading the body closes the HTTP response before parse()/json() return; the close hook must then
    # leave the ending to us, so that the parsed result is recorded first.

    def parse(self, *args: Any, **kwargs: Any) -> Any:
        return self._self_read(self.__wrapped__.parse, self._self_observe, args, kwargs)

    def json(self, *args: Any, **kwargs: Any) -> Any:
        return self._self_read(self.__wrapped__.json, self._self_observe_body, args, kwargs)

    def read(self, *args: Any, **kwargs: Any) -> Any:
        return self._self_read(self.__wrapped__.read, self._self_observe_body, args, kwargs)

    def text(self, *args: Any, **kwargs: Any) -> Any:
        return self._self_read(self.__wrapped__.text, self._self_observe_body, args, kwargs)

    def _self_read(self, read: Any, observe: Any, args: Any, kwargs: Any) -> Any:
        # Whether a reader is a coroutine is the SDK class's business: LegacyAPIResponse.parse() is
        # synchronous even on the async client, AsyncAPIResponse's readers are all coroutines.
        if inspect.iscoroutinefunction(read):
            return self._self_aread(read, observe, args, kwargs)
        self._self_call.hand_to(CallState.READING_BODY)
        try:
            result = read(*args, **kwargs)
        except BaseException as exc:
            self._self_call.end(failure=Failure.of_exception(exc))
            raise
        return observe(result)

    async def _self_aread(self, read: Any, observe: Any, args: Any, kwargs: Any) -> Any:
        # Handed over only once awaited: a coroutine never awaited leaves the ending to close or collection.
        self._self_call.hand_to(CallState.READING_BODY)
        try:
            result = await read(*args, **kwargs)
        except BaseException as exc:
            self._self_call.end(failure=Failure.of_exception(exc))
            raise
        return observe(result)

    def _self_observe(self, result: Any) -> Any:
        # The SDK caches parse() results: the same object gets the same proxy, and one tracker only.
        parsed = self._self_parsed
        if parsed is not None:
            return parsed[1] if parsed[0] is result else result
        observed = observe_result(self._self_call, result, self._self_is_async)
        self._self_parsed = (result, observed)
        return observed

    def _self_observe_body(self, result: Any) -> Any:
        call = self._self_call
        try:
            response = record_body(call, self.__wrapped__.http_response.content)
        except Exception:
            logger.debug("openrouter-otel: could not read a response body", exc_info=True)
            response = None
        call.end(response)
        return result


def record_body(call: Call, content: bytes) -> Response:
    """The Response of a body read by hand: one JSON document, or the text of an SSE stream replayed."""
    try:
        return call.response_of(json.loads(content))
    except ValueError:
        pass
    tracker = StreamTracker(call)
    for event in _sse_data(content):
        tracker.observe(event, timed=False)
    return tracker.response()


def _sse_data(content: bytes) -> Any:
    for line in content.decode("utf-8", "replace").splitlines():
        if line.startswith("data:"):
            data = line[5:].strip()
            if data and data != "[DONE]":
                try:
                    yield json.loads(data)
                except ValueError:
                    continue


def observe_result(call: Call, result: Any, is_async: bool) -> Any:
    """Hand the SDK's result to the call; returns what the caller gets (the result, or a proxy of it)."""
    try:
        kind = _result_kind(result)
        if kind == "stream":
            call.hand_to(CallState.STREAMING)
            tracker = StreamTracker(call)
            hook_http_close(result.response, tracker.on_http_close, is_async)
            return AsyncStreamProxy(result, tracker) if is_async else StreamProxy(result, tracker)
        if kind == "api_response":
            return _observe_api_response(call, result, is_async)
        call.end(call.response_of(result) if kind == "model" else None)
    except Exception:
        logger.debug("openrouter-otel: could not observe a result", exc_info=True)
        call.end()
    return result


def _observe_api_response(call: Call, result: Any, is_async: bool) -> Any:
    http_response = result.http_response
    if _body_is_read(http_response):
        call.end(call.response_of(_json_or_none(http_response)))
        return result
    hook_http_close(http_response, lambda: _end_if_pending(call), is_async)
    return RawResponseProxy(result, call, is_async)


def _end_if_pending(call: Call) -> None:
    # Once the body is being read or a stream was handed out, the reader or the stream's tracker ends the call.
    if call.state is CallState.PENDING:
        call.end()


def _end_abandoned(call: Call) -> None:
    # The response was collected: whatever was not read to the end is abandoned (an un-awaited parse()
    # coroutine included), and a stream handed out by parse() ends through its own tracker.
    if call.state is not CallState.STREAMING:
        call.end(outcome=sc.STREAM_OUTCOME_ABANDONED)


_SDK_CLASSES: tuple[type, tuple[type, ...], tuple[type, ...]] | None = None


def _sdk_classes() -> tuple[type, tuple[type, ...], tuple[type, ...]]:
    global _SDK_CLASSES
    if _SDK_CLASSES is None:
        from openai import AsyncStream, BaseModel, Stream

        api_responses = tuple(
            cls for cls in (_sdk_class("openai._legacy_response", "LegacyAPIResponse"),
                            _sdk_class("openai._response", "BaseAPIResponse")) if cls is not None
        )
        _SDK_CLASSES = (BaseModel, (Stream, AsyncStream), api_responses)
    return _SDK_CLASSES


def _sdk_class(module_name: str, class_name: str) -> type | None:
    try:
        cls = getattr(importlib.import_module(module_name), class_name)
    except (ImportError, AttributeError):
        from openrouter_otel.patch import warn_missing_sdk_symbol  # patch imports this module

        warn_missing_sdk_symbol(f"{module_name}.{class_name}")
        return None
    return cls if isinstance(cls, type) else None


def _result_kind(result: Any) -> str:
    model, streams, api_responses = _sdk_classes()
    if isinstance(result, model):
        return "model"
    if isinstance(result, streams):
        return "stream"
    if isinstance(result, api_responses):
        return "api_response"
    if hasattr(result, "status_code") and hasattr(result, "headers") and hasattr(result, "request"):
        return "http_response"
    return "model"


def _body_is_read(http_response: Any) -> bool:
    try:
        http_response.content  # noqa: B018 - raises when the body has not been read
    except Exception:
        return False
    return True


def _json_or_none(http_response: Any) -> Any:
    try:
        return json.loads(http_response.content)
    except Exception:
        return None

