"""Frozen descriptions of one call: its request, its response (or the stream it accumulated), its usage and
how it failed. Each is parsed once from what the client handed over; what is recorded (record.py) is a pure
function of them.

Parsing accepts whatever it is given (SDK models, plain dicts from raw JSON, None, values of the wrong type)
and never raises on bad input.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

from openrouter_otel import semconv as sc
from openrouter_otel.content import output_messages
from openrouter_otel.extract import (
    as_bool,
    as_count,
    as_float,
    exception_details,
    get,
    put,
    response_attributes,
    response_error,
    response_usage,
)


@dataclass(frozen=True, slots=True)
class Failure:
    """How a call failed: error.type, its extra attributes and a short, content-free description."""

    type: str
    attributes: Mapping[str, Any]
    description: str

    @property
    def cancelled(self) -> bool:
        return self.type == sc.OUTCOME_CANCELLED

    @classmethod
    def of_exception(cls, exc: BaseException) -> Failure:
        try:
            return cls(*exception_details(exc))
        except Exception:
            return cls(type(exc).__qualname__, {}, type(exc).__qualname__)


@dataclass(frozen=True, slots=True)
class Usage:
    """Token counts and OpenRouter's own cost figures of one response, chat-completions or Responses API shape."""

    input_tokens: int | None = None
    output_tokens: int | None = None
    cache_read_tokens: int | None = None
    cache_write_tokens: int | None = None
    reasoning_tokens: int | None = None
    reported_cost: float | None = None  # usage.cost: what OpenRouter charged
    upstream_cost: float | None = None
    is_byok: bool | None = None

    @classmethod
    def parse(cls, usage: Any) -> Usage | None:
        if usage is None:
            return None
        input_details = get(usage, "prompt_tokens_details") or get(usage, "input_tokens_details")
        output_details = get(usage, "completion_tokens_details") or get(usage, "output_tokens_details")
        return cls(
            input_tokens=_first_count(usage, "prompt_tokens", "input_tokens"),
            output_tokens=_first_count(usage, "completion_tokens", "output_tokens"),
            cache_read_tokens=as_count(get(input_details, "cached_tokens")),
            cache_write_tokens=as_count(get(input_details, "cache_write_tokens")),
            reasoning_tokens=as_count(get(output_details, "reasoning_tokens")),
            reported_cost=as_float(get(usage, "cost")),
            upstream_cost=as_float(get(get(usage, "cost_details"), "upstream_inference_cost")),
            is_byok=as_bool(get(usage, "is_byok")),
        )

    def attributes(self) -> dict[str, Any]:
        attributes: dict[str, Any] = {}
        put(attributes, sc.GEN_AI_USAGE_INPUT_TOKENS, self.input_tokens)
        put(attributes, sc.GEN_AI_USAGE_OUTPUT_TOKENS, self.output_tokens)
        put(attributes, sc.GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS, self.cache_read_tokens)
        # The same count under the conventions' newer name and the older one that dashboards already query.
        put(attributes, sc.GEN_AI_USAGE_CACHE_WRITE_INPUT_TOKENS, self.cache_write_tokens)
        put(attributes, sc.GEN_AI_USAGE_CACHE_CREATION_INPUT_TOKENS, self.cache_write_tokens)
        put(attributes, sc.GEN_AI_USAGE_REASONING_OUTPUT_TOKENS, self.reasoning_tokens)
        return attributes


def _first_count(usage: Any, *keys: str) -> int | None:
    for key in keys:
        count = as_count(get(usage, key))
        if count is not None:
            return count
    return None


@dataclass(frozen=True, slots=True)
class Response:
    """What a completed response (or an accumulated stream) said: id, served model, upstream provider, finish
    reasons (in `attributes`), usage, an error it carried, and its output messages when content is captured."""

    attributes: Mapping[str, Any]
    usage: Usage | None = None
    failure: Failure | None = None
    output_messages: list[Any] | None = None

    @classmethod
    def parse(cls, response: Any, capture_content: bool = False) -> Response:
        error = response_error(response)
        return cls(
            attributes=response_attributes(response),
            usage=Usage.parse(response_usage(response)),
            failure=Failure(*error) if error is not None else None,
            output_messages=output_messages(response) if capture_content else None,
        )

    @property
    def response_id(self) -> str | None:
        response_id = self.attributes.get(sc.GEN_AI_RESPONSE_ID)
        return response_id if isinstance(response_id, str) else None


NO_RESPONSE = Response(attributes={})


@dataclass(frozen=True, slots=True)
class Request:
    """What is known of a call before it is sent: its operation and the request-side attributes.

    `input_json` is the captured prompt (content capture only), not yet redacted; `generation_source` is the
    client's (base URL, API key) when OpenRouter's generation endpoint may be asked for the cost later.
    """

    operation: str
    attributes: Mapping[str, Any]
    audit_context: Mapping[str, Any]
    is_responses_api: bool = False
    input_json: str | None = None
    generation_source: tuple[str, str] | None = None

    @property
    def model(self) -> str:
        model = self.attributes.get(sc.GEN_AI_REQUEST_MODEL)
        return model if isinstance(model, str) else ""


@dataclass(frozen=True, slots=True)
class Ended:
    """A call that has ended: everything recorded about it is computed from this, off the caller's path."""

    request: Request
    response: Response
    failure: Failure | None
    stream_outcome: str | None
    start_ns: int
    end_ns: int
    duration: float
    time_to_first_chunk: float | None
    attempts: int

    @property
    def status(self) -> str:
        if self.failure is None:
            return "ok"
        return sc.OUTCOME_CANCELLED if self.failure.cancelled else "error"
