"""One logical LLM call: its span, metric points and audit event, ended exactly once.

The patching code only orchestrates (start, hand over responses or errors, finish); this module decides
what is recorded. Every public method swallows its own failures: telemetry never reaches the caller.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from typing import TYPE_CHECKING, Any, Callable, Mapping

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry._logs import Logger, SeverityNumber
from opentelemetry.instrumentation.utils import is_instrumentation_enabled
from opentelemetry.trace import SpanKind, Status, StatusCode

from openrouter_otel import semconv as sc
from openrouter_otel.audit import InboundBaggage, current_audit_attributes
from openrouter_otel.config import Settings
from openrouter_otel.content import input_messages, output_messages
from openrouter_otel.cost import Cost, resolve_cost
from openrouter_otel.extract import (
    api_key_fingerprint,
    exception_details,
    header_attributes,
    operation_for_path,
    request_attributes,
    response_attributes,
    response_error,
    put,
    response_usage,
    client_server_attributes,
    usage_attributes,
)
from openrouter_otel.instruments import Instruments
from openrouter_otel.labels import TeamLabels
from openrouter_otel.policy import checker_from_settings
from openrouter_otel.prompt_hash import prompt_hash

if TYPE_CHECKING:
    from openrouter_otel.generation import GenerationFetcher

logger = logging.getLogger(__name__)



class Telemetry:
    """What every call needs: providers' instruments and the settings. One per instrumentation."""

    def __init__(
        self,
        tracer: trace.Tracer,
        instruments: Instruments,
        audit_logger: Logger | None,
        settings: Settings,
        redact: Callable[[str], str] | None = None,
        fetcher: GenerationFetcher | None = None,
    ) -> None:
        self.tracer = tracer
        self.instruments = instruments
        self.audit_logger = audit_logger if settings.audit_events else None
        self.settings = settings
        self.redact = redact
        self.fetcher = fetcher
        self.hash_key = settings.prompt_hash_key.encode() if settings.prompt_hash_key else None
        self.inbound_baggage = InboundBaggage.from_settings(settings)
        self.team_labels = TeamLabels.from_settings(settings)
        self.policy = checker_from_settings(settings, instruments, self.team_labels.label)
        self.key_poller: Any = None  # keys.KeyPoller when key metrics are on: it notes each call's key

    def start_call(self, client: Any, options: Any) -> Call | None:
        """A new Call for an instrumented endpoint, or None (other endpoints, or if anything fails)."""
        try:
            if not is_instrumentation_enabled():  # suppress_instrumentation() and its context key
                return None
            path = getattr(options, "url", None)
            operation = operation_for_path(path, getattr(options, "method", None))
            if operation is None:
                return None
            if self.key_poller is not None:
                self.key_poller.learn(client)
            return Call(self, client, options, operation, is_responses_api=path.rstrip("/").endswith("/responses"))
        except Exception:
            logger.debug("openrouter-otel: could not start a span", exc_info=True)
            return None


class Call:
    """State of one call from request to the end of its response (or stream)."""

    def __init__(
        self, telemetry: Telemetry, client: Any, options: Any, operation: str, *, is_responses_api: bool = False
    ) -> None:
        self.telemetry = telemetry
        self.operation = operation
        self.is_responses_api = is_responses_api
        self.start_ns = time.time_ns()
        self.start_perf = time.perf_counter()
        self.first_chunk_perf: float | None = None
        self.attempts = 0
        self.error: tuple[str, dict[str, Any], str] | None = None
        self.usage: Any = None
        self.output_messages: list[Any] | None = None
        self.stream_outcome: str | None = None
        self.stream_tracked = False
        self.reading_body = False
        self._lock = threading.Lock()
        self._ended = False
        self.body = _request_body(options)
        self.attributes = self._request_side_attributes(client, options)
        self.body = None  # everything needed is computed: do not keep the prompt alive until the span ends
        self.result: dict[str, Any] = {}
        name = f"{operation} {self.attributes.get(sc.GEN_AI_REQUEST_MODEL, '')}".rstrip()
        self.span = telemetry.tracer.start_span(
            name, kind=SpanKind.CLIENT, attributes=self.attributes, start_time=self.start_ns
        )
        self._context_token: object | None = None
        fetching = telemetry.fetcher is not None
        self.client_base_url = str(getattr(client, "base_url", "")) if fetching else None
        self.client_api_key = getattr(client, "api_key", None) if fetching else None

    # --- request side -------------------------------------------------------------------------

    def _request_side_attributes(self, client: Any, options: Any) -> dict[str, Any]:
        attributes: dict[str, Any] = {sc.GEN_AI_OPERATION_NAME: self.operation}
        base_url = getattr(client, "base_url", None)
        if base_url is not None:
            attributes.update(client_server_attributes(base_url))
        attributes.update(request_attributes(self.body))
        attributes.update(header_attributes(getattr(client, "_custom_headers", None), getattr(options, "headers", None)))
        self.audit_context = current_audit_attributes(self.telemetry.inbound_baggage)
        attributes.update(self.audit_context)
        api_key = getattr(client, "api_key", None)
        if isinstance(api_key, str) and api_key:
            attributes[sc.OPENROUTER_API_KEY_FINGERPRINT] = api_key_fingerprint(api_key)
        digest = prompt_hash(self.body, self.telemetry.hash_key)
        if digest:
            attributes[sc.OPENROUTER_PROMPT_HASH] = digest
        if self.telemetry.settings.capture_message_content:
            self._capture_input(attributes)
        return attributes

    def _capture_input(self, attributes: dict[str, Any]) -> None:
        messages = input_messages(self.body)
        if messages is not None:
            put(attributes, sc.GEN_AI_INPUT_MESSAGES, self._redacted_json(messages))

    def _redacted_json(self, value: Any) -> str | None:
        """Captured content as JSON, redacted; None (not recorded) when no redactor could be set up."""
        redact = self.telemetry.redact
        if redact is None:
            return None
        return redact(json.dumps(value, ensure_ascii=False, default=str))

    # --- the request's lifetime in the caller's context ---------------------------------------

    def activate(self) -> None:
        """Make the span current while the SDK sends the request (so HTTP client spans nest under it)."""
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

    # --- response side ------------------------------------------------------------------------

    def record_response(self, response: Any) -> None:
        """A complete (non-streamed) response: SDK model or the parsed JSON dict."""
        try:
            self.result.update(response_attributes(response))
            self.usage = response_usage(response)
            error = response_error(response)
            if error is not None:
                self.error = error
            if self.telemetry.settings.capture_message_content:
                self.output_messages = output_messages(response)
        except Exception:
            logger.debug("openrouter-otel: could not read a response", exc_info=True)

    def record_error(self, exc: BaseException) -> None:
        try:
            self.error = exception_details(exc)
        except Exception:
            self.error = (type(exc).__qualname__, {}, type(exc).__qualname__)

    def mark_first_chunk(self) -> None:
        if self.first_chunk_perf is None:
            self.first_chunk_perf = time.perf_counter()

    # --- the end ------------------------------------------------------------------------------

    @property
    def ended(self) -> bool:
        return self._ended

    def finish(self, at: tuple[int, float] | None = None) -> None:
        """End the span, record metrics and emit the audit event — once, whatever calls it.

        `at` is when the call really ended, as (time.time_ns(), time.perf_counter()), when that was earlier
        than now (a stream the caller stopped reading, ended when it is collected).
        """
        with self._lock:
            if self._ended:
                return
            self._ended = True
        try:
            end_ns, end_perf = at if at is not None else (time.time_ns(), time.perf_counter())
            duration = end_perf - self.start_perf
            fetcher = self.telemetry.fetcher
            if fetcher is not None and self._wants_generation_cost():
                fetcher.submit(self, end_ns, duration)
                return
            self.complete(end_ns, duration, None)
        except Exception:
            logger.debug("openrouter-otel: could not end a span", exc_info=True)
            _end_quietly(self.span)

    def _wants_generation_cost(self) -> bool:
        response_id = self.result.get(sc.GEN_AI_RESPONSE_ID)
        return (
            self.error is None
            and isinstance(response_id, str)
            and response_id.startswith("gen-")
            and self._cost().source != sc.COST_SOURCE_RESPONSE
        )

    def complete(self, end_ns: int, duration: float, generation_cost: Cost | None) -> None:
        """Write everything out. Called by finish(), or later by the generation fetcher.

        Each sink has its own guard: a failure building one must not lose the others.
        """
        result: dict[str, Any] = {}
        _guarded("result attributes", lambda: result.update(self._result_attributes(duration, generation_cost)))
        _guarded("span attributes", lambda: self.span.set_attributes(result))
        _guarded("span status", self._set_status)
        attributes = {**self.attributes, **result}
        _guarded("metrics", lambda: self._record_metrics(attributes, duration))
        _guarded("audit record", lambda: self._emit_audit(attributes, end_ns, duration))
        _end_quietly(self.span, end_ns)

    def _cost(self) -> Cost:
        model = self.result.get(sc.GEN_AI_RESPONSE_MODEL) or self.attributes.get(sc.GEN_AI_REQUEST_MODEL)
        return resolve_cost(self.usage, model=model, provider_name=self._provider_name())

    def _provider_name(self) -> str:
        # Behind a gateway the host is not openrouter.ai, but OpenRouter's responses say who they are.
        name = self.attributes.get(sc.GEN_AI_PROVIDER_NAME, sc.PROVIDER_OPENAI)
        if name != sc.PROVIDER_OPENROUTER and _is_openrouter_response(self.result):
            return sc.PROVIDER_OPENROUTER
        return name

    def _result_attributes(self, duration: float, generation_cost: Cost | None) -> dict[str, Any]:
        attributes = self.result
        provider_name = self._provider_name()
        if provider_name != self.attributes.get(sc.GEN_AI_PROVIDER_NAME):
            attributes[sc.GEN_AI_PROVIDER_NAME] = provider_name
        attributes.update(usage_attributes(self.usage))
        cost = self._cost()
        if generation_cost is not None and generation_cost.usd is not None and cost.source != sc.COST_SOURCE_RESPONSE:
            cost = generation_cost
        attributes.update(cost.attributes())
        if self.attempts > 1:
            attributes[sc.OPENROUTER_RETRY_COUNT] = self.attempts - 1
        if self.first_chunk_perf is not None:
            attributes[sc.GEN_AI_RESPONSE_TIME_TO_FIRST_CHUNK] = self.first_chunk_perf - self.start_perf
        if self.stream_outcome is not None:
            attributes[sc.OPENROUTER_STREAM_OUTCOME] = self.stream_outcome
        if self.error is not None:
            error_type, error_attributes, _ = self.error
            attributes[sc.ERROR_TYPE] = error_type
            attributes.update(error_attributes)
        if self.output_messages is not None:
            put(attributes, sc.GEN_AI_OUTPUT_MESSAGES, self._redacted_json(self.output_messages))
        if self.telemetry.policy is not None:
            attributes.update(self.telemetry.policy.check({**self.attributes, **attributes}))
        return attributes

    def _status(self) -> str:
        if self.error is None:
            return "ok"
        return sc.OUTCOME_CANCELLED if self.error[0] == sc.OUTCOME_CANCELLED else "error"

    def _set_status(self) -> None:
        if self._status() != "error":  # a cancelled call is the caller's decision: status left UNSET
            return
        error_type, _, description = self.error
        self.span.set_status(Status(StatusCode.ERROR, description))
        self.span.add_event("exception", {"exception.type": error_type, "exception.message": description})

    def _record_metrics(self, attributes: dict[str, Any], duration: float) -> None:
        instruments = self.telemetry.instruments
        metric_attributes = {key: attributes[key] for key in sc.METRIC_ATTRIBUTE_KEYS if key in attributes}
        if self.telemetry.settings.metrics_enduser and sc.ENDUSER_ID in attributes:
            metric_attributes[sc.ENDUSER_ID] = attributes[sc.ENDUSER_ID]
        team = metric_attributes.get(sc.OPENROUTER_TEAM)
        if team is not None:
            metric_attributes[sc.OPENROUTER_TEAM] = self.telemetry.team_labels.label(team)
        instruments.duration.record(duration, metric_attributes)
        for key, token_type in (
            (sc.GEN_AI_USAGE_INPUT_TOKENS, sc.TOKEN_TYPE_INPUT),
            (sc.GEN_AI_USAGE_OUTPUT_TOKENS, sc.TOKEN_TYPE_OUTPUT),
        ):
            tokens = attributes.get(key)
            if tokens is not None:
                instruments.token_usage.record(tokens, {**metric_attributes, sc.GEN_AI_TOKEN_TYPE: token_type})
        cost = attributes.get(sc.GEN_AI_USAGE_COST)
        if cost is not None:
            instruments.cost.record(cost, metric_attributes)
        ttfc = attributes.get(sc.GEN_AI_RESPONSE_TIME_TO_FIRST_CHUNK)
        if ttfc is not None:
            instruments.time_to_first_chunk.record(ttfc, metric_attributes)

    def _emit_audit(self, attributes: dict[str, Any], end_ns: int, duration: float) -> None:
        audit_logger = self.telemetry.audit_logger
        if audit_logger is None:
            return
        record = {key: attributes[key] for key in sc.AUDIT_ATTRIBUTE_KEYS if key in attributes}
        record.update(self.audit_context)
        record[sc.OPENROUTER_LATENCY] = duration
        record[sc.OPENROUTER_STATUS] = status = self._status()
        audit_logger.emit(
            timestamp=end_ns,
            observed_timestamp=end_ns,
            context=trace.set_span_in_context(self.span),
            severity_number=SeverityNumber.WARN if status == "error" else SeverityNumber.INFO,
            severity_text="WARN" if status == "error" else "INFO",
            body=f"{self.operation} {attributes.get(sc.GEN_AI_REQUEST_MODEL, '')} {record[sc.OPENROUTER_STATUS]}",
            attributes=record,
            event_name=sc.AUDIT_EVENT_NAME,
        )


def _request_body(options: Any) -> Any:
    body = getattr(options, "json_data", None)
    extra = getattr(options, "extra_json", None)
    if isinstance(extra, Mapping) and extra:
        return {**body, **extra} if isinstance(body, Mapping) else dict(extra)
    return body


def _is_openrouter_response(attributes: Mapping[str, Any]) -> bool:
    response_id = attributes.get(sc.GEN_AI_RESPONSE_ID)
    return (
        isinstance(response_id, str)
        and response_id.startswith("gen-")
        and sc.OPENROUTER_PROVIDER in attributes
    )


def _guarded(what: str, write: Callable[[], Any]) -> None:
    try:
        write()
    except Exception:
        logger.debug("openrouter-otel: could not record the %s of a call", what, exc_info=True)


def _end_quietly(span: trace.Span, end_ns: int | None = None) -> None:
    try:
        span.end(end_time=end_ns)
    except Exception:
        pass
