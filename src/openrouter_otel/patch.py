"""What is wrapped in the `openai` SDK, and the wrappers themselves.

One wrap point covers every API: `SyncAPIClient.request` / `AsyncAPIClient.request`, through which
`create`, `parse`, the stream helpers, `with_raw_response` and `with_streaming_response` all pass. It
runs once per logical call, around the SDK's own retry loop; the attempts are counted by the httpx
wrapper (clients/httpx_clients.py) that each attempt passes anyway, so no wrapper runs per attempt here.
"""

from __future__ import annotations

import contextvars
import logging
from typing import Any, Callable

from openrouter_otel.call import Call, Telemetry
from openrouter_otel.facts import Failure
from openrouter_otel.policy import enforce
from openrouter_otel.streams import observe_result

logger = logging.getLogger(__name__)

BASE_CLIENT_MODULE = "openai._base_client"
# (class, method) pairs wrapped in BASE_CLIENT_MODULE.
REQUEST_METHODS = (("SyncAPIClient", "request"), ("AsyncAPIClient", "request"))

_warned_missing: set[str] = set()


def has_sdk_symbol(module: Any, class_name: str, attribute: str) -> bool:
    """Whether `class_name.attribute` exists in the SDK module; a missing one is warned about, once.

    These are private symbols of the SDK: when a release drops one, what it carried is lost, so say so.
    """
    if hasattr(getattr(module, class_name, None), attribute):
        return True
    warn_missing_sdk_symbol(f"{getattr(module, '__name__', module)}.{class_name}.{attribute}")
    return False


def warn_missing_sdk_symbol(symbol: str) -> None:
    if symbol not in _warned_missing:
        _warned_missing.add(symbol)
        logger.warning("openrouter-otel: the openai SDK has no %s; calls through it are not fully recorded", symbol)


_current_call: contextvars.ContextVar[Call | None] = contextvars.ContextVar("openrouter_otel_call", default=None)


def _options_of(args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    options = kwargs.get("options")
    if options is None and len(args) > 1:
        options = args[1]
    return options


# How a wrapper finds its call: (instance, args, kwargs) -> a started Call, or None to leave the call alone.
StartCall = Callable[[Any, tuple[Any, ...], dict[str, Any]], "Call | None"]
# How a wrapper hands the result over: (call, result, is_async) -> what the caller receives.
ObserveResult = Callable[[Call, Any, bool], Any]


def sync_call_wrapper(start: StartCall, observe: ObserveResult) -> Callable[..., Any]:
    """A wrapt wrapper recording one call around a sending method: the one shape every client's wrapper has."""

    def wrapper(wrapped: Callable[..., Any], instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        call = start(instance, args, kwargs)
        if call is None:
            return wrapped(*args, **kwargs)
        token = _enter(call)
        try:
            enforce(call)  # an enforced policy rule the request breaks: PolicyViolation, nothing sent
            result = wrapped(*args, **kwargs)
        except BaseException as exc:
            _fail(call, exc)
            raise
        finally:
            _leave(call, token)
        return observe(call, result, False)

    return wrapper


def async_call_wrapper(start: StartCall, observe: ObserveResult) -> Callable[..., Any]:
    async def wrapper(wrapped: Callable[..., Any], instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        call = start(instance, args, kwargs)
        if call is None:
            return await wrapped(*args, **kwargs)
        token = _enter(call)
        try:
            enforce(call)
            result = await wrapped(*args, **kwargs)
        except BaseException as exc:
            _fail(call, exc)
            raise
        finally:
            _leave(call, token)
        return observe(call, result, True)

    return wrapper


def _openai_start(telemetry: Telemetry) -> StartCall:
    def start(instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Call | None:
        if _current_call.get() is not None:  # a nested request (e.g. a paginator) belongs to the outer call
            return None
        return telemetry.start_call(instance, _options_of(args, kwargs), counts_attempts=True)

    return start


def sync_request_wrapper(telemetry: Telemetry) -> Callable[..., Any]:
    return sync_call_wrapper(_openai_start(telemetry), observe_result)


def async_request_wrapper(telemetry: Telemetry) -> Callable[..., Any]:
    return async_call_wrapper(_openai_start(telemetry), observe_result)


def _enter(call: Call) -> contextvars.Token[Call | None]:
    call.activate()
    return _current_call.set(call)


def _leave(call: Call, token: contextvars.Token[Call | None]) -> None:
    try:
        _current_call.reset(token)
    except ValueError:  # reset from another context (should not happen); never raise into the caller
        _current_call.set(None)
    call.deactivate()


def _fail(call: Call, exc: BaseException) -> None:
    call.end(failure=Failure.of_exception(exc))
