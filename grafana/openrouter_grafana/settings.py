"""grafana/thresholds.yaml and the policy file it names, read and checked.

thresholds.yaml holds the alerts' thresholds and windows; the approved providers and the budgets come from the
policy file (policy.example.yaml at the repository root by default), read by the SDK's own validator
(`openrouter_otel.policy`): the file the instrumented apps check their calls against is the one the alerts use.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from openrouter_otel.policy import Policy, PolicyError, load_policy

THRESHOLDS_FILE = Path(__file__).resolve().parents[1] / "thresholds.yaml"

_DURATION = re.compile(r"^([0-9]+(ms|s|m|h|d|w|y))+$")

# Every alert block, the keys it must have, and the keys it may have.
_ALERT_KEYS: dict[str, tuple[set[str], set[str]]] = {
    "error_rate": ({"max_ratio", "window", "min_requests"}, {"for"}),
    "credits_exhausted": ({"window"}, {"for"}),
    "rate_limited": ({"max_ratio", "window", "min_requests"}, {"for"}),
    "latency_p95": ({"max_seconds", "window", "min_requests"}, {"for"}),
    "team_hourly_budget": (set(), {"for"}),  # budgets: the policy's teams / default_team hour budgets
    "daily_budget": (set(), {"for"}),  # the policy's `budget: {day: ...}`
    "policy_violations": ({"window"}, {"for"}),
    "key_credit_low": ({"min_usd"}, {"for"}),
    "key_credit_runs_out": ({"window", "within"}, {"for"}),
    "key_expiring": ({"within"}, {"for"}),
    "unapproved_provider": ({"window"}, {"for"}),
    "pii_surge": ({"max_redactions", "window"}, {"for"}),
    "no_telemetry": ({"window"}, {"for"}),
}


class SettingsError(ValueError):
    """thresholds.yaml or its policy file is malformed: the message names the key (or the file and line)."""


@dataclass(frozen=True)
class Settings:
    approved_providers: tuple[str, ...]
    alerts: dict[str, dict[str, Any]]
    runbook_base_url: str
    policy: Policy
    policy_name: str  # as thresholds.yaml names it (the generated texts must not depend on the checkout's path)

    def alert(self, name: str) -> dict[str, Any]:
        return self.alerts[name] or {}

    def team_budgets(self) -> dict[str, float]:
        """Hourly budgets of the teams the policy lists with one."""
        return {team: scope.budget.hour for team, scope in self.policy.teams.items() if scope.budget.hour is not None}

    @property
    def default_team_budget(self) -> float | None:
        return self.policy.default_team.budget.hour

    @property
    def daily_budget(self) -> float | None:
        return self.policy.budget.day


def load(path: Path = THRESHOLDS_FILE) -> Settings:
    raw = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
    policy = _policy(Path(path), raw.get("policy"))
    if not policy.approved_providers:
        raise SettingsError(f"{policy.source}: approved_providers must be a non-empty list of provider names")
    alerts = raw.get("alerts")
    if not isinstance(alerts, dict):
        raise SettingsError("alerts must be a mapping of alert name to its settings")
    _check_alerts(alerts)
    return Settings(policy.approved_providers, alerts, str(raw.get("runbook_base_url") or ""), policy,
                    Path(raw["policy"]).name)


def _policy(thresholds_path: Path, name: Any) -> Policy:
    if not isinstance(name, str) or not name:
        raise SettingsError("policy must name the policy file (relative to thresholds.yaml), e.g. ../policy.example.yaml")
    try:
        return load_policy(str(thresholds_path.parent / name))
    except PolicyError as exc:
        raise SettingsError(str(exc)) from None
    except OSError as exc:
        raise SettingsError(f"policy: cannot read {name} ({exc.strerror or exc})") from None


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
        for key, value in (values or {}).items():
            _check_value(f"alerts.{name}.{key}", key, value)


def _check_value(where: str, key: str, value: Any) -> None:
    if key in ("window", "for", "within"):
        if not isinstance(value, str) or not _DURATION.match(value):
            raise SettingsError(f"{where} must be a Prometheus duration such as 10m, got {value!r}")
    elif key == "max_ratio":
        if not _is_positive(value) or value >= 1:
            raise SettingsError(f"{where} must be a ratio between 0 and 1, got {value!r}")
    elif not _is_positive(value):
        raise SettingsError(f"{where} must be a positive number, got {value!r}")


def _is_positive(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and value > 0
