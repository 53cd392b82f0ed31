"""Settings from the environment, each overridable by a keyword of `instrument()`.

A malformed value never raises: it produces one warning naming the variable and the default used.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, fields
from typing import Any, Mapping

from openrouter_otel import semconv

logger = logging.getLogger(__name__)

_TRUE = frozenset({"true", "1", "yes", "on"})
_FALSE = frozenset({"false", "0", "no", "off"})


@dataclass(frozen=True)
class Settings:
    capture_message_content: bool = False
    redaction: bool = True
    prompt_hash_key: str | None = None
    metrics_enduser: bool = False
    audit_events: bool = True
    fetch_generation: bool = False
    redaction_disable: str | None = None
    redaction_patterns: str | None = None
    redaction_hash_key: str | None = None
    audit_baggage_propagate: bool = False
    audit_baggage_accept: bool = False
    audit_baggage_keys: str = "user_id,team,classification,feature"
    audit_baggage_max_length: int = 128
    metrics_teams: str | None = None
    metrics_team_cap: int = 50
    audit_db: str | None = None
    audit_db_sync: bool = False
    audit_hmac_key: str | None = None
    audit_checkpoint_every: int = 1000
    policy: str | None = None
    key_metrics: bool = False
    key_metrics_interval: int = 60
    hosts: str | None = None
    synchronous: bool = False

    @classmethod
    def load(cls, overrides: Mapping[str, Any] | None = None, environ: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        overrides = overrides or {}
        values: dict[str, Any] = {}
        for field in fields(cls):
            env_name = _ENV_NAMES[field.name]
            if field.name in overrides and overrides[field.name] is not None:
                raw: Any = overrides[field.name]
                source = f"keyword {field.name!r}"
            elif env_name in env:
                raw = env[env_name]
                source = env_name
            else:
                continue
            if field.name in LIST_SETTINGS:
                raw = _joined(raw)
            values[field.name] = _coerce(raw, field.default, source)
        return cls(**values)


def items(value: str | None) -> tuple[str, ...]:
    """The entries of a comma-separated setting, stripped, empty ones dropped."""
    return tuple(entry for entry in (part.strip() for part in (value or "").split(",")) if entry)


_ENV_NAMES = {
    "capture_message_content": semconv.ENV_CAPTURE_MESSAGE_CONTENT,
    "redaction": semconv.ENV_REDACTION,
    "prompt_hash_key": semconv.ENV_PROMPT_HASH_KEY,
    "metrics_enduser": semconv.ENV_METRICS_ENDUSER,
    "audit_events": semconv.ENV_AUDIT_EVENTS,
    "fetch_generation": semconv.ENV_FETCH_GENERATION,
    "redaction_disable": semconv.ENV_REDACTION_DISABLE,
    "redaction_patterns": semconv.ENV_REDACTION_PATTERNS,
    "redaction_hash_key": semconv.ENV_REDACTION_HASH_KEY,
    "audit_baggage_propagate": semconv.ENV_AUDIT_BAGGAGE_PROPAGATE,
    "audit_baggage_accept": semconv.ENV_AUDIT_BAGGAGE_ACCEPT,
    "audit_baggage_keys": semconv.ENV_AUDIT_BAGGAGE_KEYS,
    "audit_baggage_max_length": semconv.ENV_AUDIT_BAGGAGE_MAX_LENGTH,
    "metrics_teams": semconv.ENV_METRICS_TEAMS,
    "metrics_team_cap": semconv.ENV_METRICS_TEAM_CAP,
    "audit_db": semconv.ENV_AUDIT_DB,
    "audit_db_sync": semconv.ENV_AUDIT_DB_SYNC,
    "audit_hmac_key": semconv.ENV_AUDIT_HMAC_KEY,
    "audit_checkpoint_every": semconv.ENV_AUDIT_CHECKPOINT_EVERY,
    "policy": semconv.ENV_POLICY,
    "key_metrics": semconv.ENV_KEY_METRICS,
    "key_metrics_interval": semconv.ENV_KEY_METRICS_INTERVAL,
    "hosts": semconv.ENV_HOSTS,
    "synchronous": semconv.ENV_SYNCHRONOUS,
}

# Keywords of instrument() that are settings, as opposed to providers.
SETTING_KEYWORDS = frozenset(_ENV_NAMES)
# Comma-separated settings, whose keyword also takes a list of text.
LIST_SETTINGS = frozenset({"redaction_disable", "audit_baggage_keys", "metrics_teams", "hosts"})


def _joined(raw: Any) -> Any:
    """A list of text as the comma-separated text the environment would hold; anything else unchanged."""
    if isinstance(raw, (list, tuple, set, frozenset)) and all(isinstance(entry, str) for entry in raw):
        return ",".join(raw)
    return raw


def _coerce(raw: Any, default: Any, source: str) -> Any:
    if isinstance(default, bool):
        return _parse_bool(raw, default, source)
    if isinstance(default, int):
        return _parse_count(raw, default, source)
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return default
    if isinstance(raw, (str, bytes)):
        return raw.decode() if isinstance(raw, bytes) else raw
    logger.warning("openrouter-otel: %s=%r is not text; using the default %r", source, raw, default)
    return default


def _parse_bool(raw: Any, default: bool, source: str) -> bool:
    if isinstance(raw, bool):
        return raw
    if isinstance(raw, str):
        word = raw.strip().lower()
        if not word:
            return default
        if word in _TRUE:
            return True
        if word in _FALSE:
            return False
    logger.warning(
        "openrouter-otel: %s=%r is not a boolean (true/false); using the default %s",
        source,
        raw,
        str(default).lower(),
    )
    return default


def _parse_count(raw: Any, default: int, source: str) -> int:
    if isinstance(raw, str) and not raw.strip():
        return default
    if isinstance(raw, int) and not isinstance(raw, bool) and raw >= 0:
        return raw
    if isinstance(raw, str) and raw.strip().isdigit():
        return int(raw.strip())
    logger.warning(
        "openrouter-otel: %s=%r is not a whole number of 0 or more; using the default %d", source, raw, default
    )
    return default
