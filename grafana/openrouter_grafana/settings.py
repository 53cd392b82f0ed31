"""grafana/thresholds.yaml, read and checked: every knob of the alert rules in one place."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

THRESHOLDS_FILE = Path(__file__).resolve().parents[1] / "thresholds.yaml"

_DURATION = re.compile(r"^([0-9]+(ms|s|m|h|d|w|y))+$")

# Every alert block, the keys it must have, and the keys it may have.
_ALERT_KEYS: dict[str, tuple[set[str], set[str]]] = {
    "error_rate": ({"max_ratio", "window", "min_requests"}, {"for"}),
    "credits_exhausted": ({"window"}, {"for"}),
    "rate_limited": ({"max_ratio", "window", "min_requests"}, {"for"}),
    "latency_p95": ({"max_seconds", "window", "min_requests"}, {"for"}),
    "team_hourly_budget": ({"default_usd"}, {"teams", "for"}),
    "daily_budget": ({"max_usd"}, {"for"}),
    "unapproved_provider": ({"window"}, {"for"}),
    "pii_surge": ({"max_redactions", "window"}, {"for"}),
    "no_telemetry": ({"window"}, {"for"}),
}


class SettingsError(ValueError):
    """thresholds.yaml is malformed: the message names the key."""


@dataclass(frozen=True)
class Settings:
    approved_providers: tuple[str, ...]
    alerts: dict[str, dict[str, Any]]
    runbook_base_url: str

    def alert(self, name: str) -> dict[str, Any]:
        return self.alerts[name]

    def team_budgets(self) -> dict[str, float]:
        return {str(team): float(usd) for team, usd in (self.alerts["team_hourly_budget"].get("teams") or {}).items()}


def load(path: Path = THRESHOLDS_FILE) -> Settings:
    raw = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
    providers = raw.get("approved_providers")
    if not isinstance(providers, list) or not providers or not all(isinstance(p, str) and p for p in providers):
        raise SettingsError("approved_providers must be a non-empty list of provider names")
    alerts = raw.get("alerts")
    if not isinstance(alerts, dict):
        raise SettingsError("alerts must be a mapping of alert name to its settings")
    _check_alerts(alerts)
    return Settings(tuple(providers), alerts, str(raw.get("runbook_base_url") or ""))


def _check_alerts(alerts: dict[str, Any]) -> None:
    if set(alerts) != set(_ALERT_KEYS):
        missing, unknown = set(_ALERT_KEYS) - set(alerts), set(alerts) - set(_ALERT_KEYS)
        raise SettingsError(f"alerts: missing {sorted(missing)}, unknown {sorted(unknown)}")
    for name, values in alerts.items():
        required, optional = _ALERT_KEYS[name]
        keys = set(values or {})
        if not required <= keys or not keys <= required | optional:
            raise SettingsError(f"alerts.{name} needs {sorted(required)} (may have {sorted(optional)}), "
                                f"has {sorted(keys)}")
        for key, value in values.items():
            _check_value(f"alerts.{name}.{key}", key, value)


def _check_value(where: str, key: str, value: Any) -> None:
    if key in ("window", "for"):
        if not isinstance(value, str) or not _DURATION.match(value):
            raise SettingsError(f"{where} must be a Prometheus duration such as 10m, got {value!r}")
    elif key == "teams":
        if not isinstance(value, dict) or not all(_is_positive(usd) for usd in value.values()):
            raise SettingsError(f"{where} must map team names to positive USD budgets")
    elif key == "max_ratio":
        if not _is_positive(value) or value >= 1:
            raise SettingsError(f"{where} must be a ratio between 0 and 1, got {value!r}")
    elif not _is_positive(value):
        raise SettingsError(f"{where} must be a positive number, got {value!r}")


def _is_positive(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and value > 0
