"""Records ended calls: the span's attributes, status and end, the metric points and the audit record.

The caller's thread only hands an ended call over (`submit`); the recording runs on the background worker
(worker.py), or in the caller's thread in synchronous mode (OTEL_INSTRUMENTATION_OPENROUTER_SYNCHRONOUS).
The span ends with the call's true end time either way. Each sink is guarded on its own: a failure building
one loses nothing of the others.
"""

from __future__ import annotations

import json
import logging
import urllib.parse
from typing import TYPE_CHECKING, Any, Callable

from opentelemetry import trace
from opentelemetry._logs import Logger, SeverityNumber
from opentelemetry.trace import Status, StatusCode

from openrouter_otel import record
from openrouter_otel import semconv as sc
from openrouter_otel.cost import Cost
from openrouter_otel.facts import Ended
from openrouter_otel.instruments import Instruments
from openrouter_otel.redaction import PRE_REDACTED
from openrouter_otel.worker import Worker

if TYPE_CHECKING:
    from openrouter_otel.generation import GenerationFetcher
    from openrouter_otel.policy import PolicyChecker
    from openrouter_otel.redaction import Redactor

logger = logging.getLogger(__name__)


class Emitter:
    def __init__(
        self,
        instruments: Instruments,
        audit_logger: Logger | None,
        metric_attributes: record.MetricAttributeSets,
        *,
        redact: Callable[[str], str] | None = None,
        redactor: Redactor | None = None,
        policy: PolicyChecker | None = None,
        fetcher: GenerationFetcher | None = None,
        synchronous: bool = False,
    ) -> None:
        self.instruments = instruments
        self.audit_logger = audit_logger
        self.metric_attributes = metric_attributes
        self.redact = redact
        # With redaction on: the ended call's attributes are redacted here, once, for the span, the metric labels
        # and the audit record alike; the redacting log processor then leaves the audit record alone.
        self.redactor = redactor
        self.policy = policy
        self.fetcher = fetcher
        self.worker = None if synchronous else Worker(self._write_item)

    # --- from the caller's thread -------------------------------------------------------------

    def submit(self, span: trace.Span, ended: Ended) -> None:
        if self.worker is None:
            self._write_item((span, ended))
        else:
            self.worker.submit((span, ended))

    def flush(self, timeout: float | None = None) -> bool:
        return True if self.worker is None else self.worker.flush(timeout)

    def shutdown(self) -> None:
        if self.worker is not None:
            self.worker.shutdown()

    # --- the recording ------------------------------------------------------------------------

    def _write_item(self, item: tuple[trace.Span, Ended]) -> None:
        span, ended = item
        try:
            cost = record.cost_of(ended)
        except Exception:
            logger.debug("openrouter-otel: could not price a call", exc_info=True)
            cost = Cost()
        target = self._generation_target(ended, cost)
        if target is not None:
            url, api_key = target
            self.fetcher.submit(url, api_key, lambda fetched: self.write(span, ended, record.best_cost(cost, fetched)))
            return
        self.write(span, ended, cost)

    def _generation_target(self, ended: Ended, cost: Cost) -> tuple[str, str] | None:
        if self.fetcher is None or not record.wants_generation_cost(ended, cost):
            return None
        base_url, api_key = ended.request.generation_source  # type: ignore[misc]
        query = urllib.parse.urlencode({"id": ended.response.response_id})
        return f"{base_url.rstrip('/')}/generation?{query}", api_key

    def write(self, span: trace.Span, ended: Ended, cost: Cost) -> None:
        result: dict[str, Any] = {}
        _guarded("result attributes", lambda: result.update(self._result_attributes(ended, cost)))
        attributes, checked = self._redacted({**ended.request.attributes, **result})
        _guarded("span attributes", lambda: span.set_attributes(record.span_end_attributes(attributes, result)))
        _guarded("span status", lambda: self._set_status(span, ended))
        _guarded("metrics", lambda: self._record_metrics(attributes, ended))
        _guarded("audit record", lambda: self._emit_audit(span, ended, attributes, checked))
        try:
            span.end(end_time=ended.end_ns)
        except Exception:
            pass

    def _result_attributes(self, ended: Ended, cost: Cost) -> dict[str, Any]:
        output = ended.response.output_messages
        attributes = record.result_attributes(ended, cost, self._redacted_json(output) if output is not None else None)
        input_json = ended.request.input_json
        if input_json is not None and self.redact is not None:
            attributes[sc.GEN_AI_INPUT_MESSAGES] = self.redact(input_json)
        if self.policy is not None:
            attributes.update(self.policy.check({**ended.request.attributes, **attributes}))
        return attributes

    def _redacted(self, attributes: dict[str, Any]) -> tuple[Any, bool]:
        """The attributes redacted, and whether they were (if not, the processors redact them as any others)."""
        if self.redactor is None:
            return attributes, False
        try:
            return self.redactor.redact_attributes(attributes), True
        except Exception:
            logger.debug("openrouter-otel: could not redact a call's attributes", exc_info=True)
            return attributes, False

    def _redacted_json(self, value: Any) -> str | None:
        """Captured content as JSON, redacted; None (not recorded) when no redactor could be set up."""
        if self.redact is None:
            return None
        return self.redact(json.dumps(value, ensure_ascii=False, default=str))

    @staticmethod
    def _set_status(span: trace.Span, ended: Ended) -> None:
        if ended.status != "error":  # a cancelled call is the caller's decision: status left UNSET
            return
        failure = ended.failure
        span.set_status(Status(StatusCode.ERROR, failure.description))
        span.add_event("exception", {"exception.type": failure.type, "exception.message": failure.description})

    def _record_metrics(self, attributes: dict[str, Any], ended: Ended) -> None:
        instruments = self.instruments
        base, input_attributes, output_attributes = self.metric_attributes.of(attributes)
        instruments.duration.record(ended.duration, base)
        tokens = attributes.get(sc.GEN_AI_USAGE_INPUT_TOKENS)
        if tokens is not None:
            instruments.token_usage.record(tokens, input_attributes)
        tokens = attributes.get(sc.GEN_AI_USAGE_OUTPUT_TOKENS)
        if tokens is not None:
            instruments.token_usage.record(tokens, output_attributes)
        cost = attributes.get(sc.GEN_AI_USAGE_COST)
        if cost is not None:
            instruments.cost.record(cost, base)
        if ended.time_to_first_chunk is not None:
            instruments.time_to_first_chunk.record(ended.time_to_first_chunk, base)

    def _emit_audit(self, span: trace.Span, ended: Ended, attributes: Any, redacted: bool = False) -> None:
        if self.audit_logger is None:
            return
        failed = ended.status == "error"
        body = record.audit_body(ended)
        audit_attributes = record.audit_record(ended, attributes)
        if redacted:
            body = self.redactor.redact(body)
            PRE_REDACTED.redactor = self.redactor  # taken by the redacting log processor for this record only
        try:
            self.audit_logger.emit(
                timestamp=ended.end_ns,
                observed_timestamp=ended.end_ns,
                context=trace.set_span_in_context(span),
                severity_number=SeverityNumber.WARN if failed else SeverityNumber.INFO,
                severity_text="WARN" if failed else "INFO",
                body=body,
                attributes=audit_attributes,
                event_name=sc.AUDIT_EVENT_NAME,
            )
        finally:
            PRE_REDACTED.redactor = None


def _guarded(what: str, write: Callable[[], Any]) -> None:
    try:
        write()
    except Exception:
        logger.debug("openrouter-otel: could not record the %s of a call", what, exc_info=True)
