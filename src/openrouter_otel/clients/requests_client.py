"""`requests`: `Session.send`, which `requests.post` and every session method end in, for OpenRouter's hosts only."""

from __future__ import annotations

from typing import Any, Callable

from openrouter_otel.call import Call, Telemetry
from openrouter_otel.clients import http
from openrouter_otel.streams import hook_http_close

WRAPS = (("requests.sessions", "Session", "send", False),)


def observe_requests_response(call: Call, response: Any, is_async: bool) -> Any:
    def hook_stream(reader: http.SSEReader) -> None:
        original = response.iter_content  # iter_lines() and .content read through it
        response.iter_content = lambda *args, **kwargs: reader.iterate(iter(original(*args, **kwargs)))
        hook_http_close(response, reader.on_close, False)

    http.observe_response(call, response, status=response.status_code,
                          streamed=response._content is False,  # requests' own "not read yet"
                          body=lambda: response.content, hook_stream=hook_stream)
    return response


def _request(request: Any) -> http.HttpRequest:
    return http.HttpRequest(request.method, request.url, request.headers, request.body)


def wrapper(telemetry: Telemetry, is_async: bool) -> Callable[..., Any]:
    return http.host_wrapper(telemetry, is_async, _request, observe_requests_response)
