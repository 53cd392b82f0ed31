"""Reading OTLP/JSON (what the collector's file exporter writes) back into plain Python values."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


def any_value(value: dict[str, Any]) -> Any:
    """An OTLP/JSON AnyValue as Python: int64 comes as a string in proto3 JSON, so it is converted back."""
    if "stringValue" in value:
        return value["stringValue"]
    if "intValue" in value:
        return int(value["intValue"])
    if "doubleValue" in value:
        return float(value["doubleValue"])
    if "boolValue" in value:
        return value["boolValue"]
    if "arrayValue" in value:
        return [any_value(item) for item in value["arrayValue"].get("values", [])]
    if "kvlistValue" in value:
        return attributes(value["kvlistValue"].get("values", []))
    return None


def attributes(key_values: list[dict[str, Any]]) -> dict[str, Any]:
    return {item["key"]: any_value(item.get("value", {})) for item in key_values}


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
