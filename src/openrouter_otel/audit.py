"""Per-request audit context, carried in OpenTelemetry baggage so it crosses threads and services."""

from __future__ import annotations

from contextlib import contextmanager
from typing import Any, Iterator

from opentelemetry import baggage, context

from openrouter_otel import semconv as sc

# Baggage keys. `user_id` becomes enduser.id; every other field becomes openrouter.<field>.
_BAGGAGE_PREFIX = "openrouter."
_USER_KEY = _BAGGAGE_PREFIX + "user_id"


@contextmanager
def audit_context(user_id: str | None = None, team: str | None = None, **extra: Any) -> Iterator[None]:
    """Attach who and what team a call is made for; every call inside the block carries it.

    Works in sync and async code (context variables follow the task), and propagates to downstream
    services with W3C baggage where a propagator is configured.
    """
    ctx = context.get_current()
    fields = {"user_id": user_id, "team": team, **extra}
    for name, value in fields.items():
        if value is not None:
            ctx = baggage.set_baggage(_BAGGAGE_PREFIX + name, str(value), context=ctx)
    token = context.attach(ctx)
    try:
        yield
    finally:
        context.detach(token)


def current_audit_attributes() -> dict[str, str]:
    """Span/log attributes from the active audit context: enduser.id, openrouter.team, openrouter.<extra>."""
    entries = baggage.get_all()
    if not entries:
        return {}
    attributes: dict[str, str] = {}
    for key, value in entries.items():
        if not key.startswith(_BAGGAGE_PREFIX) or not isinstance(value, str):
            continue
        if key == _USER_KEY:
            attributes[sc.ENDUSER_ID] = value
        else:
            attributes[key] = value
    return attributes
