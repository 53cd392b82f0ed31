"""DSPy 3.4's default engine, the vendored `lm15`: its own HTTP/1.1 transport over sockets, whose `stream()`
(and the async transport's `_do_stream()`) every request passes; each response's body is read as chunks."""

from __future__ import annotations

from typing import Any, Callable

from openrouter_otel.call import Call, Telemetry
from openrouter_otel.clients import http
from openrouter_otel.streams import hook_http_close

TRANSPORTS = "dspy._vendor.lm15.transports"
WRAPS = ((f"{TRANSPORTS}._sync", "StdlibTransport", "stream", False),
         (f"{TRANSPORTS}._async", "StdlibAsyncTransport", "_do_stream", True))


def _request(request: Any) -> http.HttpRequest:
    return http.HttpRequest(request.method, request.url, dict(request.headers), request.body)


def observe_lm15_response(call: Call, response: Any, is_async: bool) -> Any:
    def hook_stream(reader: http.SSEReader) -> None:
        chunks = response._chunks
        response._chunks = reader.aiterate(chunks.__aiter__()) if is_async else reader.iterate(iter(chunks))
        hook_http_close(response, reader.on_close, is_async)

    http.observe_response(call, response, status=response.status, streamed=True, body=lambda: b"",
                          hook_stream=hook_stream)
    return response


def wrapper(telemetry: Telemetry, is_async: bool) -> Callable[..., Any]:
    return http.host_wrapper(telemetry, is_async, _request, observe_lm15_response)
