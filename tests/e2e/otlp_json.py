"""Reading OTLP/JSON (what the collector's file exporter writes) back into plain Python values."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from openrouter_otel.audit_store.importer import otlp_attributes, otlp_value


# The package's own decoder, which `openrouter-otel audit import` reads the same files with.
any_value = otlp_value
attributes = otlp_attributes


@dataclass(frozen=True)
class LogRecord:
    event_name: str
    time_unix_nano: int
    attributes: dict[str, Any]
    body: Any
    trace_id: str
    span_id: str
    resource: dict[str, Any]


def log_records(requests: list[dict[str, Any]]) -> list[LogRecord]:
    """Every log record of a list of ExportLogsServiceRequest objects (one per line of the file exporter)."""
    return [
        LogRecord(
            event_name=record.get("eventName", ""),
            time_unix_nano=int(record.get("timeUnixNano", 0)),
            attributes=attributes(record.get("attributes", [])),
            body=any_value(record.get("body", {})),
            trace_id=record.get("traceId", ""),
            span_id=record.get("spanId", ""),
            resource=attributes(resource_logs.get("resource", {}).get("attributes", [])),
        )
        for request in requests
        for resource_logs in request.get("resourceLogs", [])
        for scope_logs in resource_logs.get("scopeLogs", [])
        for record in scope_logs.get("logRecords", [])
    ]
