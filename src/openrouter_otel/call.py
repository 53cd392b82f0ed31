"""One logical LLM call, from its request to its end: the request's facts, the span, the call's state.

Data flows one way: the wrappers start a Call (its Request facts parsed once, the span started in the caller's
context so that HTTP spans nest under it), then end it once with the Response facts (or how it failed); the
ended call goes to the Emitter, which records it off the caller's path. Nothing here raises into the caller.
"""

from __future__ import annotations

import enum
import json
import logging
import threading
import time
from typing import Any, Mapping

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.instrumentation.utils import is_instrumentation_enabled
from opentelemetry.trace import SpanKind

from openrouter_otel import record
from openrouter_otel import semconv as sc
from openrouter_otel.audit import InboundBaggage, current_audit_attributes
from openrouter_otel.config import Settings
from openrouter_otel.content import input_messages
from openrouter_otel.emitter import Emitter
from openrouter_otel.extract import (
    api_key_fingerprint,
    client_server_attributes,
    header_attributes,
    operation_for_path,
    request_attributes,
)
from openrouter_otel.facts import NO_RESPONSE, Ended, Failure, Request, Response
from openrouter_otel.policy import PolicyChecker
from openrouter_otel.prompt_hash import prompt_hash

logger = logging.getLogger(__name__)


class Telemetry:
    """What every call needs: the tracer, the settings and where ended calls go. One per instrumentation."""

    def __init__(self, tracer: trace.Tracer, emitter: Emitter, settings: Settings,
                 policy: PolicyChecker | None = None) -> None:
        self.tracer = tracer
        self.emitter = emitter
        self.settings = settings
        self.policy = policy
        self.capture_content = settings.capture_message_content
        self.fetching = settings.fetch_generation
        self.hash_key = settings.prompt_hash_key.encode() if settings.prompt_hash_key else None
        self.inbound_baggage = InboundBaggage.from_settings(settings)
        self.key_poller: Any = None  # keys.KeyPoller when key metrics are on: it notes each call's key

    def start_call(self, client: Any, options: Any, *, counts_attempts: bool = False) -> Call | None:
        """A new Call for an instrumented endpoint, or None (other endpoints, or if anything fails).

        `counts_attempts`: the client retries over httpx, whose wrapper then counts this call's attempts.
        """
        try:
            if not is_instrumentation_enabled():  # suppress_instrumentation() and its context key
                return None
            path = getattr(options, "url", None)
            operation = operation_for_path(path, getattr(options, "method", None))
            if operation is None:
                return None
            if self.key_poller is not None:
                self.key_poller.learn(client)
            request = self._request(client, options, operation, path.rstrip("/").endswith("/responses"))
            return Call(self, request, counts_attempts)
        except Exception:
            logger.debug("openrouter-otel: could not start a span", exc_info=True)
            return None

    def _request(self, client: Any, options: Any, operation: str, is_responses_api: bool) -> Request:
        body = _request_body(options)
        attributes: dict[str, Any] = {sc.GEN_AI_OPERATION_NAME: operation}
        base_url = getattr(client, "base_url", None)
        if base_url is not None:
            attributes.update(client_server_attributes(base_url))
        attributes.update(request_attributes(body))
        attributes.update(header_attributes(getattr(client, "_custom_headers", None), getattr(options, "headers", None)))
        audit_context = current_audit_attributes(self.inbound_baggage)
        attributes.update(audit_context)
        api_key = getattr(client, "api_key", None)
        if isinstance(api_key, str) and api_key:
            attributes[sc.OPENROUTER_API_KEY_FINGERPRINT] = api_key_fingerprint(api_key)
        digest = prompt_hash(body, self.hash_key)
        if digest:
            attributes[sc.OPENROUTER_PROMPT_HASH] = digest
        # The body is not kept: the prompt's text is redacted later from this JSON, and only if captured.
        input_json = _input_json(body) if self.capture_content else None
        generation_source = None
        if self.fetching and isinstance(api_key, str) and api_key and base_url is not None:
            generation_source = (str(base_url), api_key)
        return Request(operation, attributes, audit_context, is_responses_api, input_json, generation_source)


def _request_body(options: Any) -> Any:
    body = getattr(options, "json_data", None)
    extra = getattr(options, "extra_json", None)
    if isinstance(extra, Mapping) and extra:
        return {**body, **extra} if isinstance(body, Mapping) else dict(extra)
    return body


def _input_json(body: Any) -> str | None:
    messages = input_messages(body)
    return json.dumps(messages, ensure_ascii=False, default=str) if messages is not None else None


class CallState(enum.Enum):
    PENDING = "pending"  # sent, or waiting for its response
    READING_BODY = "reading body"  # the caller is reading a raw response's body: its reader ends the call
    STREAMING = "streaming"  # a stream was handed out: its tracker ends the call
    ENDED = "ended"


class Call:
    """The state of one call. `end()` is the only way out, and only its first call counts."""

    __slots__ = ("telemetry", "request", "span", "state", "attempts", "counts_attempts", "start_ns", "start_perf",
                 "first_chunk_perf", "_lock", "_context_token")

    def __init__(self, telemetry: Telemetry, request: Request, counts_attempts: bool = False) -> None:
        self.telemetry = telemetry
        self.request = request
        self.state = CallState.PENDING
        self.attempts = 0
        self.counts_attempts = counts_attempts
        self.first_chunk_perf: float | None = None
        self._lock = threading.Lock()
        self._context_token: object | None = None
        self.start_ns = time.time_ns()
        self.start_perf = time.perf_counter()
        self.span = telemetry.tracer.start_span(
            record.span_name(request.operation, request.model), kind=SpanKind.CLIENT,
            attributes=record.span_start_attributes(request.attributes), start_time=self.start_ns,
        )

    @property
    def is_responses_api(self) -> bool:
        return self.request.is_responses_api

    @property
    def capture_content(self) -> bool:
        return self.telemetry.capture_content

    def response_of(self, body: Any) -> Response:
        """The Response facts of a complete response: an SDK model or the parsed JSON."""
        try:
            return Response.parse(body, self.telemetry.capture_content)
        except Exception:
            logger.debug("openrouter-otel: could not read a response", exc_info=True)
            return NO_RESPONSE

    # --- the request's lifetime in the caller's context ---------------------------------------

    def activate(self) -> None:
        """Make the span current while the client sends the request (so HTTP client spans nest under it)."""
        try:
            self._context_token = otel_context.attach(trace.set_span_in_context(self.span))
        except Exception:
            self._context_token = None

    def deactivate(self) -> None:
        token, self._context_token = self._context_token, None
        if token is not None:
            try:
                otel_context.detach(token)  # type: ignore[arg-type]
            except Exception:
                pass

    def mark_first_chunk(self) -> None:
        if self.first_chunk_perf is None:
            self.first_chunk_perf = time.perf_counter()

    def hand_to(self, state: CallState) -> bool:
        """Move a pending call to READING_BODY or STREAMING: who may end it changes. False once it has ended."""
        with self._lock:
            if self.state is CallState.ENDED:
                return False
            self.state = state
            return True

    # --- the end ------------------------------------------------------------------------------

    def end(self, response: Response | None = None, failure: Failure | None = None, *, outcome: str | None = None,
            at: tuple[int, float] | None = None) -> None:
        """End the call: the first call wins, later ones do nothing. Never raises.

        `failure` overrides an error the response carried; `outcome` is the stream's; `at` is when the call really
        ended, as (time.time_ns(), time.perf_counter()), when that was earlier than now (a stream left unread).
        """
        with self._lock:
            if self.state is CallState.ENDED:
                return
            self.state = CallState.ENDED
        try:
            end_ns, end_perf = at if at is not None else (time.time_ns(), time.perf_counter())
            response = response if response is not None else NO_RESPONSE
            first_chunk = self.first_chunk_perf
            ended = Ended(
                request=self.request, response=response, failure=failure or response.failure, stream_outcome=outcome,
                start_ns=self.start_ns, end_ns=end_ns, duration=end_perf - self.start_perf,
                time_to_first_chunk=first_chunk - self.start_perf if first_chunk is not None else None,
                attempts=self.attempts,
            )
            self.telemetry.emitter.submit(self.span, ended)
        except Exception:
            logger.debug("openrouter-otel: could not end a call", exc_info=True)
            try:
                self.span.end()
            except Exception:
                pass

    @property
    def ended(self) -> bool:
        return self.state is CallState.ENDED
