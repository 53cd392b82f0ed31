"""`audit import`: the collector's JSON-lines audit trail (OTLP/JSON, one export request a line) into the store."""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Iterator

from openrouter_otel import semconv as sc
from openrouter_otel.audit_store.rows import AuditRecord
from openrouter_otel.audit_store.store import AuditStore

BATCH = 5_000


@dataclass(frozen=True)
class OtlpLogRecord:
    attributes: dict[str, Any]
    timestamp_ns: int
    trace_id: str | None
    span_id: str | None
    service_name: str | None
    event_name: str | None

    def as_audit_record(self) -> AuditRecord:
        return AuditRecord(self.attributes, self.timestamp_ns, self.trace_id, self.span_id, self.service_name)


@dataclass
class ImportReport:
    files: int = 0
    lines: int = 0
    records: int = 0
    inserted: int = 0
    duplicates: int = 0
    problems: list[str] = field(default_factory=list)  # file:line and what was wrong
    truncated_tails: list[str] = field(default_factory=list)  # a last line cut short (a collector killed mid-write)


def import_files(store: AuditStore, paths: Iterable[str | Path]) -> ImportReport:
    report = ImportReport()
    records: list[OtlpLogRecord] = []
    for path in paths:
        report.files += 1
        records.extend(_read_file(Path(path), report))
    audit = sorted((record for record in records if record.event_name == sc.AUDIT_EVENT_NAME),
                   key=lambda record: (record.timestamp_ns, record.trace_id or "", record.span_id or ""))
    report.records = len(audit)
    for start in range(0, len(audit), BATCH):
        result = store.append(record.as_audit_record() for record in audit[start:start + BATCH])
        report.inserted += result.inserted
        report.duplicates += result.duplicates
    return report


def _read_file(path: Path, report: ImportReport) -> Iterator[OtlpLogRecord]:
    try:
        lines = path.read_bytes().split(b"\n")
    except OSError as error:
        report.problems.append(f"{path}: cannot read ({error.strerror or error})")
        return
    if lines and not lines[-1].strip():
        lines.pop()
    for number, raw in enumerate(lines, start=1):
        if not raw.strip():
            continue
        report.lines += 1
        try:
            document = json.loads(raw)
            yield from otlp_log_records(document)
        except (ValueError, TypeError, KeyError, AttributeError) as error:
            where = f"{path}:{number}"
            if number == len(lines):
                report.truncated_tails.append(where)
            else:
                report.problems.append(f"{where}: not an OTLP/JSON logs line ({type(error).__name__})")


def otlp_log_records(document: dict[str, Any]) -> Iterator[OtlpLogRecord]:
    """Every log record of one OTLP/JSON `ExportLogsServiceRequest`."""
    for resource_logs in document.get("resourceLogs") or ():
        resource = otlp_attributes((resource_logs.get("resource") or {}).get("attributes"))
        service = resource.get("service.name")
        for scope_logs in resource_logs.get("scopeLogs") or ():
            for record in scope_logs.get("logRecords") or ():
                attributes = otlp_attributes(record.get("attributes"))
                yield OtlpLogRecord(
                    attributes=attributes,
                    timestamp_ns=int(record.get("timeUnixNano") or record.get("observedTimeUnixNano") or 0),
                    trace_id=_hex_id(record.get("traceId"), 32),
                    span_id=_hex_id(record.get("spanId"), 16),
                    service_name=str(service) if service is not None else None,
                    event_name=record.get("eventName") or attributes.get("event.name"),
                )


def otlp_attributes(items: Any) -> dict[str, Any]:
    return {item["key"]: otlp_value(item.get("value") or {}) for item in items or ()}


def otlp_value(value: dict[str, Any]) -> Any:
    """An OTLP/JSON AnyValue as Python (int64 comes as a string in proto3 JSON)."""
    if "stringValue" in value:
        return value["stringValue"]
    if "intValue" in value:
        return int(value["intValue"])
    if "doubleValue" in value:
        return float(value["doubleValue"])
    if "boolValue" in value:
        return bool(value["boolValue"])
    if "arrayValue" in value:
        return [otlp_value(item) for item in (value["arrayValue"].get("values") or ())]
    if "kvlistValue" in value:
        return otlp_attributes(value["kvlistValue"].get("values"))
    if "bytesValue" in value:
        return base64.b64decode(value["bytesValue"]).hex()
    return None


def _hex_id(value: Any, length: int) -> str | None:
    # The collector writes ids as hex; OTLP/JSON from other tools may use base64.
    if not value:
        return None
    text = str(value)
    if len(text) == length and all(char in "0123456789abcdefABCDEF" for char in text):
        return None if set(text) == {"0"} else text.lower()
    try:
        decoded = base64.b64decode(text, validate=True).hex()
    except ValueError:
        return None
    return decoded if len(decoded) == length and set(decoded) != {"0"} else None
