"""Plain `httpx` and `httpx2` clients (httpx2 is what openai 3.x sends with): `Client.send` and
`AsyncClient.send`, which every request method of theirs ends in, for OpenRouter's hosts only."""

from __future__ import annotations

from typing import Any, Callable

from openrouter_otel.call import Call, Telemetry
from openrouter_otel.clients import http
from openrouter_otel.streams import _body_is_read, hook_http_close

WRAPS = tuple((module, class_name, "send", is_async)
              for module in ("httpx", "httpx2")
              for class_name, is_async in (("Client", False), ("AsyncClient", True)))


def httpx_request(request: Any) -> http.HttpRequest:
    try:
        content = request.content
    except Exception:  # a streamed request body, not read yet: no body to record
        content = None
    return http.HttpRequest(request.method, str(request.url), request.headers, content)


def observe_httpx_response(call: Call, response: Any, is_async: bool) -> Any:
    def hook_stream(reader: http.SSEReader) -> None:
        name = "aiter_bytes" if is_async else "iter_bytes"
        original = getattr(response, name)
        if is_async:
            setattr(response, name, lambda *args, **kwargs: reader.aiterate(original(*args, **kwargs).__aiter__()))
        else:
            setattr(response, name, lambda *args, **kwargs: reader.iterate(iter(original(*args, **kwargs))))
        hook_http_close(response, reader.on_close, is_async)

    http.observe_response(call, response, status=response.status_code, streamed=not _body_is_read(response),
                          body=lambda: response.content, hook_stream=hook_stream)
    return response


def wrapper(telemetry: Telemetry, is_async: bool) -> Callable[..., Any]:
    return http.host_wrapper(telemetry, is_async, httpx_request, observe_httpx_response)
