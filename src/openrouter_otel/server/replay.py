"""A local OpenRouter-compatible HTTP server: replays recorded exchanges and synthesises scenarios.

Used by the test suite (the real `openai` SDK over real HTTP on 127.0.0.1) and by `openrouter-otel demo`.
Standard library only; the synthesised scenarios never touch the recorded corpus, so they work from a
plain pip install.

How a response is chosen for a request, first match wins:
  1. header `X-Replay-Token: <token>`     -> the canned responses registered with `ReplayServer.register()`
  2. header `X-Replay-Exchange: <id>`     -> that recorded corpus exchange, replayed byte for byte
  3. header `X-Replay-Scenario: <name>`   -> a synthesised scenario (see `SCENARIOS`);
     or a requested model `scenario/<name>` for programs that cannot set headers
  4. a JSON body equal to a recorded request body -> that exchange (the earliest recording of it)
  5. otherwise the basic synthesised scenario (`chat`), shaped for the endpoint; unknown paths get a 404
`GET /api/v1/generation?id=gen-...` is answered (after step 1) for every generation id the server has served.

Scenarios describe an outcome (BYOK, a fallback, no cost...); the endpoint decides the shape, so
`byok` works for /chat/completions, /completions, /responses and /embeddings alike, streamed when the
request says `"stream": true` (the `*_stream`, `slow_stream` and `stream_error` scenarios always stream).
Like a replay, a synthesised scenario is deterministic: the same scenario and request body give the same
response, generation id included; a different body or scenario gives a different id.
"""

from __future__ import annotations

import base64
import contextlib
import contextvars
import hashlib
import json
import random
import re
import socket
import string
import struct
import sys
import threading
import time
import traceback
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from openrouter_otel.server.account import KeyProfile, Ledger, models_body

__all__ = [
    "API_PREFIX",
    "EXCHANGE_HEADER",
    "SCENARIOS",
    "SCENARIO_HEADER",
    "SCENARIO_MODEL_PREFIX",
    "TOKEN_HEADER",
    "CannedResponse",
    "Comment",
    "Delay",
    "Event",
    "Exchange",
    "KeyProfile",
    "Raw",
    "RecordedRequest",
    "ReplayServer",
    "Split",
    "chat_completion_body",
    "chat_stream_events",
    "completion_body",
    "embeddings_body",
    "error_body",
    "generation_body",
    "load_corpus",
    "new_generation_id",
    "responses_body",
    "responses_stream_events",
    "usage_block",
]

API_PREFIX = "/api/v1"
OPENAI_PREFIX = "/v1"
TOKEN_HEADER = "X-Replay-Token"
EXCHANGE_HEADER = "X-Replay-Exchange"
SCENARIO_HEADER = "X-Replay-Scenario"
SOURCE_HEADER = "X-Replay-Source"
SCENARIO_MODEL_PREFIX = "scenario/"
KEEPALIVE = ": OPENROUTER PROCESSING"

SCENARIOS: tuple[str, ...] = (
    "chat",
    "chat_stream",
    "dated_model",
    "fallback",
    "byok",
    "no_cost",
    "openai_style",
    "structured",
    "tool_calls",
    "reasoning",
    "cached_prompt",
    "credits_402",
    "rate_limit_429",
    "upstream_502",
    "error_in_200",
    "choices_null",
    "stream_error",
    "slow_stream",
    "embeddings",
    "completions",
    "responses",
    "responses_stream",
)

DEFAULT_REPLY = "This is a synthesised reply from the openrouter-otel replay server."
DEFAULT_PROMPT_TOKENS = 12
SLOW_STREAM_CHUNKS = 200
SLOW_STREAM_DELAY_MS = 5.0
# A split event's fragments are separate HTTP chunks anyway; the pause also keeps them in separate reads.
SPLIT_PAUSE_S = 0.001


# --------------------------------------------------------------------------------------------------
# What a response is made of
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Comment:
    """An SSE comment line, such as OpenRouter's `: OPENROUTER PROCESSING` keep-alive."""

    text: str = KEEPALIVE


@dataclass(frozen=True)
class Split:
    """One `data:` event written in several separate network writes (the fragments join into the payload)."""

    fragments: Sequence[str]


@dataclass(frozen=True)
class Delay:
    """A pause before the next item, in milliseconds."""

    ms: float


@dataclass(frozen=True)
class Event:
    """An SSE event with an `event:` field (the Responses API names its events)."""

    data: Any
    event: str | None = None


@dataclass(frozen=True)
class Raw:
    """Bytes written to the stream exactly as given, for malformed-stream tests."""

    data: bytes


SSEItem = dict | str | Comment | Split | Delay | Event | Raw


@dataclass
class CannedResponse:
    """A response to serve: a body, or (when `sse_events` is given) a chunked `text/event-stream`.

    `body`: bytes are sent as they are, None sends an empty body, anything else is sent as JSON.
    `delay_ms` pauses before the response starts (for timeout tests).
    """

    status: int = 200
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    sse_events: list[SSEItem] | None = None
    delay_ms: float = 0.0

    @property
    def is_stream(self) -> bool:
        return self.sse_events is not None

    def body_bytes(self) -> bytes:
        if self.body is None:
            return b""
        if isinstance(self.body, bytes):
            return self.body
        return _dumps(self.body)


@dataclass(frozen=True)
class RecordedRequest:
    """A request the server received. Header names are lower-case."""

    method: str
    path: str
    headers: dict[str, str]
    json: Any
    body: bytes
    query: dict[str, str] = field(default_factory=dict)

    @property
    def route(self) -> str:
        """The path below `/api/v1`, e.g. `/chat/completions`."""
        return _route(self.path)


# --------------------------------------------------------------------------------------------------
# The recorded corpus
# --------------------------------------------------------------------------------------------------

# The stored body is already decoded and we frame it ourselves, so these recorded headers would lie.
_DROPPED_RESPONSE_HEADERS = frozenset(
    {"content-encoding", "content-length", "transfer-encoding", "connection", "keep-alive", "upgrade",
     "proxy-connection", "te", "trailer"}
)

_CHAT_CREATE_PARAMS = frozenset(
    {"model", "messages", "stream", "stream_options", "max_tokens", "max_completion_tokens", "temperature",
     "top_p", "frequency_penalty", "presence_penalty", "seed", "stop", "n", "tools", "tool_choice",
     "response_format", "user", "logprobs", "top_logprobs", "logit_bias", "parallel_tool_calls",
     "reasoning_effort", "metadata", "store", "modalities", "prediction", "audio", "service_tier",
     "web_search_options", "verbosity", "prompt_cache_key", "safety_identifier"}
)


@dataclass(frozen=True)
class Exchange:
    """One recorded request and OpenRouter's response to it."""

    id: str
    method: str
    url: str
    request_headers: dict[str, str]
    request_body: Any
    status: int
    response_headers: dict[str, str]
    is_stream: bool
    raw_body: bytes | None
    stream_items: tuple[dict, ...]
    recorded_at: str

    @property
    def path(self) -> str:
        return _route(urlsplit(self.url).path)

    @property
    def is_error(self) -> bool:
        return self.status >= 400

    @cached_property
    def response_json(self) -> Any:
        """The parsed non-streamed body (None for streams)."""
        return json.loads(self.raw_body) if self.raw_body is not None else None

    @cached_property
    def events(self) -> list[dict]:
        """The parsed `data:` payloads of a stream, in order, split ones joined (events cut short are left out)."""
        events = []
        for item in _corpus_sse_items(self.stream_items, honor_delays=False):
            if isinstance(item, dict):
                events.append(item)
            elif isinstance(item, Split) and _is_json("".join(item.fragments)):
                events.append(json.loads("".join(item.fragments)))
        return events

    @cached_property
    def is_truncated(self) -> bool:
        """True when an event of the stream is not valid JSON (the SDK fails on it while iterating)."""
        for fragments in _text_groups(self.stream_items):
            payload = "".join(fragments).strip()
            if payload != "[DONE]" and not _is_json(payload):
                return True
        return False

    @cached_property
    def _summary(self) -> _Summary:
        return _summarize(self.events if self.is_stream else [self.response_json])

    @property
    def usage(self) -> dict | None:
        """The final `usage` object the response carries (a stream's last usage chunk)."""
        return self._summary.usage

    @property
    def cost(self) -> float | None:
        return (self.usage or {}).get("cost")

    @property
    def model(self) -> str | None:
        return self._summary.model

    @property
    def provider(self) -> str | None:
        return self._summary.provider

    @property
    def response_id(self) -> str | None:
        return self._summary.id

    @property
    def finish_reasons(self) -> list[str]:
        return self._summary.finish_reasons

    @property
    def content(self) -> str:
        """The assistant text: the message content, or a stream's deltas joined."""
        return self._summary.content

    @property
    def error(self) -> dict | None:
        body = self.response_json
        return body.get("error") if isinstance(body, dict) else None

    def sdk_kwargs(self, *, pin: bool = True) -> dict[str, Any]:
        """Keyword arguments for `client.chat.completions.create(**kwargs)` that send this exact body.

        Keys the SDK does not know go to `extra_body`. With `pin`, the exchange header is added, so even
        a request body recorded twice is answered by this recording.
        """
        body = dict(self.request_body)
        kwargs = {name: body.pop(name) for name in list(body) if name in _CHAT_CREATE_PARAMS}
        if body:
            kwargs["extra_body"] = body
        if pin:
            kwargs["extra_headers"] = {EXCHANGE_HEADER: self.id}
        return kwargs

    def to_canned(self, *, honor_delays: bool = False) -> CannedResponse:
        headers = {name: value for name, value in self.response_headers.items()
                   if name.lower() not in _DROPPED_RESPONSE_HEADERS}
        if not self.is_stream:
            return CannedResponse(status=self.status, body=self.raw_body, headers=headers)
        events = list(_corpus_sse_items(self.stream_items, honor_delays))
        return CannedResponse(status=self.status, headers=headers, sse_events=events)


def load_corpus(corpus_dir: str | Path) -> list[Exchange]:
    """Every exchange folder of a recorded corpus, sorted by id."""
    root = Path(corpus_dir)
    if not root.is_dir():
        raise FileNotFoundError(f"recorded corpus not found: {root}")
    folders = sorted(path for path in root.iterdir() if (path / "response.meta.json").is_file())
    return [_load_exchange(folder) for folder in folders]


def _load_exchange(folder: Path) -> Exchange:
    request = json.loads((folder / "request.json").read_text(encoding="utf-8"))
    meta = json.loads((folder / "response.meta.json").read_text(encoding="utf-8"))
    stream_path = folder / "response.jsonl"
    body_path = folder / "response.json"
    is_stream = stream_path.is_file()
    items = tuple(json.loads(line) for line in stream_path.read_text(encoding="utf-8").splitlines()
                  if line.strip()) if is_stream else ()
    return Exchange(
        id=folder.name,
        method=request.get("method", "POST"),
        url=request.get("url", ""),
        request_headers=dict(request.get("headers") or {}),
        request_body=(request.get("body") or {}).get("json"),
        status=int(meta["status"]),
        response_headers=dict(meta.get("headers") or {}),
        is_stream=is_stream,
        raw_body=None if is_stream else body_path.read_bytes(),
        stream_items=items,
        recorded_at=str(meta.get("cached_at", "")),
    )


def _text_groups(items: Iterable[dict]) -> Iterator[list[str]]:
    """Consecutive `text` items (delays between them aside) form one event; one ending in a blank line closes it."""
    group: list[str] = []
    for item in items:
        if "delay_ms" in item:
            continue
        if "text" in item:
            group.append(item["text"])
            if item["text"].endswith("\n\n"):
                yield group
                group = []
            continue
        if group:
            yield group
            group = []
    if group:
        yield group


def _corpus_sse_items(items: Sequence[dict], honor_delays: bool) -> Iterator[SSEItem]:
    group: list[str] = []
    for item in items:
        if "text" in item:
            group.append(item["text"])
            if item["text"].endswith("\n\n"):
                yield Split(tuple(group))
                group = []
            continue
        if "delay_ms" in item:
            if honor_delays and item["delay_ms"]:
                yield Delay(float(item["delay_ms"]))
            continue
        if group:
            yield Split(tuple(group))
            group = []
        if "comment" in item:
            yield Comment(item["comment"])
        elif "json" in item:
            yield item["json"]
    if group:
        yield Split(tuple(group))


# --------------------------------------------------------------------------------------------------
# Reading what a response carries (corpus, canned or synthesised alike)
# --------------------------------------------------------------------------------------------------


@dataclass
class _Summary:
    id: str | None = None
    model: str | None = None
    provider: str | None = None
    usage: dict | None = None
    finish_reasons: list[str] = field(default_factory=list)
    content: str = ""
    streamed: bool = False


def _summarize(payloads: Iterable[Any]) -> _Summary:
    summary = _Summary()
    pieces: list[str] = []
    for payload in payloads:
        obj = _response_object(payload)
        if not isinstance(obj, dict) or "error" in obj and obj.get("error"):
            continue
        summary.id = summary.id or obj.get("id")
        summary.model = summary.model or obj.get("model")
        summary.provider = summary.provider or obj.get("provider")
        if isinstance(obj.get("usage"), dict):
            summary.usage = obj["usage"]
        for choice in obj.get("choices") or ():
            pieces.append(_choice_text(choice))
            if choice.get("finish_reason"):
                summary.finish_reasons.append(choice["finish_reason"])
    summary.content = "".join(pieces)
    return summary


def _response_object(payload: Any) -> Any:
    """Responses API events wrap the response object; everything else is the object itself."""
    if isinstance(payload, Event):
        payload = payload.data
    if isinstance(payload, dict) and isinstance(payload.get("response"), dict):
        return payload["response"]
    return payload


def _choice_text(choice: dict) -> str:
    holder = choice.get("delta") or choice.get("message") or {}
    text = holder.get("content") if isinstance(holder, dict) else None
    return text or choice.get("text") or ""


# --------------------------------------------------------------------------------------------------
# Building OpenRouter-shaped bodies
# --------------------------------------------------------------------------------------------------

_ALNUM = string.ascii_letters + string.digits
_ids = random.Random()
_id_lock = threading.Lock()


def _random_chars(count: int, rng: random.Random | None = None) -> str:
    if rng is not None:
        return "".join(rng.choices(_ALNUM, k=count))
    with _id_lock:
        return "".join(_ids.choices(_ALNUM, k=count))


def new_generation_id(created: int | None = None, rng: random.Random | None = None) -> str:
    """An id shaped like OpenRouter's: `gen-<unix seconds>-<20 letters and digits>`."""
    return f"gen-{created or int(time.time())}-{_random_chars(20, rng)}"


def _openai_id(prefix: str, rng: random.Random | None = None) -> str:
    return f"{prefix}{_random_chars(29, rng)}"


def usage_block(
    prompt_tokens: int = DEFAULT_PROMPT_TOKENS,
    completion_tokens: int = 10,
    *,
    prompt_price: float = 3e-6,
    completion_price: float = 15e-6,
    is_byok: bool = False,
    cached_tokens: int = 0,
    cache_write_tokens: int = 0,
    reasoning_tokens: int = 0,
    include_cost: bool = True,
) -> dict[str, Any]:
    """An OpenRouter `usage` object; prices are USD per token. BYOK: OpenRouter charges 5% of the upstream cost."""
    prompt_cost = _prompt_cost(prompt_tokens, cached_tokens, cache_write_tokens, prompt_price)
    completion_cost = _round_usd(completion_tokens * completion_price)
    upstream = _round_usd(prompt_cost + completion_cost)
    usage: dict[str, Any] = {
        "prompt_tokens": prompt_tokens,
        "completion_tokens": completion_tokens,
        "total_tokens": prompt_tokens + completion_tokens,
    }
    if include_cost:
        usage["cost"] = _round_usd(upstream * 0.05) if is_byok else upstream
        usage["is_byok"] = is_byok
    usage["prompt_tokens_details"] = {"cached_tokens": cached_tokens, "cache_write_tokens": cache_write_tokens,
                                      "audio_tokens": 0, "video_tokens": 0}
    if include_cost:
        usage["cost_details"] = {"upstream_inference_cost": upstream if is_byok else None,
                                 "upstream_inference_prompt_cost": prompt_cost,
                                 "upstream_inference_completions_cost": completion_cost}
    usage["completion_tokens_details"] = {"reasoning_tokens": reasoning_tokens, "image_tokens": 0}
    return usage


def _prompt_cost(prompt_tokens: int, cached: int, written: int, price: float) -> float:
    # Cache reads are billed at a tenth of the input price, cache writes at 1.25x, as Anthropic does.
    plain = max(prompt_tokens - cached - written, 0)
    return _round_usd(plain * price + cached * price * 0.1 + written * price * 1.25)


def _round_usd(value: float) -> float:
    return round(value, 10)


def _openai_usage(prompt_tokens: int, completion_tokens: int, reasoning_tokens: int = 0) -> dict[str, Any]:
    return {
        "prompt_tokens": prompt_tokens,
        "completion_tokens": completion_tokens,
        "total_tokens": prompt_tokens + completion_tokens,
        "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
        "completion_tokens_details": {"reasoning_tokens": reasoning_tokens, "audio_tokens": 0,
                                      "accepted_prediction_tokens": 0, "rejected_prediction_tokens": 0},
    }


def _pieces(text: str) -> list[str]:
    """Split text into stream deltas: words with their trailing whitespace."""
    return re.findall(r"\S+\s*|\s+", text) or [text]


def chat_completion_body(
    *,
    model: str = "openai/gpt-4o-mini",
    content: str | None = DEFAULT_REPLY,
    id: str | None = None,
    provider: str | None = "OpenAI",
    usage: dict | None = None,
    include_usage: bool = True,
    finish_reason: str = "stop",
    created: int | None = None,
    reasoning: str | None = None,
    tool_calls: list[dict] | None = None,
) -> dict[str, Any]:
    """A non-streamed chat completion as OpenRouter sends it; `provider=None` gives api.openai.com's shape."""
    openrouter = provider is not None
    message: dict[str, Any] = {"role": "assistant", "content": content, "refusal": None}
    if openrouter:
        message["reasoning"] = reasoning
        if reasoning:
            message["reasoning_details"] = [_reasoning_detail(reasoning)]
    else:
        message["annotations"] = []
    if tool_calls:
        message["tool_calls"] = tool_calls
    choice: dict[str, Any] = {"logprobs": None, "finish_reason": finish_reason, "index": 0, "message": message}
    if openrouter:
        choice["native_finish_reason"] = finish_reason
    body: dict[str, Any] = {"id": id or (new_generation_id() if openrouter else _openai_id("chatcmpl-"))}
    if openrouter:
        body["provider"] = provider
    body.update({"model": model, "object": "chat.completion", "created": created or int(time.time()),
                 "choices": [choice]})
    if include_usage:
        body["usage"] = usage if usage is not None else usage_block(completion_tokens=len(_pieces(content or "")))
    if not openrouter:
        body.update({"service_tier": "default", "system_fingerprint": "fp_replay"})
    return body


def _reasoning_detail(text: str) -> dict[str, Any]:
    return {"type": "reasoning.text", "text": text, "format": "unknown", "index": 0}


def chat_stream_events(
    *,
    model: str = "openai/gpt-4o-mini",
    pieces: Sequence[str] | None = None,
    id: str | None = None,
    provider: str | None = "OpenAI",
    usage: dict | None = None,
    include_usage: bool = True,
    finish_reason: str = "stop",
    created: int | None = None,
    reasoning_pieces: Sequence[str] = (),
    tool_calls: list[dict] | None = None,
    keepalive: bool = True,
    delay_ms: float = 0.0,
    done: bool = True,
) -> list[SSEItem]:
    """A streamed chat completion as OpenRouter sends it: keep-alive comments, a role chunk, content deltas,
    a finish_reason chunk, a usage chunk with empty choices (sent even without `include_usage`), `[DONE]`.

    `provider=None` gives api.openai.com's shape (no comments, no provider fields). `delay_ms` pauses
    before each content delta.
    """
    pieces = list(_pieces(DEFAULT_REPLY) if pieces is None else pieces)
    chunk = _ChunkMaker(id or new_generation_id(), model, provider, created or int(time.time()))
    events: list[SSEItem] = [Comment()] if keepalive else []
    events.append(chunk.delta({"content": ""}))
    events.extend(chunk.delta({"content": "", "reasoning": piece,
                               "reasoning_details": [_reasoning_detail(piece)]}) for piece in reasoning_pieces)
    if tool_calls:
        events.extend(chunk.delta({"content": None, "tool_calls": [delta]}) for delta in _tool_call_deltas(tool_calls))
    for index, piece in enumerate(pieces):
        if delay_ms:
            events.append(Delay(delay_ms))
        if keepalive and index == len(pieces) // 2 and index:
            events.append(Comment())
        events.append(chunk.delta({"content": piece}))
    events.append(chunk.delta({"content": ""}, finish_reason=finish_reason))
    if include_usage:
        completion_tokens = len(pieces) + len(reasoning_pieces)
        events.append(chunk.usage(usage if usage is not None else usage_block(completion_tokens=completion_tokens)))
    if done:
        events.append("[DONE]")
    return events


@dataclass(frozen=True)
class _ChunkMaker:
    id: str
    model: str
    provider: str | None
    created: int
    object: str = "chat.completion.chunk"

    def _base(self) -> dict[str, Any]:
        base: dict[str, Any] = {"id": self.id}
        if self.provider is not None:
            base["provider"] = self.provider
        base.update({"model": self.model, "object": self.object, "created": self.created})
        return base

    def delta(self, delta: dict[str, Any], finish_reason: str | None = None) -> dict[str, Any]:
        if self.provider is not None:
            delta = {"role": "assistant", **delta}
            delta.setdefault("reasoning", None)
            delta.setdefault("reasoning_details", [])
        choice: dict[str, Any] = {"index": 0, "delta": delta, "finish_reason": finish_reason}
        if self.provider is not None:
            choice["native_finish_reason"] = finish_reason
        choice["logprobs"] = None
        return {**self._base(), "choices": [choice]}

    def text(self, text: str, finish_reason: str | None = None) -> dict[str, Any]:
        choice = {"text": text, "index": 0, "logprobs": None, "finish_reason": finish_reason}
        if self.provider is not None:
            choice["native_finish_reason"] = finish_reason
        return {**self._base(), "choices": [choice]}

    def usage(self, usage: dict[str, Any]) -> dict[str, Any]:
        return {**self._base(), "choices": [], "usage": usage}


def _tool_call_deltas(tool_calls: list[dict]) -> Iterator[dict[str, Any]]:
    for index, call in enumerate(tool_calls):
        function = call["function"]
        yield {"index": index, "id": call["id"], "type": "function",
               "function": {"name": function["name"], "arguments": ""}}
        yield {"index": index, "function": {"arguments": function["arguments"]}}


def completion_body(
    *,
    model: str = "openai/gpt-3.5-turbo-instruct",
    text: str = DEFAULT_REPLY,
    id: str | None = None,
    provider: str | None = "OpenAI",
    usage: dict | None = None,
    include_usage: bool = True,
    finish_reason: str = "stop",
    created: int | None = None,
) -> dict[str, Any]:
    """A legacy `/completions` text completion."""
    default_id = new_generation_id() if provider is not None else _openai_id("cmpl-")
    chunk = _ChunkMaker(id or default_id, model, provider, created or int(time.time()), object="text_completion")
    body = chunk.text(text, finish_reason)
    if include_usage:
        body["usage"] = usage if usage is not None else usage_block(completion_tokens=len(_pieces(text)))
    return body


def _completion_stream_events(chunk: _ChunkMaker, pieces: Sequence[str], usage: dict | None,
                              keepalive: bool) -> list[SSEItem]:
    events: list[SSEItem] = [Comment()] if keepalive else []
    events.extend(chunk.text(piece) for piece in pieces)
    events.append(chunk.text("", finish_reason="stop"))
    if usage is not None:
        events.append(chunk.usage(usage))
    events.append("[DONE]")
    return events


def embeddings_body(
    *,
    model: str = "openai/text-embedding-3-small",
    inputs: Sequence[str] = ("",),
    dimensions: int = 8,
    encoding_format: str = "float",
    id: str | None = None,
    provider: str | None = "OpenAI",
    usage: dict | None = None,
) -> dict[str, Any]:
    """An `/embeddings` response: one deterministic vector per input; base64 when the SDK asks for it."""
    data = [{"object": "embedding", "index": index,
             "embedding": _encode_vector(_vector(text, dimensions), encoding_format)}
            for index, text in enumerate(inputs)]
    body: dict[str, Any] = {"object": "list", "data": data, "model": model}
    if provider is not None:
        body = {"id": id or new_generation_id(), "provider": provider, **body}
    tokens = sum(_estimate_tokens(text) for text in inputs)
    body["usage"] = usage if usage is not None else {"prompt_tokens": tokens, "total_tokens": tokens,
                                                     "cost": _round_usd(tokens * 2e-8), "is_byok": False}
    return body


def _vector(text: str, dimensions: int) -> list[float]:
    digest = hashlib.sha256(text.encode("utf-8")).digest()
    return [round((digest[i % len(digest)] - 128) / 128.0, 6) for i in range(dimensions)]


def _encode_vector(vector: list[float], encoding_format: str) -> list[float] | str:
    if encoding_format != "base64":
        return vector
    return base64.b64encode(struct.pack(f"<{len(vector)}f", *vector)).decode("ascii")


def responses_body(
    *,
    model: str = "openai/gpt-4o-mini",
    text: str = DEFAULT_REPLY,
    id: str | None = None,
    provider: str | None = "OpenAI",
    usage: dict | None = None,
    created: int | None = None,
    status: str = "completed",
    item_id: str | None = None,
) -> dict[str, Any]:
    """A Responses API (`/responses`) response object with one output message."""
    created = created or int(time.time())
    body: dict[str, Any] = {"id": id or new_generation_id(), "object": "response", "created_at": created}
    if provider is not None:
        body["provider"] = provider
    body.update({
        "status": status, "completed_at": created if status == "completed" else None, "model": model,
        "output": [_output_message(item_id or f"msg_{_random_chars(24)}", text)] if status == "completed" else [],
        "error": None, "incomplete_details": None, "instructions": None, "metadata": {},
        "parallel_tool_calls": True, "temperature": None, "top_p": None, "tool_choice": "auto", "tools": [],
        "max_output_tokens": None, "previous_response_id": None, "text": {"format": {"type": "text"}},
        "truncation": "disabled", "usage": None,
    })
    if status == "completed":
        body["usage"] = usage if usage is not None else _responses_usage(usage_block(
            completion_tokens=len(_pieces(text))))
    return body


def _output_message(item_id: str, text: str, status: str = "completed") -> dict[str, Any]:
    content = [_output_text(text)] if status == "completed" else []
    return {"type": "message", "id": item_id, "status": status, "role": "assistant", "content": content}


def _output_text(text: str) -> dict[str, Any]:
    return {"type": "output_text", "text": text, "annotations": [], "logprobs": []}


def _responses_usage(chat_usage: dict[str, Any]) -> dict[str, Any]:
    prompt_details = chat_usage.get("prompt_tokens_details") or {}
    completion_details = chat_usage.get("completion_tokens_details") or {}
    usage: dict[str, Any] = {
        "input_tokens": chat_usage["prompt_tokens"],
        "input_tokens_details": {"cached_tokens": prompt_details.get("cached_tokens", 0),
                                 "cache_write_tokens": prompt_details.get("cache_write_tokens", 0)},
        "output_tokens": chat_usage["completion_tokens"],
        "output_tokens_details": {"reasoning_tokens": completion_details.get("reasoning_tokens", 0)},
        "total_tokens": chat_usage["total_tokens"],
    }
    for key in ("cost", "is_byok", "cost_details"):
        if key in chat_usage:
            usage[key] = chat_usage[key]
    return usage


def responses_stream_events(
    *,
    model: str = "openai/gpt-4o-mini",
    pieces: Sequence[str] | None = None,
    id: str | None = None,
    provider: str | None = "OpenAI",
    usage: dict | None = None,
    created: int | None = None,
    keepalive: bool = True,
    item_id: str | None = None,
) -> list[SSEItem]:
    """A streamed Responses API call: created, in_progress, output item and text events, `response.completed`."""
    pieces = list(_pieces(DEFAULT_REPLY) if pieces is None else pieces)
    text = "".join(pieces)
    response_id, created = id or new_generation_id(), created or int(time.time())
    item_id = item_id or f"msg_{_random_chars(24)}"
    start = responses_body(model=model, text=text, id=response_id, provider=provider, created=created,
                           status="in_progress")
    final = responses_body(model=model, text=text, id=response_id, provider=provider, created=created, usage=usage,
                           item_id=item_id)
    part = {"item_id": item_id, "output_index": 0, "content_index": 0}
    payloads: list[dict[str, Any]] = [
        {"type": "response.created", "response": start},
        {"type": "response.in_progress", "response": start},
        {"type": "response.output_item.added", "output_index": 0, "item": _output_message(item_id, "", "in_progress")},
        {"type": "response.content_part.added", **part, "part": _output_text("")},
        *({"type": "response.output_text.delta", **part, "delta": piece, "logprobs": []} for piece in pieces),
        {"type": "response.output_text.done", **part, "text": text, "logprobs": []},
        {"type": "response.content_part.done", **part, "part": _output_text(text)},
        {"type": "response.output_item.done", "output_index": 0, "item": final["output"][0]},
        {"type": "response.completed", "response": final},
    ]
    events: list[SSEItem] = [Comment()] if keepalive else []
    for number, payload in enumerate(payloads):
        events.append(Event({**payload, "sequence_number": number}, event=payload["type"]))
    return events


def error_body(code: int, message: str, metadata: dict | None = None, *, user_id: str | None = None) -> dict:
    """OpenRouter's error body: `{"error": {"message", "code", "metadata"}}` (and `user_id` on provider errors)."""
    error: dict[str, Any] = {"message": message, "code": code}
    if metadata is not None:
        error["metadata"] = metadata
    body: dict[str, Any] = {"error": error}
    if user_id is not None:
        body["user_id"] = user_id
    return body


def generation_body(
    *,
    id: str,
    model: str,
    provider: str | None,
    usage: Mapping[str, Any],
    total_cost: float | None = None,
    streamed: bool = False,
    finish_reason: str | None = "stop",
    created: int | None = None,
) -> dict[str, Any]:
    """What `GET /api/v1/generation?id=...` returns for a generation with this usage."""
    prompt, completion = _usage_tokens(usage)
    cost_details = usage.get("cost_details") or {}
    reasoning = (usage.get("completion_tokens_details") or usage.get("output_tokens_details") or {})
    cached = (usage.get("prompt_tokens_details") or usage.get("input_tokens_details") or {})
    cost = total_cost if total_cost is not None else usage.get("cost", 0.0)
    created_at = time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime(created or time.time()))
    return {"data": {
        "id": id, "upstream_id": f"upstream-{id}", "total_cost": cost, "usage": cost, "cache_discount": None,
        "upstream_inference_cost": cost_details.get("upstream_inference_cost"), "created_at": created_at,
        "model": model, "app_id": None, "streamed": streamed, "cancelled": False, "provider_name": provider,
        "latency": 120, "moderation_latency": None, "generation_time": 480, "finish_reason": finish_reason,
        "native_finish_reason": finish_reason, "tokens_prompt": prompt, "tokens_completion": completion,
        "native_tokens_prompt": prompt, "native_tokens_completion": completion,
        "native_tokens_reasoning": reasoning.get("reasoning_tokens", 0),
        "native_tokens_cached": cached.get("cached_tokens", 0), "num_media_prompt": None,
        "num_media_completion": None, "num_search_results": None, "origin": "", "is_byok": bool(usage.get("is_byok")),
        "external_user": None, "api_type": "completions",
    }}


def _usage_tokens(usage: Mapping[str, Any]) -> tuple[int, int]:
    prompt = usage.get("prompt_tokens", usage.get("input_tokens", 0))
    completion = usage.get("completion_tokens", usage.get("output_tokens", 0))
    return int(prompt or 0), int(completion or 0)


# --------------------------------------------------------------------------------------------------
# Synthesised scenarios
# --------------------------------------------------------------------------------------------------

_PROVIDERS = {"openai": "OpenAI", "anthropic": "Anthropic", "google": "Google AI Studio",
              "meta-llama": "Together", "mistralai": "Mistral", "deepseek": "DeepSeek", "x-ai": "xAI",
              "qwen": "Alibaba", "cohere": "Cohere"}
_ALTERNATE_PROVIDERS = {"Anthropic": "Amazon Bedrock", "OpenAI": "Azure", "Google AI Studio": "Google Vertex"}
_PRICES = {"anthropic": (3e-6, 15e-6), "openai": (2.5e-6, 10e-6), "google": (3e-7, 2.5e-6)}
_DEFAULT_PRICE = (5e-7, 1.5e-6)
_EMBEDDING_PRICE = (2e-8, 0.0)
_DATED_MODELS = {"anthropic/claude-sonnet-4.6": "anthropic/claude-4.6-sonnet-20260217"}
_MODEL_DATE = "20260217"
_DEFAULT_MODELS = {"/chat/completions": "openai/gpt-4o-mini", "/completions": "openai/gpt-3.5-turbo-instruct",
                   "/embeddings": "openai/text-embedding-3-small", "/responses": "openai/gpt-4o-mini"}
_FALLBACK_MODEL = "anthropic/claude-sonnet-4.5"
_STREAMING_SCENARIOS = frozenset({"chat_stream", "responses_stream", "slow_stream", "stream_error"})
_REPLAY_USER = "org_replay0000000000000000000"
_REASONING = "The user wants a short answer, so I will reply in one sentence."
_SYNTHESISED_EPOCH = 1767225600  # 2026-01-01T00:00:00Z; `created` and ids fall within the year after
_SYNTHESISED_SPAN_S = 365 * 86400


def _vendor(model: str) -> str:
    return model.split("/", 1)[0] if "/" in model else ""


def _provider_for(model: str) -> str:
    return _PROVIDERS.get(_vendor(model), "DeepInfra")


def _prices_for(model: str, route: str) -> tuple[float, float]:
    if route == "/embeddings":
        return _EMBEDDING_PRICE
    return _PRICES.get(_vendor(model), _DEFAULT_PRICE)


def _dated(model: str) -> str:
    return _DATED_MODELS.get(model) or f"{model}-{_MODEL_DATE}"


def _estimate_tokens(value: Any) -> int:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    return max(1, len(text) // 4)


@dataclass
class _Outcome:
    """What a synthesised call produced, independent of the endpoint's shape."""

    id: str
    model: str
    provider: str | None
    created: int
    pieces: list[str]
    usage: dict[str, Any] | None
    generation: dict[str, Any] | None = None
    reasoning_pieces: list[str] = field(default_factory=list)
    tool_calls: list[dict] | None = None
    finish_reason: str = "stop"
    openai_style: bool = False
    delay_ms: float = 0.0

    @property
    def text(self) -> str:
        return "".join(self.pieces)


class _Scenario:
    """Synthesises one scenario's response to one request."""

    def __init__(self, name: str, request: RecordedRequest) -> None:
        self.name = name
        self.request = request
        self.body: dict[str, Any] = request.json if isinstance(request.json, dict) else {}
        self.route = request.route
        self.requested_model = self._requested_model()
        self.stream = self.body.get("stream") is True or name in _STREAMING_SCENARIOS
        # The same scenario asked the same thing answers the same bytes, ids included, as replays do.
        seed = int.from_bytes(hashlib.sha256(
            f"{name}\n{request.method}\n{self.route}\n{_canonical(request.json)}".encode()).digest()[:8], "big")
        self.rng = random.Random(seed)
        self.created = _SYNTHESISED_EPOCH + seed % _SYNTHESISED_SPAN_S

    def _requested_model(self) -> str:
        model = self.body.get("model")
        if not isinstance(model, str) or not model or model.startswith(SCENARIO_MODEL_PREFIX):
            return _DEFAULT_MODELS.get(self.route, "openai/gpt-4o-mini")
        return model

    # ---- the outcome ----------------------------------------------------------------------------

    def outcome(self) -> _Outcome:
        served = self._served_model()
        provider = None if self.name == "openai_style" else self._served_provider(served)
        pieces, tool_calls = self._reply()
        reasoning = _pieces(_REASONING) if self.name == "reasoning" else []
        outcome = _Outcome(
            id=self._openai_id() if provider is None else new_generation_id(self.created, self.rng),
            model=served, provider=provider, created=self.created, pieces=pieces, usage=None,
            reasoning_pieces=reasoning, tool_calls=tool_calls, openai_style=provider is None,
            finish_reason="tool_calls" if tool_calls else "stop",
        )
        self._account(outcome)
        return outcome

    def _served_model(self) -> str:
        if self.name == "dated_model":
            return _dated(self.requested_model)
        if self.name == "fallback":
            return self._fallback_model()
        return self.requested_model

    def _fallback_model(self) -> str:
        models = [model for model in self.body.get("models") or () if isinstance(model, str)]
        if len(models) >= 2:
            return models[1]
        return _FALLBACK_MODEL if self.requested_model != _FALLBACK_MODEL else "openai/gpt-4o-mini"

    def _served_provider(self, served: str) -> str:
        provider = _provider_for(served)
        if self.name == "fallback" and provider == _provider_for(self.requested_model):
            provider = _ALTERNATE_PROVIDERS.get(provider, "DeepInfra")
        return provider

    def _openai_id(self) -> str:
        prefix = {"/completions": "cmpl-", "/responses": "resp_"}.get(self.route, "chatcmpl-")
        return _openai_id(prefix, self.rng)

    def _reply(self) -> tuple[list[str], list[dict] | None]:
        if self.name == "tool_calls" and self.route == "/chat/completions":
            return [], [_tool_call(self.body.get("tools"), self.rng)]
        if self.name == "slow_stream":
            return [f"{index} " for index in range(1, SLOW_STREAM_CHUNKS + 1)], None
        structured = _structured_reply(self.body.get("response_format"), force=self.name == "structured")
        return _pieces(structured if structured is not None else DEFAULT_REPLY), None

    def _account(self, outcome: _Outcome) -> None:
        """Token counts, cost and the generation record, as this scenario reports them."""
        prompt_tokens = self._prompt_tokens()
        completion_tokens = len(outcome.pieces) + len(outcome.reasoning_pieces) + 8 * len(outcome.tool_calls or ())
        if self.route == "/embeddings":
            completion_tokens = 0
        if outcome.openai_style:
            outcome.usage = _openai_usage(prompt_tokens, completion_tokens, len(outcome.reasoning_pieces))
            return
        full = self._usage(prompt_tokens, completion_tokens, outcome)
        outcome.generation = generation_body(id=outcome.id, model=outcome.model, provider=outcome.provider,
                                             usage=full, streamed=self.stream, created=outcome.created,
                                             finish_reason=outcome.finish_reason)
        outcome.usage = _without_cost(full) if self.name == "no_cost" else full

    def _prompt_tokens(self) -> int:
        source = self.body.get("messages") or self.body.get("prompt") or self.body.get("input") or ""
        tokens = _estimate_tokens(source)
        return max(tokens, 1024) if self.name == "cached_prompt" else tokens

    def _usage(self, prompt_tokens: int, completion_tokens: int, outcome: _Outcome) -> dict[str, Any]:
        prompt_price, completion_price = _prices_for(outcome.model, self.route)
        cached = self.name == "cached_prompt"
        return usage_block(
            prompt_tokens, completion_tokens, prompt_price=prompt_price, completion_price=completion_price,
            is_byok=self.name == "byok", reasoning_tokens=len(outcome.reasoning_pieces),
            cached_tokens=prompt_tokens * 3 // 4 if cached else 0,
            cache_write_tokens=prompt_tokens // 8 if cached else 0,
        )

    # ---- the shape ------------------------------------------------------------------------------

    def render(self, outcome: _Outcome) -> CannedResponse:
        renderer = {"/completions": self._render_completion, "/embeddings": self._render_embeddings,
                    "/responses": self._render_responses}.get(self.route, self._render_chat)
        canned = renderer(outcome)
        canned.headers.setdefault("Content-Type", "text/event-stream" if canned.is_stream else "application/json")
        if canned.is_stream:
            canned.headers.setdefault("Cache-Control", "no-cache")
        return canned

    def _render_chat(self, outcome: _Outcome) -> CannedResponse:
        if not self.stream:
            reasoning = "".join(outcome.reasoning_pieces) or None
            return CannedResponse(body=chat_completion_body(
                model=outcome.model, content=None if outcome.tool_calls else outcome.text, id=outcome.id,
                provider=outcome.provider, usage=outcome.usage, finish_reason=outcome.finish_reason,
                created=outcome.created, reasoning=reasoning, tool_calls=outcome.tool_calls))
        return CannedResponse(sse_events=chat_stream_events(
            model=outcome.model, pieces=outcome.pieces, id=outcome.id, provider=outcome.provider,
            usage=outcome.usage, include_usage=self._streams_usage(outcome), finish_reason=outcome.finish_reason,
            created=outcome.created, reasoning_pieces=outcome.reasoning_pieces, tool_calls=outcome.tool_calls,
            keepalive=not outcome.openai_style, delay_ms=outcome.delay_ms))

    def _streams_usage(self, outcome: _Outcome) -> bool:
        """OpenRouter always sends the usage chunk; OpenAI only when `stream_options.include_usage` asks."""
        if not outcome.openai_style:
            return True
        options = self.body.get("stream_options")
        return isinstance(options, dict) and options.get("include_usage") is True

    def _render_completion(self, outcome: _Outcome) -> CannedResponse:
        chunk = _ChunkMaker(outcome.id, outcome.model, outcome.provider, outcome.created, object="text_completion")
        if not self.stream:
            return CannedResponse(body=completion_body(model=outcome.model, text=outcome.text, id=outcome.id,
                                                       provider=outcome.provider, usage=outcome.usage,
                                                       created=outcome.created))
        usage = outcome.usage if self._streams_usage(outcome) else None
        return CannedResponse(sse_events=_completion_stream_events(chunk, outcome.pieces, usage,
                                                                   keepalive=not outcome.openai_style))

    def _render_embeddings(self, outcome: _Outcome) -> CannedResponse:
        usage = dict(outcome.usage or {})
        for key in ("completion_tokens", "completion_tokens_details"):
            usage.pop(key, None)
        return CannedResponse(body=embeddings_body(
            model=outcome.model, inputs=_embedding_inputs(self.body.get("input")),
            dimensions=int(self.body.get("dimensions") or 8),
            encoding_format=str(self.body.get("encoding_format") or "float"),
            id=outcome.id, provider=outcome.provider, usage=usage))

    def _render_responses(self, outcome: _Outcome) -> CannedResponse:
        usage = _responses_usage(outcome.usage) if outcome.usage else None
        item_id = f"msg_{_random_chars(24, self.rng)}"
        if not self.stream:
            return CannedResponse(body=responses_body(model=outcome.model, text=outcome.text, id=outcome.id,
                                                      provider=outcome.provider, usage=usage, created=outcome.created,
                                                      item_id=item_id))
        return CannedResponse(sse_events=responses_stream_events(
            model=outcome.model, pieces=outcome.pieces, id=outcome.id, provider=outcome.provider, usage=usage,
            created=outcome.created, keepalive=not outcome.openai_style, item_id=item_id))

    # ---- scenarios that are not a plain outcome -------------------------------------------------

    def provider_error(self, status: int, message: str, raw: str, headers: dict[str, str] | None = None
                       ) -> CannedResponse:
        provider = _provider_for(self.requested_model)
        body = error_body(status, message, {"raw": raw, "provider_name": provider}, user_id=_REPLAY_USER)
        return CannedResponse(status=status, body=body, headers={"Content-Type": "application/json", **(headers or {})})

    def credits_402(self) -> CannedResponse:
        message = ("Insufficient credits. This account never purchased credits. Make sure your key is on the "
                   "correct account or org, and if so, purchase more at https://openrouter.ai/settings/credits")
        body = error_body(402, message, {"provider_name": None}, user_id=_REPLAY_USER)
        return CannedResponse(status=402, body=body, headers={"Content-Type": "application/json"})

    def rate_limit_429(self) -> CannedResponse:
        raw = (f"{self.requested_model} is temporarily rate-limited upstream. Please retry shortly, or add your "
               "own key to accumulate your rate limits: https://openrouter.ai/settings/integrations")
        return self.provider_error(429, "Provider returned error", raw, {"Retry-After": "0"})

    def upstream_502(self) -> CannedResponse:
        return self.provider_error(502, "Provider returned error",
                                   "upstream connect error or disconnect/reset before headers")

    def error_in_200(self) -> CannedResponse:
        """HTTP 200 whose body is an error; a streamed request gets it as its only SSE data event."""
        canned = self.provider_error(502, "Provider returned error", "Internal server error")
        canned.status = 200
        if self.stream:
            return _as_stream([Comment(), canned.body])
        return canned

    def choices_null(self) -> CannedResponse:
        outcome = self.outcome()
        body = chat_completion_body(model=outcome.model, id=outcome.id, provider=outcome.provider,
                                    usage=outcome.usage, created=outcome.created)
        body["choices"] = None
        if self.stream:
            body["object"] = "chat.completion.chunk"
            return _as_stream([Comment(), body, "[DONE]"])
        return CannedResponse(body=body, headers={"Content-Type": "application/json"})

    def stream_error(self) -> CannedResponse:
        outcome = self.outcome()
        outcome.pieces = outcome.pieces[:3]
        chunk = _ChunkMaker(outcome.id, outcome.model, outcome.provider, outcome.created)
        events = chat_stream_events(model=outcome.model, pieces=outcome.pieces, id=outcome.id,
                                    provider=outcome.provider, created=outcome.created, include_usage=False)
        events = events[:-2]  # no clean finish chunk and no [DONE]: the error ends the stream
        error_chunk = chunk.delta({"content": ""}, finish_reason="error")
        error_chunk["error"] = {"code": 502, "message": "Provider disconnected unexpectedly",
                                "metadata": {"provider_name": outcome.provider}}
        events.append(error_chunk)
        return _as_stream(events)

    def slow_stream(self) -> CannedResponse:
        outcome = self.outcome()
        outcome.delay_ms = SLOW_STREAM_DELAY_MS
        return self.render(outcome)


_SPECIAL_SCENARIOS: dict[str, Callable[[_Scenario], CannedResponse]] = {
    "credits_402": _Scenario.credits_402,
    "rate_limit_429": _Scenario.rate_limit_429,
    "upstream_502": _Scenario.upstream_502,
    "error_in_200": _Scenario.error_in_200,
    "choices_null": _Scenario.choices_null,
    "stream_error": _Scenario.stream_error,
    "slow_stream": _Scenario.slow_stream,
}


def _as_stream(events: list[SSEItem]) -> CannedResponse:
    return CannedResponse(sse_events=events, headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache"})


def _without_cost(usage: dict[str, Any]) -> dict[str, Any]:
    """Usage as older OpenRouter responses carried it: token counts only."""
    return {key: usage[key] for key in ("prompt_tokens", "completion_tokens", "total_tokens")}


def _embedding_inputs(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list) and value and all(isinstance(item, int) for item in value):
        return [json.dumps(value)]
    if isinstance(value, list) and value:
        return [item if isinstance(item, str) else json.dumps(item) for item in value]
    return [""]


def _structured_reply(response_format: Any, *, force: bool) -> str | None:
    """JSON content that satisfies the request's `response_format` (so `.parse()` succeeds)."""
    if isinstance(response_format, dict) and response_format.get("type") == "json_schema":
        spec = response_format.get("json_schema") or {}
        schema = spec.get("schema") or {}
        return json.dumps(_schema_instance(schema, schema))
    if force or isinstance(response_format, dict) and response_format.get("type") == "json_object":
        return json.dumps({"text": "hello"})
    return None


def _schema_instance(schema: Any, root: dict[str, Any], depth: int = 0) -> Any:
    if not isinstance(schema, dict) or depth > 8:
        return None
    if "$ref" in schema:
        return _schema_instance(_resolve_ref(schema["$ref"], root), root, depth + 1)
    if "const" in schema:
        return schema["const"]
    if schema.get("enum"):
        return schema["enum"][0]
    for key in ("anyOf", "oneOf", "allOf"):
        options = [option for option in schema.get(key) or () if option.get("type") != "null"]
        if options:
            return _schema_instance(options[0], root, depth + 1)
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((item for item in kind if item != "null"), "null")
    if kind == "object" or "properties" in schema:
        return {name: _schema_instance(sub, root, depth + 1) for name, sub in (schema.get("properties") or {}).items()}
    return {"array": [], "string": "hello", "integer": 1, "number": 1.0, "boolean": True}.get(str(kind))


def _resolve_ref(ref: str, root: dict[str, Any]) -> Any:
    node: Any = root
    for part in ref.lstrip("#/").split("/"):
        node = node.get(part) if isinstance(node, dict) else None
    return node


def _tool_call(tools: Any, rng: random.Random) -> dict[str, Any]:
    function = next((tool.get("function") for tool in tools or () if isinstance(tool, dict)
                     and tool.get("type") == "function" and isinstance(tool.get("function"), dict)), None)
    name = function["name"] if function else "get_weather"
    parameters = function.get("parameters") if function else None
    arguments = _schema_instance(parameters, parameters) if parameters else {"location": "Paris"}
    return {"id": f"call_{_random_chars(24, rng)}", "type": "function",
            "function": {"name": name, "arguments": json.dumps(arguments)}}


# --------------------------------------------------------------------------------------------------
# Writing responses
# --------------------------------------------------------------------------------------------------


def _dumps(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def _is_json(text: str) -> bool:
    try:
        json.loads(text)
    except ValueError:
        return False
    return True


def _route(path: str) -> str:
    # OpenRouter's layout (/api/v1/...) and OpenAI's (/v1/...), so one server can play either.
    for prefix in (API_PREFIX, OPENAI_PREFIX):
        if path.startswith(prefix + "/"):
            return path[len(prefix):]
    return path


def _data_event(payload: str) -> bytes:
    terminator = "" if payload.endswith("\n\n") else "\n\n"
    return f"data: {payload}{terminator}".encode()


def _sse_writes(items: Iterable[SSEItem]) -> Iterator[bytes | float]:
    """What to write, in order: bytes are one network write each, floats are pauses in seconds."""
    for item in items:
        if isinstance(item, Delay):
            yield item.ms / 1000.0
        elif isinstance(item, Split):
            yield from _split_writes(item.fragments)
        else:
            yield _encode_item(item)


def _split_writes(fragments: Sequence[str]) -> Iterator[bytes | float]:
    joined = "".join(fragments)
    last = len(fragments) - 1
    for index, fragment in enumerate(fragments):
        text = ("data: " if index == 0 else "") + fragment
        if index == last and not joined.endswith("\n\n"):
            text += "\n\n"
        if index:
            yield SPLIT_PAUSE_S
        yield text.encode("utf-8")


def _encode_item(item: SSEItem) -> bytes:
    if isinstance(item, Raw):
        return item.data
    if isinstance(item, Comment):
        text = item.text if item.text.startswith(":") else f": {item.text}"
        return (text if text.endswith("\n") else text + "\n\n").encode("utf-8")
    if isinstance(item, Event):
        data = item.data if isinstance(item.data, str) else _dumps(item.data).decode("utf-8")
        prefix = f"event: {item.event}\n" if item.event else ""
        return prefix.encode("utf-8") + _data_event(data)
    if isinstance(item, str):
        return _data_event(item)
    return _data_event(_dumps(item).decode("utf-8"))


def _status_line(status: int) -> bytes:
    try:
        reason = HTTPStatus(status).phrase
    except ValueError:
        reason = ""
    return f"HTTP/1.1 {status} {reason}\r\n".encode("latin-1")


def _header_block(status: int, headers: Mapping[str, str]) -> bytes:
    lines = [_status_line(status)]
    lines.extend(f"{name}: {value}\r\n".encode("latin-1") for name, value in headers.items())
    lines.append(b"\r\n")
    return b"".join(lines)


_CLIENT_GONE = (BrokenPipeError, ConnectionResetError, ConnectionAbortedError)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    server: _HTTPServer

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class's name
        """Silent: test suites send thousands of requests."""

    def setup(self) -> None:
        super().setup()
        self.server.replay._connection_opened(self.connection)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.server.replay._connection_closed(self.connection)

    def do_GET(self) -> None:
        self._handle()

    do_POST = do_PUT = do_PATCH = do_DELETE = do_GET

    def _handle(self) -> None:
        replay = self.server.replay
        request = self._read_request()
        replay._record(request)
        _current_request.set(request)
        try:
            canned, source = replay._select(request)
        except Exception as error:  # a server bug should reach the test as a readable 500, not a dropped socket
            replay._errors.append(error)
            traceback.print_exc(file=sys.stderr)
            canned = CannedResponse(status=500, body=error_body(500, f"replay server error: {error!r}"))
            source = "error"
        try:
            self._write(canned, source)
        except _CLIENT_GONE:
            self.close_connection = True

    def _read_request(self) -> RecordedRequest:
        body = self._read_body()
        parts = urlsplit(self.path)
        return RecordedRequest(
            method=self.command, path=parts.path,
            headers={name.lower(): value for name, value in self.headers.items()},
            json=_parse_json(body, self.headers.get("Content-Type", "")), body=body,
            query=dict(parse_qsl(parts.query)),
        )

    def _read_body(self) -> bytes:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            return self._read_chunked_body()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length > 0 else b""

    def _read_chunked_body(self) -> bytes:
        parts = []
        while True:
            size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
            if size == 0:
                while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                    pass
                return b"".join(parts)
            parts.append(self.rfile.read(size))
            self.rfile.readline()

    def _write(self, canned: CannedResponse, source: str) -> None:
        if canned.delay_ms:
            time.sleep(canned.delay_ms / 1000.0)
        headers = {name: value for name, value in canned.headers.items()
                   if name.lower() not in ("content-length", "transfer-encoding", "connection")}
        headers[SOURCE_HEADER] = source
        if canned.is_stream:
            self._write_stream(canned, headers)
        else:
            self._write_body(canned, headers)

    def _write_body(self, canned: CannedResponse, headers: dict[str, str]) -> None:
        body = canned.body_bytes()
        if body and not any(name.lower() == "content-type" for name in headers):
            headers["Content-Type"] = "application/json"
        headers["Content-Length"] = str(len(body))
        self.wfile.write(_header_block(canned.status, headers) + body)

    def _write_stream(self, canned: CannedResponse, headers: dict[str, str]) -> None:
        if not any(name.lower() == "content-type" for name in headers):
            headers["Content-Type"] = "text/event-stream"
        headers["Transfer-Encoding"] = "chunked"
        self.wfile.write(_header_block(canned.status, headers))
        for write in _sse_writes(canned.sse_events or ()):
            if isinstance(write, float):
                time.sleep(write)
            elif write:
                self.wfile.write(b"%X\r\n%s\r\n" % (len(write), write))
        self.wfile.write(b"0\r\n\r\n")


def _parse_json(body: bytes, content_type: str) -> Any:
    if not body or ("json" not in content_type.lower() and body[:1] not in (b"{", b"[")):
        return None
    try:
        return json.loads(body)
    except ValueError:
        return None


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    # Keep-alive connections would otherwise hold stop() until every client closed its pool.
    block_on_close = False
    # The default listen backlog (5) resets connections when many clients open at once (test load, CI).
    request_queue_size = 128
    replay: ReplayServer

    def handle_error(self, request: Any, client_address: Any) -> None:
        error = sys.exc_info()[1]
        if isinstance(error, _CLIENT_GONE + (socket.timeout,)):
            return
        self.replay._errors.append(error)
        traceback.print_exc(file=sys.stderr)


# --------------------------------------------------------------------------------------------------
# The server
# --------------------------------------------------------------------------------------------------


class _CannedQueue:
    def __init__(self, responses: Sequence[CannedResponse], repeat: bool) -> None:
        self.responses = list(responses)
        self.repeat = repeat
        self.served = 0

    def next(self) -> CannedResponse | None:
        if self.served < len(self.responses):
            self.served += 1
            return self.responses[self.served - 1]
        return self.responses[-1] if self.repeat and self.responses else None


class ReplayServer:
    """An OpenRouter-compatible server on 127.0.0.1 (a free port), for the `openai` SDK over real HTTP."""

    def __init__(self, corpus_dir: str | Path | None = None, *, honor_delays: bool = False,
                 host: str = "127.0.0.1", port: int = 0) -> None:
        self.honor_delays = honor_delays
        self.address = (host, port)
        self.ledger = Ledger()
        self._exchanges = load_corpus(corpus_dir) if corpus_dir is not None else []
        self._by_id = {exchange.id: exchange for exchange in self._exchanges}
        self._by_body = _index_bodies(self._exchanges)
        self._lock = threading.Lock()
        self._requests: list[RecordedRequest] = []
        self._canned: dict[str, _CannedQueue] = {}
        self._generations: dict[str, dict[str, Any]] = {}
        self._open_connections: set[socket.socket] = set()
        self._connection_count = 0
        self._errors: list[BaseException] = []
        self._httpd: _HTTPServer | None = None
        self._thread: threading.Thread | None = None

    # ---- lifecycle ------------------------------------------------------------------------------

    def start(self) -> ReplayServer:
        if self._httpd is not None:
            return self
        httpd = _HTTPServer(self.address, _Handler)
        httpd.replay = self
        self._httpd = httpd
        self._thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05},
                                        name=f"replay-server-{self.port}", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        httpd, self._httpd = self._httpd, None
        if httpd is None:
            return
        httpd.shutdown()
        httpd.server_close()
        with self._lock:
            connections = list(self._open_connections)
        for connection in connections:
            _shutdown_quietly(connection)
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> ReplayServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        if self._httpd is None:
            raise RuntimeError("the replay server is not running; call start() first")
        return int(self._httpd.server_address[1])

    @property
    def base_url(self) -> str:
        host = self.address[0] if self.address[0] not in ("", "0.0.0.0") else "127.0.0.1"
        return f"http://{host}:{self.port}{API_PREFIX}"

    # ---- what tests use -------------------------------------------------------------------------

    @property
    def requests(self) -> list[RecordedRequest]:
        """A snapshot of every request received, oldest first."""
        with self._lock:
            return list(self._requests)

    def clear_requests(self) -> None:
        with self._lock:
            self._requests.clear()

    @property
    def exchanges(self) -> list[Exchange]:
        return list(self._exchanges)

    def exchange(self, exchange_id: str) -> Exchange:
        return self._by_id[exchange_id]

    @property
    def connections(self) -> int:
        """How many TCP connections clients have opened (keep-alive reuses them)."""
        with self._lock:
            return self._connection_count

    def register(self, token: str, responses: CannedResponse | Sequence[CannedResponse], *,
                 repeat: bool = False) -> dict[str, str]:
        """Serve these responses, in order, to requests carrying `X-Replay-Token: <token>`.

        Once they are used up the token answers 404, unless `repeat` keeps serving the last one.
        Returns the header to send, e.g. `create(..., extra_headers=server.register("t", canned))`.
        """
        queue = _CannedQueue([responses] if isinstance(responses, CannedResponse) else list(responses), repeat)
        if not queue.responses:
            raise ValueError("register() needs at least one CannedResponse")
        with self._lock:
            self._canned[token] = queue
        return {TOKEN_HEADER: token}

    def register_key(self, api_key: str, profile: KeyProfile | None = None, **fields: Any) -> None:
        """Give `GET /key` a profile for this key (limit, free tier, expiry, validity); see `account.KeyProfile`."""
        self.ledger.register(api_key, profile if profile is not None else KeyProfile(**fields))

    def generation(self, generation_id: str) -> dict[str, Any] | None:
        """The body `GET /generation?id=...` would return, or None for an id this server never issued."""
        with self._lock:
            return self._generations.get(generation_id)

    # ---- request handling (called from handler threads) -----------------------------------------

    def _record(self, request: RecordedRequest) -> None:
        with self._lock:
            self._requests.append(request)

    def _connection_opened(self, connection: socket.socket) -> None:
        with self._lock:
            self._open_connections.add(connection)
            self._connection_count += 1

    def _connection_closed(self, connection: socket.socket) -> None:
        with self._lock:
            self._open_connections.discard(connection)

    def _select(self, request: RecordedRequest) -> tuple[CannedResponse, str]:
        token = request.headers.get(TOKEN_HEADER.lower())
        if token is not None:
            return self._canned_for(token), f"token:{token}"
        if request.route == "/generation":
            return self._generation_lookup(request), "generation"
        account_answer = self._account_endpoint(request)
        if account_answer is not None:
            return account_answer
        exchange_id = request.headers.get(EXCHANGE_HEADER.lower())
        if exchange_id is not None:
            return self._replay(exchange_id), f"exchange:{exchange_id}"
        scenario = self._requested_scenario(request)
        if scenario is not None:
            return self._synthesise(scenario, request), f"scenario:{scenario}"
        exchange = self._by_body.get((request.route, _canonical(request.json)))
        if exchange is not None:
            return self._replay(exchange.id), f"exchange:{exchange.id}"
        if request.route in _DEFAULT_MODELS:
            return self._synthesise("chat", request), "scenario:chat"
        return _not_found(f"No such endpoint: {request.method} {request.path}"), "not-found"

    def _canned_for(self, token: str) -> CannedResponse:
        with self._lock:
            queue = self._canned.get(token)
            canned = queue.next() if queue is not None else None
        if canned is None:
            state = "used up" if queue is not None else "not registered"
            return _not_found(f"Replay token {token!r} is {state}")
        self._remember_generation(_generation_from_canned(canned))
        return canned

    def _replay(self, exchange_id: str) -> CannedResponse:
        exchange = self._by_id.get(exchange_id)
        if exchange is None:
            return _not_found(f"No recorded exchange {exchange_id!r}")
        canned = exchange.to_canned(honor_delays=self.honor_delays)
        self._remember_generation(_generation_from_canned(canned))
        return canned

    def _requested_scenario(self, request: RecordedRequest) -> str | None:
        name = request.headers.get(SCENARIO_HEADER.lower())
        model = request.json.get("model") if isinstance(request.json, dict) else None
        if name is None and isinstance(model, str) and model.startswith(SCENARIO_MODEL_PREFIX):
            name = model[len(SCENARIO_MODEL_PREFIX):]
        return name.strip() if name is not None else None

    def _synthesise(self, name: str, request: RecordedRequest) -> CannedResponse:
        if name not in SCENARIOS:
            known = ", ".join(SCENARIOS)
            return CannedResponse(status=400, body=error_body(400, f"Unknown replay scenario {name!r}; known: {known}"))
        scenario = _Scenario(name, request)
        special = _SPECIAL_SCENARIOS.get(name)
        if special is not None:
            canned = special(scenario)
            self._remember_generation(_generation_from_canned(canned))
            return canned
        outcome = scenario.outcome()
        self._remember_generation(outcome.generation)
        return scenario.render(outcome)

    def _remember_generation(self, generation: dict[str, Any] | None) -> None:
        if generation is None:
            return
        with self._lock:
            self._generations[generation["data"]["id"]] = generation
        api_key = _bearer(_current_request.get())
        if api_key:
            data = generation["data"]
            self.ledger.charge(api_key, float(data.get("total_cost") or 0.0), byok=bool(data.get("is_byok")))

    def _account_endpoint(self, request: RecordedRequest) -> tuple[CannedResponse, str] | None:
        if request.method != "GET" or request.route not in ("/key", "/models"):
            return None
        if request.route == "/models":
            return _json_response(models_body()), "models"
        api_key = _bearer(request)
        info = self.ledger.key_info(api_key) if api_key else None
        if info is None:
            return CannedResponse(status=401, body=error_body(401, "No auth credentials found" if not api_key
                                                              else "User not found."),
                                  headers={"Content-Type": "application/json"}), "key"
        return _json_response({"data": info}), "key"

    def _generation_lookup(self, request: RecordedRequest) -> CannedResponse:
        generation_id = request.query.get("id", "")
        found = self.generation(generation_id)
        if found is None:
            return _not_found(f"Generation {generation_id} not found")
        return CannedResponse(body=found, headers={"Content-Type": "application/json"})


def _json_response(body: Any) -> CannedResponse:
    return CannedResponse(body=body, headers={"Content-Type": "application/json"})


def _bearer(request: RecordedRequest | None) -> str | None:
    if request is None:
        return None
    value = request.headers.get("authorization", "")
    scheme, _, token = value.partition(" ")
    return token.strip() or None if scheme.lower() == "bearer" else None


# The request a handler thread is answering, so charges can be put on its key.
_current_request: contextvars.ContextVar[RecordedRequest | None] = contextvars.ContextVar("replay_request", default=None)


def _not_found(message: str) -> CannedResponse:
    return CannedResponse(status=404, body=error_body(404, message), headers={"Content-Type": "application/json"})


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _index_bodies(exchanges: Sequence[Exchange]) -> dict[tuple[str, str], Exchange]:
    """Request body -> exchange; a body recorded more than once maps to its earliest recording."""
    index: dict[tuple[str, str], Exchange] = {}
    for exchange in sorted(exchanges, key=lambda item: (item.recorded_at, item.id)):
        if exchange.request_body is not None:
            index.setdefault((exchange.path, _canonical(exchange.request_body)), exchange)
    return index


def _generation_from_canned(canned: CannedResponse) -> dict[str, Any] | None:
    """A generation record for a served success that carries a `gen-` id and a cost."""
    if canned.status >= 400:
        return None
    if canned.is_stream:
        payloads: list[Any] = [item for item in canned.sse_events or () if isinstance(item, (dict, Event))]
    else:
        payloads = [_loads_or_none(canned.body) if isinstance(canned.body, bytes) else canned.body]
    summary = _summarize(payloads)
    usage = summary.usage
    if not (summary.id or "").startswith("gen-") or not usage or usage.get("cost") is None:
        return None
    return generation_body(id=summary.id or "", model=summary.model or "", provider=summary.provider, usage=usage,
                           streamed=canned.is_stream,
                           finish_reason=summary.finish_reasons[-1] if summary.finish_reasons else None)


def _loads_or_none(body: bytes) -> Any:
    try:
        return json.loads(body)
    except ValueError:
        return None


def _shutdown_quietly(connection: socket.socket) -> None:
    with contextlib.suppress(OSError):
        connection.shutdown(socket.SHUT_RDWR)

