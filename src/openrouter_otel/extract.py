"""Pure extraction: request body, headers, responses and errors in; attribute dicts out.

Everything here accepts whatever it is given — SDK models, plain dicts from raw JSON, None, values
of the wrong type — and returns only well-typed attribute values. Nothing here raises on bad input.
"""

from __future__ import annotations

import asyncio
import hashlib
import math
from functools import lru_cache
from typing import Any, Mapping
from urllib.parse import urlsplit

from openrouter_otel import semconv as sc

_OPERATION_BY_PATH = (
    ("/chat/completions", sc.OPERATION_CHAT),
    ("/completions", sc.OPERATION_TEXT_COMPLETION),
    ("/embeddings", sc.OPERATION_EMBEDDINGS),
    ("/responses", sc.OPERATION_CHAT),
)
# The inference endpoints, as paths under an API base URL.
INFERENCE_PATHS = tuple(suffix for suffix, _ in _OPERATION_BY_PATH)

# Request parameters recorded under their semantic-convention names: body key -> (attribute, kind).
_REQUEST_PARAMS = {
    "max_tokens": (sc.GEN_AI_REQUEST_MAX_TOKENS, int),
    "max_completion_tokens": (sc.GEN_AI_REQUEST_MAX_TOKENS, int),
    "max_output_tokens": (sc.GEN_AI_REQUEST_MAX_TOKENS, int),
    "temperature": (sc.GEN_AI_REQUEST_TEMPERATURE, float),
    "top_p": (sc.GEN_AI_REQUEST_TOP_P, float),
    "seed": (sc.GEN_AI_REQUEST_SEED, int),
    "frequency_penalty": (sc.GEN_AI_REQUEST_FREQUENCY_PENALTY, float),
    "presence_penalty": (sc.GEN_AI_REQUEST_PRESENCE_PENALTY, float),
    "n": (sc.GEN_AI_REQUEST_CHOICE_COUNT, int),
}

_TITLE_HEADERS = ("x-title", "x-openrouter-title")
_REFERER_HEADERS = ("http-referer",)


# --- small typed getters ---------------------------------------------------------------------


def get(obj: Any, key: str) -> Any:
    """Field `key` of a dict or an SDK model (which keeps OpenRouter's extra fields in its extras).

    Pydantic models are read through their field dict and extras rather than getattr: a missing field
    would otherwise cost an AttributeError per lookup, on every call.
    """
    if obj is None:
        return None
    if type(obj) is dict:
        return obj.get(key)
    try:
        values = obj.__dict__
        if key in values:
            return values[key]
        extra = getattr(obj, "__pydantic_extra__", _NOT_PYDANTIC)
        if extra is not _NOT_PYDANTIC:
            return extra.get(key) if extra else None
        if isinstance(obj, Mapping):
            return obj.get(key)
        return getattr(obj, key, None)
    except Exception:
        return None


_NOT_PYDANTIC = object()


def as_int(value: Any) -> int | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    if isinstance(value, float):
        if not math.isfinite(value) or value != int(value):
            return None
        value = int(value)
    return value if -(2**63) <= value < 2**63 else None


def as_count(value: Any) -> int | None:
    number = as_int(value)
    return number if number is not None and number >= 0 else None


def as_float(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    number = float(value)
    return number if math.isfinite(number) else None


def as_str(value: Any, limit: int = 256) -> str | None:
    if isinstance(value, str) and value:
        return value[:limit]
    return None


def as_str_list(value: Any, limit: int = 64) -> list[str] | None:
    if isinstance(value, str):
        return [value[:256]]
    if isinstance(value, (list, tuple)):
        items = [item[:256] for item in value[:limit] if isinstance(item, str)]
        return items or None
    return None


def as_bool(value: Any) -> bool | None:
    return value if isinstance(value, bool) else None


def put(attributes: dict[str, Any], key: str, value: Any) -> None:
    if value is not None:
        attributes[key] = value


# --- request ---------------------------------------------------------------------------------


def operation_for_path(path: Any, method: Any = "post") -> str | None:
    """The GenAI operation of a request, or None for endpoints we do not instrument.

    Only POSTs create: `GET /chat/completions` lists stored completions and is no LLM call.
    """
    if not isinstance(path, str) or not isinstance(method, str) or method.lower() != "post":
        return None
    path = path.split("?", 1)[0].rstrip("/")
    for suffix, operation in _OPERATION_BY_PATH:
        if path.endswith(suffix):
            return operation
    return None


def request_attributes(body: Any) -> dict[str, Any]:
    """Model, sampling parameters and OpenRouter routing policy of a request body."""
    attributes: dict[str, Any] = {}
    if not isinstance(body, Mapping):
        return attributes
    put(attributes, sc.GEN_AI_REQUEST_MODEL, as_str(body.get("model")))
    for key, value in body.items():
        spec = _REQUEST_PARAMS.get(key)
        if spec is not None and spec[0] not in attributes:
            put(attributes, spec[0], as_int(value) if spec[1] is int else as_float(value))
    if "stop" in body:
        put(attributes, sc.GEN_AI_REQUEST_STOP_SEQUENCES, as_str_list(body["stop"]))
    put(attributes, sc.GEN_AI_REQUEST_STREAM, as_bool(body.get("stream")))
    if "models" in body:
        put(attributes, sc.OPENROUTER_REQUEST_MODELS, as_str_list(body["models"]))
    if "provider" in body:
        attributes.update(routing_attributes(body["provider"]))
    if "user" in body:
        put(attributes, sc.ENDUSER_ID, as_str(body["user"]))
    return attributes


def routing_attributes(provider: Any) -> dict[str, Any]:
    """OpenRouter's `provider` routing object: what the caller allowed."""
    attributes: dict[str, Any] = {}
    if not isinstance(provider, Mapping):
        return attributes
    for key in sc.ROUTING_PROVIDER_KEYS:
        value = provider.get(key)
        name = sc.OPENROUTER_REQUEST_PROVIDER_PREFIX + key
        if isinstance(value, bool):
            attributes[name] = value
        elif isinstance(value, str):
            attributes[name] = value[:256]
        else:
            put(attributes, name, as_str_list(value))
    return attributes


def header_attributes(*header_sets: Any) -> dict[str, Any]:
    """App attribution headers (X-Title, HTTP-Referer); later header sets win."""
    attributes: dict[str, Any] = {}
    for headers in header_sets:
        if not isinstance(headers, Mapping):
            continue
        for name, value in headers.items():
            if not isinstance(name, str) or not isinstance(value, str):
                continue
            lowered = name.lower()
            if lowered in _TITLE_HEADERS:
                attributes[sc.OPENROUTER_APP_TITLE] = value[:256]
            elif lowered in _REFERER_HEADERS:
                attributes[sc.OPENROUTER_APP_REFERER] = value[:512]
    return attributes


_server_cache: dict[int, tuple[Any, tuple[tuple[str, Any], ...]]] = {}


def client_server_attributes(base_url: Any) -> tuple[tuple[str, Any], ...]:
    """server_attributes() of a client's base URL object, cached by identity (str() of a URL is not free)."""
    cached = _server_cache.get(id(base_url))
    if cached is not None and cached[0] is base_url:
        return cached[1]
    attributes = server_attributes(str(base_url))
    if len(_server_cache) > 256:
        _server_cache.clear()
    _server_cache[id(base_url)] = (base_url, attributes)  # holding the object keeps its id unique
    return attributes


@lru_cache(maxsize=256)
def server_attributes(base_url: str) -> tuple[tuple[str, Any], ...]:
    """Provider name, server address and port for a base URL (cached: a handful per process)."""
    try:
        parts = urlsplit(base_url)
        host = parts.hostname or ""
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        return ((sc.GEN_AI_PROVIDER_NAME, sc.PROVIDER_OPENAI),)
    # OpenRouter's API lives under /api/v1; gateways in front of it (and the local replay server) keep
    # that path, while OpenAI-compatible servers use /v1 or /openai/...
    if host == "openrouter.ai" or host.endswith(".openrouter.ai") or parts.path.rstrip("/").endswith("/api/v1"):
        provider = sc.PROVIDER_OPENROUTER
    else:
        provider = sc.PROVIDER_OPENAI
    return (
        (sc.GEN_AI_PROVIDER_NAME, provider),
        (sc.SERVER_ADDRESS, host),
        (sc.SERVER_PORT, port),
    )


@lru_cache(maxsize=64)
def api_key_fingerprint(api_key: str) -> str:
    return hashlib.sha256(api_key.encode("utf-8", "replace")).hexdigest()[:12]


# --- response --------------------------------------------------------------------------------


def response_attributes(response: Any) -> dict[str, Any]:
    """Id, served model, upstream provider and finish reasons of a completed response or chunk."""
    attributes: dict[str, Any] = {}
    put(attributes, sc.GEN_AI_RESPONSE_ID, as_str(get(response, "id")))
    put(attributes, sc.GEN_AI_RESPONSE_MODEL, as_str(get(response, "model")))
    put(attributes, sc.OPENROUTER_PROVIDER, as_str(get(response, "provider")))
    put(attributes, sc.GEN_AI_RESPONSE_FINISH_REASONS, finish_reasons(response))
    return attributes


def finish_reasons(response: Any) -> list[str] | None:
    choices = get(response, "choices")
    if isinstance(choices, (list, tuple)):
        reasons = [reason for reason in (as_str(get(choice, "finish_reason")) for choice in choices[:64]) if reason]
        return reasons or None
    status = as_str(get(response, "status"))  # Responses API
    if status:
        reason = as_str(get(get(response, "incomplete_details"), "reason"))
        return [reason or status]
    return None


def response_usage(response: Any) -> Any:
    """The usage object of a response, a stream chunk, or a Responses API event carrying a response."""
    usage = get(response, "usage")
    if usage is None:
        usage = get(get(response, "response"), "usage")
    return usage


# --- errors ----------------------------------------------------------------------------------


def response_error(response: Any) -> tuple[str, dict[str, Any], str] | None:
    """A 200 response that is an error: OpenRouter's `error` object, or `choices: null`.

    Returns (error.type, extra attributes, short description) or None when the response is fine.
    """
    error = get(response, "error")
    if error:
        return error_details(error, default_type="response_error")
    if isinstance(response, Mapping) and "choices" in response and response["choices"] is None:
        return ("no_choices", {}, "response carried choices: null")
    if not isinstance(response, Mapping) and _has_null_choices(response):
        return ("no_choices", {}, "response carried choices: null")
    return None


def _has_null_choices(response: Any) -> bool:
    fields_set = getattr(response, "__pydantic_fields_set__", None)
    return isinstance(fields_set, (set, frozenset)) and "choices" in fields_set and get(response, "choices") is None


def error_details(error: Any, default_type: str) -> tuple[str, dict[str, Any], str]:
    """error.type, attributes and a short, content-free description of an OpenRouter error object."""
    attributes: dict[str, Any] = {}
    code = get(error, "code")
    code_text = str(code)[:64] if isinstance(code, (int, str)) and not isinstance(code, bool) and code != "" else None
    put(attributes, sc.OPENROUTER_ERROR_CODE, code_text)
    put(attributes, sc.OPENROUTER_ERROR_PROVIDER, as_str(get(get(error, "metadata"), "provider_name")))
    message = as_str(get(error, "message"), limit=200) or "error"
    return (code_text or default_type, attributes, message)


def exception_details(exc: BaseException) -> tuple[str, dict[str, Any], str]:
    """error.type (HTTP status or exception class), attributes and a short description of an exception."""
    if isinstance(exc, asyncio.CancelledError):
        return (sc.OUTCOME_CANCELLED, {}, sc.OUTCOME_CANCELLED)
    status = getattr(exc, "status_code", None)
    body = getattr(exc, "body", None)
    attributes: dict[str, Any] = {}
    if isinstance(status, int) and not isinstance(status, bool):
        attributes[sc.HTTP_RESPONSE_STATUS_CODE] = status
        error_type = str(status)
    else:
        error_type = type(exc).__qualname__
    if isinstance(body, Mapping):
        _, error_attributes, message = error_details(body, default_type=error_type)
        attributes.update(error_attributes)
    else:
        message = type(exc).__qualname__
    return (error_type, attributes, message)
