"""Attaching the audit store to a logger provider (SDK-only): the instrumentor's one call into this package."""

from __future__ import annotations

import atexit
import logging
import time
from typing import Any

from opentelemetry._logs import SeverityNumber

from openrouter_otel import semconv as sc
from openrouter_otel.audit_store.chain import Checkpoint
from openrouter_otel.audit_store.exporter import AuditStoreExporter
from openrouter_otel.audit_store.store import AuditStore, StoreError
from openrouter_otel.config import Settings

logger = logging.getLogger(__name__)

# How long a batch waits before it is written: what a crash can lose at most, besides the queue.
BATCH_DELAY_MS = 1000


class AttachedStore:
    """The processor, exporter and exit hook of one instrumentation's audit store."""

    def __init__(self, processor: Any, exporter: AuditStoreExporter) -> None:
        self.processor, self.exporter = processor, exporter
        atexit.register(self.flush)

    def flush(self) -> None:
        """Write what is queued and publish the head (at exit: before the SDK shuts its exporters down)."""
        try:
            self.processor.force_flush()
            self.exporter.publish_checkpoint()
        except Exception:
            logger.debug("openrouter-otel: could not flush the audit store", exc_info=True)

    def detach(self) -> None:
        atexit.unregister(self.flush)
        self.flush()
        # The processor stays in the provider (which shuts it down with itself); the exporter lets the file go now.
        try:
            self.exporter.shutdown()
        except Exception:
            logger.debug("openrouter-otel: could not close the audit store", exc_info=True)


def attach_audit_store(settings: Settings, logger_provider: Any, checkpoint_logger: Any) -> AttachedStore | None:
    """Add the store's processor to an SDK logger provider; None (with one warning) when it cannot be used."""
    from opentelemetry.sdk._logs.export import BatchLogRecordProcessor, SimpleLogRecordProcessor

    path, key = settings.audit_db, settings.audit_hmac_key.encode() if settings.audit_hmac_key else None
    try:
        AuditStore(path, key=key).close()  # fail now, with a message, rather than in the worker
    except StoreError as error:
        logger.warning("openrouter-otel: %s=%s: %s; the audit store is off", sc.ENV_AUDIT_DB, path, error)
        return None
    exporter = AuditStoreExporter(lambda: AuditStore(path, key=key), checkpoint_every=settings.audit_checkpoint_every,
                                  publish=_publisher(checkpoint_logger))
    if settings.audit_db_sync:
        processor: Any = SimpleLogRecordProcessor(exporter)
    else:
        processor = BatchLogRecordProcessor(exporter, schedule_delay_millis=BATCH_DELAY_MS)
    logger_provider.add_log_record_processor(processor)
    return AttachedStore(processor, exporter)


def own_logger_provider(tracer_provider: Any) -> Any:
    """An SDK logger provider for the audit records when the application has none (no logs exporter)."""
    from opentelemetry.sdk._logs import LoggerProvider

    resource = getattr(tracer_provider, "resource", None)
    return LoggerProvider(resource=resource) if resource is not None else LoggerProvider()


def _publisher(checkpoint_logger: Any) -> Any:
    def publish(head: Checkpoint, store: AuditStore) -> None:
        if checkpoint_logger is None:
            return
        now = time.time_ns()
        checkpoint_logger.emit(
            timestamp=now,
            observed_timestamp=now,
            severity_number=SeverityNumber.INFO,
            severity_text="INFO",
            body=f"audit store {store.store_id} head at row {head.seq}",
            attributes=head.to_attributes(store.chain.algorithm, store.chain.key_id, store.store_id),
            event_name=sc.AUDIT_CHECKPOINT_EVENT_NAME,
        )

    return publish
