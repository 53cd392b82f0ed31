"""One audit row from one `openrouter.audit` record, whichever way the record arrives.

The SDK exporter (a `LogRecord`) and `audit import` (the collector's OTLP/JSON lines) both reduce a record
to its attributes, timestamp, trace and span id and service name, and this module turns that into the
row the store keeps. The row's column order is the order its hash covers.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Mapping

from openrouter_otel import semconv as sc

# (column, SQL type, attribute it comes from or None for the fields computed below). Order is significant.
COLUMNS: tuple[tuple[str, str, str | None], ...] = (
    ("ts", "TEXT NOT NULL", None),
    ("record_id", "TEXT NOT NULL", None),
    ("generation_id", "TEXT", sc.GEN_AI_RESPONSE_ID),
    ("operation", "TEXT", sc.GEN_AI_OPERATION_NAME),
    ("requested_model", "TEXT", sc.GEN_AI_REQUEST_MODEL),
    ("served_model", "TEXT", sc.GEN_AI_RESPONSE_MODEL),
    ("provider_name", "TEXT", sc.GEN_AI_PROVIDER_NAME),
    ("upstream_provider", "TEXT", sc.OPENROUTER_PROVIDER),
    ("server_address", "TEXT", sc.SERVER_ADDRESS),
    ("prompt_tokens", "INTEGER", sc.GEN_AI_USAGE_INPUT_TOKENS),
    ("completion_tokens", "INTEGER", sc.GEN_AI_USAGE_OUTPUT_TOKENS),
    ("cache_read_tokens", "INTEGER", sc.GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS),
    ("reasoning_tokens", "INTEGER", sc.GEN_AI_USAGE_REASONING_OUTPUT_TOKENS),
    ("cost_usd", "REAL", sc.GEN_AI_USAGE_COST),
    ("cost_source", "TEXT", sc.OPENROUTER_COST_SOURCE),
    ("is_byok", "INTEGER", sc.OPENROUTER_IS_BYOK),
    ("upstream_cost_usd", "REAL", sc.OPENROUTER_COST_UPSTREAM),
    ("latency_s", "REAL", sc.OPENROUTER_LATENCY),
    ("status", "TEXT", sc.OPENROUTER_STATUS),
    ("error_type", "TEXT", sc.ERROR_TYPE),
    ("error_code", "TEXT", sc.OPENROUTER_ERROR_CODE),
    ("user_id", "TEXT", sc.ENDUSER_ID),
    ("team", "TEXT", sc.OPENROUTER_TEAM),
    ("classification", "TEXT", sc.OPENROUTER_CLASSIFICATION),
    ("prompt_hash", "TEXT", sc.OPENROUTER_PROMPT_HASH),
    ("key_fingerprint", "TEXT", sc.OPENROUTER_API_KEY_FINGERPRINT),
    ("routing", "TEXT", None),
    ("policy_violations", "TEXT", None),
    ("trace_id", "TEXT", None),
    ("span_id", "TEXT", None),
    ("service_name", "TEXT", None),
)
COLUMN_NAMES: tuple[str, ...] = tuple(name for name, _, _ in COLUMNS)
_FROM_ATTRIBUTE = tuple((name, key) for name, _, key in COLUMNS if key is not None)
_INTEGER_COLUMNS = frozenset(name for name, kind, _ in COLUMNS if kind == "INTEGER")
_REAL_COLUMNS = frozenset(name for name, kind, _ in COLUMNS if kind == "REAL")
_ROUTING_KEYS = (sc.OPENROUTER_REQUEST_MODELS, sc.OPENROUTER_REQUEST_PROVIDER_ORDER,
                 sc.OPENROUTER_REQUEST_PROVIDER_ONLY, sc.OPENROUTER_REQUEST_PROVIDER_IGNORE,
                 sc.OPENROUTER_REQUEST_PROVIDER_ALLOW_FALLBACKS, sc.OPENROUTER_REQUEST_PROVIDER_DATA_COLLECTION,
                 sc.OPENROUTER_REQUEST_PROVIDER_ZDR)


@dataclass(frozen=True)
class AuditRecord:
    """What the store needs of one record, however it was shipped."""

    attributes: Mapping[str, Any]
    timestamp_ns: int
    trace_id: str | None  # 32 lower-case hex, or None
    span_id: str | None  # 16 lower-case hex, or None
    service_name: str | None


def to_row(record: AuditRecord) -> tuple[Any, ...]:
    """The record as a tuple in `COLUMN_NAMES` order."""
    attributes = record.attributes
    values: dict[str, Any] = {name: _cell(name, attributes.get(key)) for name, key in _FROM_ATTRIBUTE}
    values["ts"] = iso_timestamp(record.timestamp_ns)
    values["record_id"] = record_id(record)
    values["routing"] = _json_or_none({key[len(sc.OPENROUTER_AUDIT_PREFIX):]: attributes[key]
                                       for key in _ROUTING_KEYS if key in attributes})
    violations = attributes.get(sc.OPENROUTER_POLICY_VIOLATIONS)
    values["policy_violations"] = ",".join(map(str, violations)) if isinstance(violations, (list, tuple)) else violations
    values["trace_id"], values["span_id"], values["service_name"] = record.trace_id, record.span_id, record.service_name
    return tuple(values[name] for name in COLUMN_NAMES)


def record_id(record: AuditRecord) -> str:
    """What makes a record the same record when an export is retried: its call's span, else its content."""
    if record.trace_id and record.span_id:
        return f"{record.trace_id}-{record.span_id}"
    canonical = json.dumps({"t": record.timestamp_ns, "a": dict(record.attributes)}, sort_keys=True, default=str)
    return "content-" + hashlib.sha256(canonical.encode()).hexdigest()[:32]


def iso_timestamp(timestamp_ns: int) -> str:
    """UTC, microseconds, sortable as text: `2026-12-01T12:00:00.123456Z`."""
    moment = datetime.fromtimestamp(timestamp_ns / 1e9, tz=timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _cell(column: str, value: Any) -> Any:
    if value is None:
        return None
    if column in _INTEGER_COLUMNS:
        return int(value) if isinstance(value, (bool, int, float)) else _int_or_none(value)
    if column in _REAL_COLUMNS:
        return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else _float_or_none(value)
    if isinstance(value, (list, tuple)):
        return ",".join(map(str, value))
    return str(value)


def _int_or_none(value: Any) -> int | None:
    try:
        return int(str(value))
    except ValueError:
        return None


def _float_or_none(value: Any) -> float | None:
    try:
        return float(str(value))
    except ValueError:
        return None


def _json_or_none(value: Mapping[str, Any]) -> str | None:
    if not value:
        return None
    return json.dumps({key: list(item) if isinstance(item, tuple) else item for key, item in value.items()},
                      sort_keys=True, separators=(",", ":"))
