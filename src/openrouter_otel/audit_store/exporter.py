"""The log exporter that writes `openrouter.audit` records into the audit store. Needs the OpenTelemetry SDK.

It sits behind the redacting log processor like any other exporter, so the store holds what would have
been exported. The instrumentor runs it behind a batch processor (one worker thread, off the request
path) or, with `audit_db_sync`, on the thread that ends the call.
"""

from __future__ import annotations

import logging
import threading
from typing import Any, Callable, Sequence

try:
    from opentelemetry.sdk._logs.export import LogRecordExporter as LogExporter
except ImportError:  # pragma: no cover - SDKs before the rename
    from opentelemetry.sdk._logs.export import LogExporter  # type: ignore[no-redef]
from opentelemetry.trace import format_span_id, format_trace_id

from openrouter_otel import semconv as sc
from openrouter_otel.audit_store.chain import Checkpoint
from openrouter_otel.audit_store.rows import AuditRecord
from openrouter_otel.audit_store.store import AuditStore, StoreError
from openrouter_otel.config import Settings

try:  # the SDK renamed its result enum; both spellings have SUCCESS and FAILURE
    from opentelemetry.sdk._logs.export import LogRecordExportResult as ExportResult
except ImportError:  # pragma: no cover - older SDKs
    from opentelemetry.sdk._logs.export import LogExportResult as ExportResult  # type: ignore[no-redef]

logger = logging.getLogger(__name__)

DEFAULT_CHECKPOINT_EVERY: int = Settings.audit_checkpoint_every  # the setting's default, defined there
# Records a failed write (locked or full disk) keeps in memory for the next export to retry.
MAX_PENDING = 10_000


class AuditStoreExporter(LogExporter):  # type: ignore[misc]
    """Appends each batch's audit records in one transaction; publishes the chain head every N rows and on flush."""

    def __init__(self, store_factory: Callable[[], AuditStore], *, checkpoint_every: int = DEFAULT_CHECKPOINT_EVERY,
                 publish: Callable[[Checkpoint, AuditStore], None] | None = None) -> None:
        self._store_factory = store_factory
        self._store: AuditStore | None = None
        self._checkpoint_every = max(1, checkpoint_every)
        self._publish = publish
        self._since_checkpoint = 0
        self._last_published: Checkpoint | None = None
        self._lock = threading.Lock()
        self._pending: list[AuditRecord] = []
        self._warned = False

    def export(self, batch: Sequence[Any]) -> Any:
        records = [record for record in map(_audit_record, batch) if record is not None]
        if not records and not self._pending:  # e.g. the checkpoint record this exporter itself published
            return ExportResult.SUCCESS
        with self._lock:
            records, self._pending = self._pending + records, []
            if not records:
                return ExportResult.SUCCESS
            try:
                store = self._open()
                result = store.append(records)
            except StoreError as error:
                self._pending = records[-MAX_PENDING:]
                self._warn(str(error))
                return ExportResult.FAILURE
            self._since_checkpoint += result.inserted
            due = self._due_checkpoint(result.head) if self._since_checkpoint >= self._checkpoint_every else None
        self._publish_head(due, store)
        return ExportResult.SUCCESS

    def publish_checkpoint(self) -> None:
        """Publish the current head now, if rows were added since the last one published."""
        with self._lock:
            store = self._store
            if store is None or self._since_checkpoint == 0:
                return
            try:
                due = self._due_checkpoint(store.head())
            except StoreError as error:
                self._warn(str(error))
                return
        self._publish_head(due, store)

    def force_flush(self, timeout_millis: int = 30_000) -> bool:
        return True

    def shutdown(self) -> None:
        # No checkpoint here: the provider calling this is shutting its other exporters down too, so a record
        # emitted now would go nowhere. `setup.AttachedStore.flush` publishes before that (at exit, or detach).
        if self._pending:
            self.export(())
        with self._lock:
            if self._store is not None:
                self._store.close()
                self._store = None

    def _open(self) -> AuditStore:
        if self._store is None:
            self._store = self._store_factory()
        return self._store

    def _due_checkpoint(self, head: Checkpoint) -> Checkpoint | None:
        """Called under the lock: the head to publish, if it is new."""
        self._since_checkpoint = 0
        if head == self._last_published:
            return None
        self._last_published = head
        return head

    def _publish_head(self, head: Checkpoint | None, store: AuditStore) -> None:
        # Outside the lock: publishing emits a log record, which a synchronous processor hands straight back here.
        if head is None or self._publish is None:
            return
        try:
            self._publish(head, store)
        except Exception:
            logger.debug("openrouter-otel: could not publish an audit checkpoint", exc_info=True)

    def _warn(self, message: str) -> None:
        if not self._warned:
            self._warned = True
            logger.warning("openrouter-otel: audit store: %s; the records are kept in memory (up to %d) and written "
                           "with the next batch", message, MAX_PENDING)


def _audit_record(item: Any) -> AuditRecord | None:
    """An export item (`ReadableLogRecord`, or `LogData` on older SDKs) as an AuditRecord, or None if not ours."""
    record = getattr(item, "log_record", item)
    attributes = dict(record.attributes or {})
    event_name = getattr(record, "event_name", None) or attributes.get("event.name")
    if event_name != sc.AUDIT_EVENT_NAME:
        return None
    resource = getattr(item, "resource", None) or getattr(record, "resource", None)
    service = resource.attributes.get("service.name") if resource is not None else None
    trace_id, span_id = record.trace_id, record.span_id
    return AuditRecord(
        attributes=attributes,
        timestamp_ns=int(record.timestamp or record.observed_timestamp or 0),
        trace_id=format_trace_id(trace_id) if trace_id else None,
        span_id=format_span_id(span_id) if span_id else None,
        service_name=str(service) if service is not None else None,
    )
