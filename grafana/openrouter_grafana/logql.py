"""LogQL over the `openrouter.audit` records as Loki stores them after OTLP ingestion.

Loki keeps a log record's attributes as structured metadata with every character that is not a letter,
digit or `_` turned into `_` (`gen_ai.usage.cost` -> `gen_ai_usage_cost`), the instrumentation scope as
`scope_name`, and `service.name` as the stream label `service_name`. It drops the OTLP event name, so
the audit records are told apart by their scope: the instrumentor's audit logger is the only logger
named after the package (Python logging records carry their module's name, `openrouter_otel.call`...).
"""

from __future__ import annotations

from collections.abc import Iterable

from openrouter_grafana.promql import label, quote
from openrouter_otel import semconv as sc

SCOPE_NAME = "scope_name"
TRACE_ID = "trace_id"
SERVICE_NAME = "service_name"

AUDIT_RECORDS = f'{{{SERVICE_NAME}=~".+"}} | {SCOPE_NAME}={quote(sc.INSTRUMENTATION_SCOPE)}'

MODEL = label(sc.GEN_AI_REQUEST_MODEL)
SERVED_MODEL = label(sc.GEN_AI_RESPONSE_MODEL)
PROVIDER = label(sc.OPENROUTER_PROVIDER)
TEAM = label(sc.OPENROUTER_TEAM)
USER = label(sc.ENDUSER_ID)
COST = label(sc.GEN_AI_USAGE_COST)
UPSTREAM_COST = label(sc.OPENROUTER_COST_UPSTREAM)
IS_BYOK = label(sc.OPENROUTER_IS_BYOK)
CACHE_READ_TOKENS = label(sc.GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS)
REASONING_TOKENS = label(sc.GEN_AI_USAGE_REASONING_OUTPUT_TOKENS)
ROUTING_POLICY = tuple(label(key) for key in (
    sc.OPENROUTER_REQUEST_MODELS, sc.OPENROUTER_REQUEST_PROVIDER_ORDER, sc.OPENROUTER_REQUEST_PROVIDER_ONLY,
    sc.OPENROUTER_REQUEST_PROVIDER_IGNORE, sc.OPENROUTER_REQUEST_PROVIDER_ALLOW_FALLBACKS,
    sc.OPENROUTER_REQUEST_PROVIDER_DATA_COLLECTION, sc.OPENROUTER_REQUEST_PROVIDER_ZDR))

# The dashboards' model, provider and team variables, as label filters.
DASHBOARD_FILTERS = (f'{MODEL}=~"$model"', f'{PROVIDER}=~"$provider"', f'{TEAM}=~"$team"')


def audit(*filters: str) -> str:
    """The audit records of the dashboard's selection, narrowed by `filters` (label filter expressions)."""
    return " | ".join([AUDIT_RECORDS, *DASHBOARD_FILTERS, *filters])


def has(field: str) -> str:
    return f'{field}!=""'


def summed(by: Iterable[str], field: str, interval: str, *filters: str) -> str:
    """Sum of a numeric audit field over each `interval`, per group; records without the field are skipped."""
    records = audit(*filters, has(field))
    return f"sum{_by(by)} (sum_over_time({records} | unwrap {field} [{interval}]))"


def counted(by: Iterable[str], interval: str, *filters: str) -> str:
    return f"sum{_by(by)} (count_over_time({audit(*filters)} [{interval}]))"


def _by(labels: Iterable[str]) -> str:
    labels = list(labels)
    return f" by ({', '.join(labels)})" if labels else ""
