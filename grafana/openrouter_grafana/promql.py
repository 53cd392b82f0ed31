"""PromQL building blocks shared by the dashboards and the alert rules.

Label names are the metric attributes of `openrouter_otel.semconv` with dots turned into underscores,
which is what both the collector's prometheus exporter and opentelemetry-exporter-prometheus write.

Every selector names our instrumentation scope (`otel_scope_name`, which both exporters write): an app that
also runs another GenAI instrumentation (opentelemetry-instrumentation-openai-v2 records the same metric
names) would otherwise count every call twice.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from openrouter_otel import semconv as sc


def label(attribute: str) -> str:
    """The Prometheus (and Loki) label for an OpenTelemetry attribute: every other character becomes `_`."""
    return re.sub(r"[^A-Za-z0-9_]", "_", attribute)


OPERATION = label(sc.GEN_AI_OPERATION_NAME)
MODEL = label(sc.GEN_AI_REQUEST_MODEL)
SERVED_MODEL = label(sc.GEN_AI_RESPONSE_MODEL)
PROVIDER = label(sc.OPENROUTER_PROVIDER)
TEAM = label(sc.OPENROUTER_TEAM)
ERROR_TYPE = label(sc.ERROR_TYPE)
TOKEN_TYPE = label(sc.GEN_AI_TOKEN_TYPE)
PII_TYPE = label(sc.PII_TYPE)
POLICY_RULE = label(sc.POLICY_RULE)
KEY = label(sc.OPENROUTER_API_KEY_FINGERPRINT)

CALLS = f"{sc.PROM_OPERATION_DURATION}_count"
LATENCY_BUCKETS = f"{sc.PROM_OPERATION_DURATION}_bucket"
COST_USD = f"{sc.PROM_COST}_sum"
COSTED_CALLS = f"{sc.PROM_COST}_count"
TOKENS = f"{sc.PROM_TOKEN_USAGE}_sum"
FIRST_CHUNK_BUCKETS = f"{sc.PROM_TIME_TO_FIRST_CHUNK}_bucket"
REDACTIONS = sc.PROM_REDACTIONS
VIOLATIONS = sc.PROM_POLICY_VIOLATIONS

CREDITS_EXHAUSTED = "402"
RATE_LIMITED = "429"
CANCELLED = "cancelled"  # the caller gave up (error.type of a cancelled call): not a failure of the service

SCOPE = "otel_scope_name"
OUR_SCOPE = f'{SCOPE}="{sc.INSTRUMENTATION_SCOPE}"'

# The dashboards' model, provider and team variables, as matchers.
DASHBOARD_FILTERS = (f'{MODEL}=~"$model"', f'{PROVIDER}=~"$provider"', f'{TEAM}=~"$team"')

_RE2_SPECIAL = re.compile(r"([\\.+*?()|\[\]{}^$])")


def quote(value: str) -> str:
    """A PromQL (and LogQL) double-quoted string."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def eq(name: str, value: str) -> str:
    return f"{name}={quote(value)}"


def ne(name: str, value: str) -> str:
    return f"{name}!={quote(value)}"


def matches(name: str, regex: str) -> str:
    return f"{name}=~{quote(regex)}"


def not_matches(name: str, regex: str) -> str:
    return f"{name}!~{quote(regex)}"


def any_of(values: Iterable[str]) -> str:
    """An RE2 alternation matching exactly these literal values."""
    return "|".join(_RE2_SPECIAL.sub(r"\\\1", value) for value in values)


def selector(metric: str, *matchers: str) -> str:
    """`metric{...}` of our instrumentation scope only."""
    return f"{metric}{{{', '.join((OUR_SCOPE, *matchers))}}}"


def window_increase(metric: str, matchers: Iterable[str], window: str) -> str:
    """How much a counter grew over `window`, counting a series born inside the window from zero.

    `increase()` needs two samples of a series and so misses everything a series counted before its
    first scrape: the first 402 of a process, or the first call ever served by a new provider, would never
    fire an alert. A series that did not exist `window` ago is taken at its whole value instead.
    """
    series = selector(metric, *matchers)
    return f"({series} unless {series} offset {window}) or increase({series}[{window}])"


def total(by: Iterable[str], metric: str, matchers: Iterable[str], window: str) -> str:
    """`sum by (...)` of `window_increase`: how much happened over the window, per group."""
    return f"sum{_by(by)} ({window_increase(metric, matchers, window)})"


def rate(by: Iterable[str], metric: str, matchers: Iterable[str], per_seconds: int = 1) -> str:
    """Per-second (or per `per_seconds`) rate over Grafana's `$__rate_interval`, per group."""
    expression = f"sum{_by(by)} (rate({selector(metric, *matchers)}[$__rate_interval]))"
    return expression if per_seconds == 1 else f"{expression} * {per_seconds}"


def quantile(q: float, by: Iterable[str], buckets: str, matchers: Iterable[str], window: str = "$__rate_interval",
             counted: bool = False) -> str:
    """`histogram_quantile` of a histogram's buckets; `counted` uses `window_increase` (alert rules)."""
    groups = ["le", *by]
    if counted:
        return f"histogram_quantile({q}, {total(groups, buckets, matchers, window)})"
    return f"histogram_quantile({q}, sum{_by(groups)} (rate({selector(buckets, *matchers)}[{window}])))"


def _by(labels: Iterable[str]) -> str:
    labels = list(labels)
    return f" by ({', '.join(labels)})" if labels else ""
