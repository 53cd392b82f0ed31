"""`force_flush()` and `shutdown()` of the providers record the calls that have ended first.

Calls are recorded off the caller's path (emitter.py), so a provider flushed or shut down right after a call
would otherwise miss it. The hook is an attribute of the provider instance, removed by `unhook_flushes`; the
process's exit is handled by the worker's own atexit hook, which runs before the providers' (registered
earlier, so called later).
"""

from __future__ import annotations

import logging
from typing import Any, Callable

logger = logging.getLogger(__name__)

HOOKED_METHODS = ("force_flush", "shutdown")
# The longest a provider flush waits for the batch being recorded (a blocked exporter must not hang it forever).
FLUSH_TIMEOUT_S = 30.0
_MISSING = object()


class _Hook:
    __slots__ = ("provider", "name", "previous")

    def __init__(self, provider: Any, name: str, previous: Any) -> None:
        self.provider, self.name, self.previous = provider, name, previous


def hook_flushes(emitter: Any, *providers: Any) -> list[_Hook]:
    hooks = []
    for provider in providers:
        for name in HOOKED_METHODS:
            original = getattr(provider, name, None)
            if not callable(original):
                continue
            try:
                previous = vars(provider).get(name, _MISSING)
                setattr(provider, name, _flushing_first(emitter, original))
            except (TypeError, AttributeError):  # no instance dict (slots, C types): left alone
                continue
            hooks.append(_Hook(provider, name, previous))
    return hooks


def unhook_flushes(hooks: list[_Hook]) -> None:
    for hook in reversed(hooks):
        try:
            if hook.previous is _MISSING:
                delattr(hook.provider, hook.name)
            else:
                setattr(hook.provider, hook.name, hook.previous)
        except AttributeError:
            pass


def _flushing_first(emitter: Any, original: Callable[..., Any]) -> Callable[..., Any]:
    def flushing_first(*args: Any, **kwargs: Any) -> Any:
        try:
            emitter.flush(FLUSH_TIMEOUT_S)
        except Exception:
            logger.debug("openrouter-otel: could not record the ended calls before a flush", exc_info=True)
        return original(*args, **kwargs)

    return flushing_first
