"""Metric label values that come from callers, bounded so a caller cannot grow the number of series."""

from __future__ import annotations

import threading

from openrouter_otel import semconv as sc
from openrouter_otel.config import Settings, items


class TeamLabels:
    """The `openrouter.team` metric label: the team when allow-listed, or among the first `cap` distinct teams
    seen (without an allow-list); `other` for the rest. Spans and audit records keep the true value."""

    def __init__(self, allowed: frozenset[str] | None, cap: int) -> None:
        self._allowed = allowed
        self._cap = cap
        self._seen: set[str] = set()
        self._lock = threading.Lock()

    @classmethod
    def from_settings(cls, settings: Settings) -> TeamLabels:
        allowed = items(settings.metrics_teams)
        return cls(frozenset(allowed) if allowed else None, settings.metrics_team_cap)

    def label(self, team: str) -> str:
        if self._allowed is not None:
            return team if team in self._allowed else sc.TEAM_LABEL_OTHER
        if team in self._seen:
            return team
        with self._lock:
            if len(self._seen) < self._cap:
                self._seen.add(team)
                return team
        return sc.TEAM_LABEL_OTHER
