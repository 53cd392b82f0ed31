"""The shipped Grafana files as the tests see them: dashboards, their queries, alert rules, provisioning.

Everything is read from the files Grafana would load (grafana/dashboards, grafana/provisioning), not from
the generator's code, so the tests prove what is shipped.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from openrouter_otel import semconv as sc

REPO_ROOT = Path(__file__).resolve().parents[2]
GRAFANA_DIR = REPO_ROOT / "grafana"
DASHBOARDS_DIR = GRAFANA_DIR / "dashboards"
PROVISIONING_DIR = GRAFANA_DIR / "provisioning"
RULES_FILE = PROVISIONING_DIR / "alerting" / "rules.yaml"
THRESHOLDS_FILE = GRAFANA_DIR / "thresholds.yaml"
README = GRAFANA_DIR / "README.md"

PROVISIONED_UIDS = {"prometheus", "tempo", "loki"}
EXPRESSION_UID = "__expr__"

# The Prometheus series DESIGN.md promises, and a selector of all of them.
HISTOGRAMS = (sc.PROM_OPERATION_DURATION, sc.PROM_TOKEN_USAGE, sc.PROM_TIME_TO_FIRST_CHUNK, sc.PROM_COST)
DESIGN_METRICS = {f"{name}_{suffix}" for name in HISTOGRAMS for suffix in ("bucket", "count", "sum")} | {
    sc.PROM_REDACTIONS, sc.PROM_POLICY_VIOLATIONS, *sc.PROM_KEY_GAUGES}
# Our instrumentation scope, as both Prometheus exporters label it.
OUR_SCOPE = f'otel_scope_name="{sc.INSTRUMENTATION_SCOPE}"'
ALL_DESIGN_SERIES = '{__name__=~"' + "|".join(sorted(DESIGN_METRICS)) + '"}'


def label(attribute: str) -> str:
    """The Prometheus label (and Loki field) of an attribute: what is not a letter, digit or `_` becomes `_`."""
    return re.sub(r"[^A-Za-z0-9_]", "_", attribute)


MODEL = label(sc.GEN_AI_REQUEST_MODEL)
SERVED_MODEL = label(sc.GEN_AI_RESPONSE_MODEL)
PROVIDER = label(sc.OPENROUTER_PROVIDER)
TEAM = label(sc.OPENROUTER_TEAM)
ERROR_TYPE = label(sc.ERROR_TYPE)
PII_TYPE = label(sc.PII_TYPE)

# The audit records as Loki stores them after OTLP ingestion: attributes as structured metadata named like
# labels, plus what Loki adds (stream label service_name, scope_name, the trace context, severity).
AUDIT_FIELDS = {label(key) for key in sc.AUDIT_ATTRIBUTE_KEYS}
LOKI_FIELDS = {"service_name", "scope_name", "trace_id", "span_id", "severity_text", "severity_number"}
NUMERIC_AUDIT_FIELDS = {label(key) for key in (
    sc.GEN_AI_USAGE_INPUT_TOKENS, sc.GEN_AI_USAGE_OUTPUT_TOKENS, sc.GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS,
    sc.GEN_AI_USAGE_CACHE_CREATION_INPUT_TOKENS, sc.GEN_AI_USAGE_REASONING_OUTPUT_TOKENS, sc.GEN_AI_USAGE_COST,
    sc.OPENROUTER_COST_UPSTREAM, sc.OPENROUTER_LATENCY)}


def load_yaml(path: Path) -> Any:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def dashboards() -> dict[str, dict]:
    return {path.name: json.loads(path.read_text(encoding="utf-8")) for path in sorted(DASHBOARDS_DIR.glob("*.json"))}


def rules() -> list[dict]:
    return [rule for group in load_yaml(RULES_FILE)["groups"] for rule in group["rules"]]


def raw_thresholds() -> dict:
    """thresholds.yaml as written, its policy file's path made absolute (so an edited copy can live elsewhere)."""
    raw = load_yaml(THRESHOLDS_FILE)
    raw["policy"] = str((THRESHOLDS_FILE.parent / raw["policy"]).resolve())
    return raw


def policy_file() -> Path:
    return Path(raw_thresholds()["policy"])


def thresholds() -> dict:
    """thresholds.yaml with what the alerts take from the policy file filled in: `approved_providers`, the hourly
    team budgets (`alerts.team_hourly_budget.default_usd` and `.teams`) and `alerts.daily_budget.max_usd`."""
    raw = raw_thresholds()
    policy = load_yaml(Path(raw["policy"]))
    raw["approved_providers"] = policy["approved_providers"]
    teams = {team: scope["budget"]["hour"] for team, scope in (policy.get("teams") or {}).items()
             if "hour" in ((scope or {}).get("budget") or {})}
    default = ((policy.get("default_team") or {}).get("budget") or {}).get("hour")
    alerts = raw["alerts"]
    alerts["team_hourly_budget"] = {**(alerts["team_hourly_budget"] or {}), "default_usd": default, "teams": teams}
    alerts["daily_budget"] = {**(alerts["daily_budget"] or {}), "max_usd": (policy.get("budget") or {}).get("day")}
    return raw


def panels(dashboard: dict) -> list[dict]:
    """Every panel, the ones inside collapsed rows included; rows themselves too."""
    found = []
    for panel in dashboard.get("panels", []):
        found.append(panel)
        found.extend(panel.get("panels", []))
    return found


def variables(dashboard: dict) -> dict[str, dict]:
    return {variable["name"]: variable for variable in dashboard.get("templating", {}).get("list", [])}


@dataclass(frozen=True)
class Query:
    """One target of one panel."""

    dashboard: str
    panel: dict
    target: dict

    @property
    def id(self) -> str:
        return f"{self.dashboard}:{self.panel['title']}:{self.target['refId']}"

    @property
    def expr(self) -> str:
        return self.target["expr"]

    @property
    def datasource_type(self) -> str:
        return (self.target.get("datasource") or self.panel.get("datasource") or {}).get("type", "")

    @property
    def instant(self) -> bool:
        if self.datasource_type == "loki":
            return self.target.get("queryType") == "instant"
        return bool(self.target.get("instant"))

    @property
    def interval_seconds(self) -> float:
        """The panel's minimum interval, which Grafana uses as `$__interval` when it is larger than the step."""
        return duration_seconds(self.panel.get("interval") or "1s")


def queries(datasource_type: str | None = None) -> list[Query]:
    found = []
    for name, dashboard in dashboards().items():
        for panel in panels(dashboard):
            for target in panel.get("targets", []):
                query = Query(name, panel, target)
                if datasource_type is None or query.datasource_type == datasource_type:
                    found.append(query)
    return found


# ---- Grafana's variable substitution --------------------------------------------------------------

_VARIABLE = re.compile(r"\$\{(\w+)(?::\w+)?\}|\$(\w+)")
_UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800, "y": 31536000}


def duration_seconds(text: str) -> float:
    parts = re.findall(r"([0-9.]+)(ms|s|m|h|d|w|y)", text)
    if not parts or "".join(amount + unit for amount, unit in parts) != text:
        raise ValueError(f"not a duration: {text!r}")
    return sum(float(amount) * _UNITS[unit] for amount, unit in parts)


def prometheus_regular_escape(value: str) -> str:
    """What Grafana's Prometheus datasource does to a single-value variable (a textbox) it interpolates."""
    return value.replace("\\", "\\\\").replace("'", "\\'")


def grafana_values(dashboard: dict, *, range_seconds: float, interval_seconds: float,
                   scrape_interval_seconds: float) -> dict[str, str]:
    """Values Grafana substitutes, with every multi-value variable on All (its `allValue`).

    `$__rate_interval` is max(`$__interval` + scrape interval, 4 x scrape interval), as Grafana computes it.
    """
    rate_interval = max(interval_seconds + scrape_interval_seconds, 4 * scrape_interval_seconds)
    values = {
        "__range": f"{math.ceil(range_seconds)}s",
        "__interval": _seconds_text(interval_seconds),
        "__rate_interval": _seconds_text(rate_interval),
        "__auto": _seconds_text(interval_seconds),
    }
    for name, variable in variables(dashboard).items():
        if variable["type"] == "query" and variable.get("includeAll"):
            values[name] = variable.get("allValue") or ".*"
        elif variable["type"] == "textbox":
            values[name] = prometheus_regular_escape(variable["query"])
    return values


def substitute(expr: str, values: dict[str, str]) -> str:
    """Replace `$name` and `${name}` as Grafana does; an unknown variable is an error."""

    def replace(match: re.Match) -> str:
        name = match.group(1) or match.group(2)
        if name not in values:
            raise KeyError(f"variable ${name} has no value (used in {expr!r})")
        return values[name]

    return _VARIABLE.sub(replace, expr)


def _seconds_text(seconds: float) -> str:
    return f"{math.ceil(seconds)}s"
