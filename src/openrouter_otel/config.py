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
            values[field.name] = _coerce(raw, field.default, source)
        return cls(**values)


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
}

# Keywords of instrument() that are settings, as opposed to providers.
SETTING_KEYWORDS = frozenset(_ENV_NAMES)


def _coerce(raw: Any, default: Any, source: str) -> Any:
    if isinstance(default, bool):
        return _parse_bool(raw, default, source)
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return default
    if isinstance(raw, (str, bytes)):
        return raw.decode() if isinstance(raw, bytes) else raw
    logger.warning("openrouter-otel: %s has a value that is not text; using the default %r", source, default)
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
