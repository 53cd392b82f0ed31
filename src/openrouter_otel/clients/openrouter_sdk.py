"""The official `openrouter` SDK: every operation passes `BaseSDK.do_request` (or `do_request_async`) with the
httpx request it built, around the SDK's retries; the httpx response it returns is read as any other."""

from __future__ import annotations

from typing import Any, Callable

from openrouter_otel.call import Telemetry
from openrouter_otel.clients import http
from openrouter_otel.clients.httpx_clients import httpx_request, observe_httpx_response

WRAPS = (("openrouter.basesdk", "BaseSDK", "do_request", False),
         ("openrouter.basesdk", "BaseSDK", "do_request_async", True))


def _request_of(args: tuple[Any, ...], kwargs: dict[str, Any]) -> http.HttpRequest:
    return httpx_request(kwargs["request"] if "request" in kwargs else args[1])


def wrapper(telemetry: Telemetry, is_async: bool) -> Callable[..., Any]:
    make = http.async_wrapper if is_async else http.sync_wrapper
    return make(telemetry, _request_of, observe_httpx_response, counts_attempts=True)
