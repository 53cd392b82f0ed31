"""Span and log record processors that redact everything before it reaches the processors they wrap.

Two ways in:
- by hand: `RedactingSpanProcessor(BatchSpanProcessor(exporter))`, and the same for log records;
- automatically: `install_redaction(tracer_provider, logger_provider, redactor)` (what the
  instrumentor does when redaction is on) puts one redacting processor in front of every processor
  the SDK providers have, and of every processor added later, so that under `opentelemetry-instrument`
  the spans and logs of every instrumentation in the process are redacted with no code change.

Spans are immutable once ended, so a span with findings is handed on as a redacted copy; a clean span
is handed on as it is. Log records are mutable in the SDK and are redacted in place.
"""

from __future__ import annotations

import logging
from typing import Any, Mapping, Sequence

from opentelemetry.sdk.trace import Event, ReadableSpan, SpanProcessor
from opentelemetry.trace import Link, Status

from openrouter_otel.redaction import PRE_REDACTED, Redactor

logger = logging.getLogger(__name__)

WITHHELD_NAME = "[REDACTED:SPAN]"


def _default_redactor(redactor: Redactor | None) -> Redactor:
    return redactor if redactor is not None else Redactor()


class RedactingSpanProcessor(SpanProcessor):
    """Redacts span name, attributes, events, links, status description and resource, then calls `processor`."""

    def __init__(self, processor: SpanProcessor, redactor: Redactor | None = None) -> None:
        self.processor = processor
        self.redactor = _default_redactor(redactor)
        self._resources: dict[int, tuple[Any, Any]] = {}

    def on_start(self, span: Any, parent_context: Any = None) -> None:
        self.processor.on_start(span, parent_context=parent_context)

    def _on_ending(self, span: Any) -> None:
        on_ending = getattr(self.processor, "_on_ending", None)
        if on_ending is not None:
            on_ending(span)

    def on_end(self, span: ReadableSpan) -> None:
        self.processor.on_end(self.redact_span(span))

    def shutdown(self) -> None:
        self.processor.shutdown()

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return self.processor.force_flush(timeout_millis)

    def redact_span(self, span: ReadableSpan) -> ReadableSpan:
        """`span` itself when clean, else a redacted copy. Never raises: a span it cannot read is withheld."""
        try:
            return self._redact_span(span)
        except Exception:
            logger.debug("openrouter-otel: could not redact a span; exporting it without content", exc_info=True)
            return _RedactedSpan(span, WITHHELD_NAME, None, (), (), Status(span.status.status_code), span.resource)

    def _redact_span(self, span: ReadableSpan) -> ReadableSpan:
        # ReadableSpan's properties may build a new view on each access: read each once, compare to that.
        name, attributes, events, links = span.name, span.attributes, span.events, span.links
        status, resource = span.status, span.resource
        redactor = self.redactor
        new_name = redactor.redact(name) if type(name) is str else name
        new_attributes = redactor.redact_attributes(attributes) if attributes else attributes
        new_events = _changed_items(events, self._event) if events else None
        new_links = _changed_items(links, self._link) if links else None
        new_status = self._status(status) if status.description else status
        cached = self._resources.get(id(resource))
        new_resource = cached[1] if cached is not None and cached[0] is resource else self._resource(resource)
        if (new_name is name and new_attributes is attributes and new_events is None and new_links is None
                and new_status is status and new_resource is resource):
            return span
        return _RedactedSpan(span, new_name, new_attributes, events if new_events is None else new_events,
                             links if new_links is None else new_links, new_status, new_resource)

    def _status(self, status: Status) -> Status:
        description = status.description
        if not description:
            return status
        redacted = self.redactor.redact(description)
        return status if redacted is description else Status(status.status_code, redacted)

    def _attributes(self, attributes: Mapping[str, Any] | None) -> Mapping[str, Any] | None:
        return self.redactor.redact_attributes(attributes) if attributes else attributes

    def _event(self, event: Event) -> Event | None:
        name = self.redactor.redact(event.name)
        attributes = self._attributes(event.attributes)
        if name is event.name and attributes is event.attributes:
            return None
        return Event(name, attributes, event.timestamp)

    def _link(self, link: Link) -> Link | None:
        attributes = self._attributes(link.attributes)
        return None if attributes is link.attributes else Link(link.context, attributes)

    def _resource(self, resource: Any) -> Any:
        # Resources are few and shared by every span: redact each once (_redact_span reads the memo first).
        attributes = self._attributes(resource.attributes)
        redacted = resource if attributes is resource.attributes else type(resource)(attributes, resource.schema_url)
        if len(self._resources) >= 64:  # processes with ever-new resources: keep the memo small
            self._resources.clear()
        self._resources[id(resource)] = (resource, redacted)
        return redacted


def _changed_items(items: Sequence[Any], redact_item: Any) -> list[Any] | None:
    """A new list when any item changed (`redact_item` returns None for an unchanged item), else None."""
    result = None
    for index, item in enumerate(items):
        new_item = redact_item(item)
        if new_item is not None:
            if result is None:
                result = list(items)
            result[index] = new_item
    return result


class _RedactedSpan(ReadableSpan):
    """A copy of an ended span with redacted content; the rest, and the dropped counts, as the original."""

    def __init__(self, original: ReadableSpan, name: str, attributes: Any, events: Any, links: Any,
                 status: Status, resource: Any) -> None:
        super().__init__(
            name=name, context=original.context, parent=original.parent, resource=resource,
            attributes=attributes, events=tuple(events), links=tuple(links), kind=original.kind,
            status=status, start_time=original.start_time, end_time=original.end_time,
            instrumentation_scope=original.instrumentation_scope,
        )
        self._original_dropped = (original.dropped_attributes, original.dropped_events, original.dropped_links)

    @property
    def dropped_attributes(self) -> int:
        return self._original_dropped[0]

    @property
    def dropped_events(self) -> int:
        return self._original_dropped[1]

    @property
    def dropped_links(self) -> int:
        return self._original_dropped[2]


class RedactingLogRecordProcessor:
    """Redacts a log record's body (text, mapping, sequence, bytes) and attributes, then calls `processor`."""

    def __init__(self, processor: Any, redactor: Redactor | None = None) -> None:
        self.processor = processor
        self.redactor = _default_redactor(redactor)

    def on_emit(self, log_record: Any) -> None:
        if not PRE_REDACTED.take(self.redactor):
            self.redact_record(log_record)
        self.processor.on_emit(log_record)

    def emit(self, log_data: Any) -> None:  # the method's name before opentelemetry-sdk 1.36
        if not PRE_REDACTED.take(self.redactor):
            self.redact_record(log_data)
        self.processor.emit(log_data)

    def enabled(self, *args: Any, **kwargs: Any) -> bool:
        enabled = getattr(self.processor, "enabled", None)
        return True if enabled is None else enabled(*args, **kwargs)

    def shutdown(self) -> None:
        self.processor.shutdown()

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return self.processor.force_flush(timeout_millis)

    def redact_record(self, log_data: Any) -> None:
        """Redact in place. Never raises: a record it cannot read loses its body and attributes."""
        record = getattr(log_data, "log_record", log_data)
        try:
            self._redact_record(record)
        except Exception:
            logger.debug("openrouter-otel: could not redact a log record; withholding its content", exc_info=True)
            record.body = WITHHELD_NAME
            record.attributes = {}

    def _redact_record(self, record: Any) -> None:
        redact_value = self.redactor.redact_value
        body = record.body
        if body is not None:
            new_body = redact_value(body)
            if new_body is not body:
                record.body = new_body
        attributes = record.attributes
        if attributes:
            redacted = self.redactor.redact_attributes(attributes)
            if redacted is not attributes:
                _set_attributes(record, {k: v for k, v in redacted.items() if v is not attributes.get(k)})


def _set_attributes(record: Any, changes: dict[str, Any]) -> None:
    try:
        for key, value in changes.items():
            record.attributes[key] = value
    except TypeError:  # an immutable mapping: replace it
        record.attributes = {**record.attributes, **changes}


# --- installing in front of a provider's processors ------------------------------------------------

_INSTALLED = "_openrouter_otel_redaction"


def install_redaction(tracer_provider: Any, logger_provider: Any, redactor: Redactor) -> None:
    """Put one redacting processor in front of all the providers' processors, present and future.

    Providers that are not the SDK's (no-op, proxies, vendor SDKs) are left alone.
    """
    from opentelemetry.sdk._logs import SynchronousMultiLogRecordProcessor
    from opentelemetry.sdk.trace import SynchronousMultiSpanProcessor

    _install(getattr(tracer_provider, "_active_span_processor", None), "_span_processors",
             "add_span_processor", SynchronousMultiSpanProcessor,
             lambda fanout: RedactingSpanProcessor(fanout, redactor))
    _install(getattr(logger_provider, "_multi_log_record_processor", None), "_log_record_processors",
             "add_log_record_processor", SynchronousMultiLogRecordProcessor,
             lambda fanout: RedactingLogRecordProcessor(fanout, redactor))


def uninstall_redaction(tracer_provider: Any, logger_provider: Any) -> None:
    """Undo `install_redaction`: the providers' processors are called directly again."""
    _uninstall(getattr(tracer_provider, "_active_span_processor", None), "_span_processors", "add_span_processor")
    _uninstall(getattr(logger_provider, "_multi_log_record_processor", None), "_log_record_processors",
               "add_log_record_processor")


def _install(multi: Any, processors_attr: str, add_name: str, fanout_type: Any, wrap: Any) -> None:
    if multi is None or not hasattr(multi, processors_attr) or getattr(multi, _INSTALLED, None) is not None:
        return
    # The existing processors move behind one redacting processor (so a span is redacted, and its
    # findings counted, once however many exporters there are); later additions join them there.
    fanout = fanout_type()
    for processor in getattr(multi, processors_attr):
        getattr(fanout, add_name)(processor)
    wrapper = wrap(fanout)
    setattr(multi, processors_attr, (wrapper,))
    setattr(multi, add_name, getattr(fanout, add_name))
    setattr(multi, _INSTALLED, (wrapper, fanout))


def _uninstall(multi: Any, processors_attr: str, add_name: str) -> None:
    installed = getattr(multi, _INSTALLED, None) if multi is not None else None
    if installed is None:
        return
    wrapper, fanout = installed
    others = tuple(p for p in getattr(multi, processors_attr) if p is not wrapper)
    setattr(multi, processors_attr, tuple(getattr(fanout, processors_attr)) + others)
    delattr(multi, add_name)
    delattr(multi, _INSTALLED)
