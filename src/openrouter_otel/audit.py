"""Per-request audit context: who and what team a call is made for.

The fields live in the process's own OpenTelemetry context, under a key of ours, not in baggage: they
follow async tasks and contexts copied into threads, and nothing leaves the process. Sending them
downstream as W3C baggage, and trusting inbound baggage, are separate opt-ins.
"""

from __future__ import annotations

import re
from contextlib import contextmanager
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Iterator, Mapping

from opentelemetry import baggage, context

from openrouter_otel import semconv as sc
from openrouter_otel.config import Settings, items

_FIELDS_KEY = context.create_key("openrouter-otel-audit-context")
_VALUE = re.compile(sc.AUDIT_BAGGAGE_VALUE_PATTERN)
_EMPTY: Mapping[str, str] = MappingProxyType({})

# The instrumentation's propagation setting; a block's own `propagate=` wins over it.
_propagate_by_default = False


def configure(propagate: bool) -> None:
    global _propagate_by_default
    _propagate_by_default = propagate


@contextmanager
def audit_context(
    user_id: str | None = None,
    team: str | None = None,
    classification: str | None = None,
    *,
    propagate: bool | None = None,
    **extra: Any,
) -> Iterator[None]:
    """Attach who, what team and what data classification a call is made for; every call inside the block carries it.

    Works in sync and async code and in threads that run a copy of the context. An inner block adds to
    (and overrides fields of) an outer one. With `propagate=True`, or the audit baggage propagation setting,
    the fields also go to downstream services as W3C baggage (`openrouter.<field>`).
    """
    given = {sc.AUDIT_USER_FIELD: user_id, "team": team, "classification": classification, **extra}
    fields = {name: str(value) for name, value in given.items() if value is not None}
    ctx = context.set_value(_FIELDS_KEY, MappingProxyType({**_local_fields(), **fields}))
    if _propagate_by_default if propagate is None else propagate:
        for name, value in fields.items():
            ctx = baggage.set_baggage(sc.AUDIT_BAGGAGE_PREFIX + name, value, context=ctx)
    token = context.attach(ctx)
    try:
        yield
    finally:
        context.detach(token)


@dataclass(frozen=True)
class InboundBaggage:
    """Which inbound baggage entries are trusted as audit fields: allow-listed keys, short safe values."""

    keys: frozenset[str]
    max_length: int

    @classmethod
    def from_settings(cls, settings: Settings) -> InboundBaggage | None:
        if not settings.audit_baggage_accept:
            return None
        return cls(frozenset(items(settings.audit_baggage_keys)), settings.audit_baggage_max_length)

    def fields(self) -> dict[str, str]:
        accepted: dict[str, str] = {}
        for key, value in baggage.get_all().items():
            name = key[len(sc.AUDIT_BAGGAGE_PREFIX):]
            if key.startswith(sc.AUDIT_BAGGAGE_PREFIX) and name in self.keys and self._acceptable(value):
                accepted[name] = value
        return accepted

    def _acceptable(self, value: object) -> bool:
        return isinstance(value, str) and len(value) <= self.max_length and _VALUE.fullmatch(value) is not None


def current_audit_attributes(inbound: InboundBaggage | None = None) -> dict[str, str]:
    """Span/log attributes of the active audit context: enduser.id, openrouter.team, openrouter.<extra>.

    Inbound baggage counts only when `inbound` says which of it to trust; local fields always win.
    """
    local = _local_fields()
    if inbound is None and not local:
        return {}
    fields = {**inbound.fields(), **local} if inbound is not None else local
    return {_attribute(name): value for name, value in fields.items()}


def _local_fields() -> Mapping[str, str]:
    fields = context.get_value(_FIELDS_KEY)
    return fields if isinstance(fields, Mapping) else _EMPTY


def _attribute(name: str) -> str:
    return sc.ENDUSER_ID if name == sc.AUDIT_USER_FIELD else sc.OPENROUTER_AUDIT_PREFIX + name
