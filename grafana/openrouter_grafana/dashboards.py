"""The three dashboards: LLM spend and usage, reliability, audit and compliance."""

from __future__ import annotations

from openrouter_grafana import logql as lq
from openrouter_grafana import promql as q
from openrouter_grafana.panels import (
    Layout,
    bars,
    dashboard,
    loki,
    prom,
    row,
    standard_variables,
    stat,
    table,
    textbox_variable,
    timeseries,
    trace_link,
    unit_override,
)
from openrouter_grafana.promql import label
from openrouter_grafana.settings import Settings
from openrouter_otel import semconv as sc

F = q.DASHBOARD_FILTERS
RANGE = "$__range"
ERROR = q.ne(q.ERROR_TYPE, "")
# The violations counter carries only rule and team: of the dashboard's filters, only the team applies.
VIOLATION_TEAM = F[2]
# What the error rates count: every error but a caller's own cancellation.
FAILED = (ERROR, q.ne(q.ERROR_TYPE, q.CANCELLED))


def dashboards(settings: Settings) -> dict[str, dict]:
    """File name (under grafana/dashboards/) -> dashboard JSON."""
    return {"openrouter-spend.json": spend(), "openrouter-reliability.json": reliability(),
            "openrouter-audit.json": audit(settings)}


# ---- LLM spend and usage --------------------------------------------------------------------------


def spend() -> dict:
    layout = Layout().add(
        row("Spend"),
        stat("Spend in range", "USD billed by OpenRouter for the calls in the time range (BYOK: OpenRouter's fee).",
             "currencyUSD", prom(f"sum({q.window_increase(q.COST_USD, F, RANGE)})", instant=True), decimals=2),
        stat("Spend rate", "Current spend, in USD per hour.", "currencyUSD",
             prom(q.rate([], q.COST_USD, F, 3600)), decimals=2),
        stat("Calls in range", "LLM calls made in the time range, failed ones included.", "short",
             prom(f"sum({q.window_increase(q.CALLS, F, RANGE)})", instant=True), decimals=0),
        stat("Average cost per call", "Spend divided by the calls whose cost is known.", "currencyUSD",
             prom(f"sum({q.window_increase(q.COST_USD, F, RANGE)})"
                  f" / sum({q.window_increase(q.COSTED_CALLS, F, RANGE)})", instant=True), decimals=4),
        timeseries("Spend rate by served model", "USD per hour, by the model that actually served the calls.",
                   "currencyUSD", prom(q.rate([q.SERVED_MODEL], q.COST_USD, F, 3600), "{{gen_ai_response_model}}"),
                   width=8, stack=True),
        timeseries("Spend rate by upstream provider", "USD per hour, by the provider OpenRouter routed the calls to.",
                   "currencyUSD", prom(q.rate([q.PROVIDER], q.COST_USD, F, 3600), "{{openrouter_provider}}"),
                   width=8, stack=True),
        timeseries("Spend rate by team", "USD per hour, by the team of `audit_context(team=...)`.",
                   "currencyUSD", prom(q.rate([q.TEAM], q.COST_USD, F, 3600), "{{openrouter_team}}"),
                   width=8, stack=True),
        bars("Spend in range by served model", "Total USD in the time range.", "currencyUSD",
             prom(q.total([q.SERVED_MODEL], q.COST_USD, F, RANGE), "{{gen_ai_response_model}}", instant=True)),
        bars("Spend in range by upstream provider", "Total USD in the time range.", "currencyUSD",
             prom(q.total([q.PROVIDER], q.COST_USD, F, RANGE), "{{openrouter_provider}}", instant=True)),
        bars("Spend in range by team", "Total USD in the time range.", "currencyUSD",
             prom(q.total([q.TEAM], q.COST_USD, F, RANGE), "{{openrouter_team}}", instant=True)),
        timeseries("Daily cost by served model", "USD per completed day (each bar is the day before its timestamp).",
                   "currencyUSD", prom(f"sum by ({q.SERVED_MODEL}) "
                                       f"(increase({q.selector(q.COST_USD, *F)}[$__rate_interval]))",
                                       "{{gen_ai_response_model}}"),
                   width=16, stack=True, bars=True, interval="1d"),
        bars("Cost today so far by served model", "USD since midnight.", "currencyUSD",
             prom(q.total([q.SERVED_MODEL], q.COST_USD, F, RANGE), "{{gen_ai_response_model}}", instant=True),
             time_from="now/d"),
        row("Usage"),
        timeseries("Tokens per second by type", "Input (prompt) and output (completion) tokens per second.", "short",
                   prom(q.rate([q.TOKEN_TYPE], q.TOKENS, F), "{{gen_ai_token_type}}"), width=8),
        stat("Tokens in range", "Input and output tokens in the time range.", "short",
             prom(q.total([q.TOKEN_TYPE], q.TOKENS, F, RANGE), "{{gen_ai_token_type}}", instant=True), width=4),
        timeseries("Tokens per second by served model", "Tokens per second, by served model and token type.", "short",
                   prom(q.rate([q.SERVED_MODEL, q.TOKEN_TYPE], q.TOKENS, F),
                        "{{gen_ai_response_model}} {{gen_ai_token_type}}")),
        timeseries("Requests per second by requested model", "Calls per second, failed ones included.", "reqps",
                   prom(q.rate([q.MODEL], q.CALLS, F), "{{gen_ai_request_model}}"), width=24),
        row("Cache, reasoning and BYOK (audit records in Loki)"),
        timeseries("Cache-read input tokens by served model", "Prompt tokens served from the provider's prompt cache.",
                   "short", loki(lq.summed([lq.SERVED_MODEL], lq.CACHE_READ_TOKENS, "$__auto"),
                                 "{{gen_ai_response_model}}"), width=8),
        timeseries("Reasoning output tokens by served model", "Output tokens spent on reasoning.", "short",
                   loki(lq.summed([lq.SERVED_MODEL], lq.REASONING_TOKENS, "$__auto"), "{{gen_ai_response_model}}"),
                   width=8),
        timeseries("Calls by billing: BYOK or OpenRouter credits",
                   "BYOK: your own provider key, OpenRouter charges a fee.",
                   "short", loki(lq.counted([lq.IS_BYOK], "$__auto"), "BYOK={{openrouter_is_byok}}"), width=8),
        stat("BYOK share of calls", "Share of calls in the time range made with your own provider key.", "percentunit",
             loki(f'{lq.counted([], RANGE, lq.IS_BYOK + "=" + q.quote("true"))} / {lq.counted([], RANGE)}',
                  instant=True), width=12),
        stat("BYOK upstream cost in range", "What the upstream providers charged your own keys for BYOK calls.",
             "currencyUSD", loki(lq.summed([], lq.UPSTREAM_COST, RANGE), instant=True), width=12, decimals=2),
    )
    return dashboard("openrouter-spend", "OpenRouter: LLM spend and usage",
                     "Spend, tokens and requests of LLM calls instrumented by openrouter-otel.",
                     layout, standard_variables(with_loki=True))


# ---- Reliability ----------------------------------------------------------------------------------


def reliability() -> dict:
    failed_share = (f"(sum({q.window_increase(q.CALLS, [*F, *FAILED], RANGE)}) or vector(0))"
                    f" / sum({q.window_increase(q.CALLS, F, RANGE)})")
    model_error_rate = (f"(sum by ({q.MODEL}) (rate({q.selector(q.CALLS, *F, *FAILED)}[$__rate_interval]))"
                        f" or {q.rate([q.MODEL], q.CALLS, F)} * 0) / {q.rate([q.MODEL], q.CALLS, F)}")
    layout = Layout().add(
        row("Errors"),
        stat("Error rate in range", "Share of calls that failed, every error.type but cancelled (the caller gave up).",
             "percentunit",
             prom(failed_share, instant=True), decimals=2, red_from=0.05),
        stat("402 credits exhausted", "Calls OpenRouter refused for lack of credits in the time range.", "short",
             prom(_count_or_zero([*F, q.eq(q.ERROR_TYPE, q.CREDITS_EXHAUSTED)]), instant=True), decimals=0, red_from=1),
        stat("429 rate limited", "Calls answered 429 Too Many Requests in the time range.", "short",
             prom(_count_or_zero([*F, q.eq(q.ERROR_TYPE, q.RATE_LIMITED)]), instant=True), decimals=0, red_from=1),
        stat("Latency p95 in range", "95% of calls in the time range took at most this long.", "s",
             prom(q.quantile(0.95, [], q.LATENCY_BUCKETS, F, RANGE, counted=True), instant=True), decimals=2),
        timeseries("Error rate by requested model", "Share of calls that failed, cancelled calls left out.",
                   "percentunit",
                   prom(model_error_rate, "{{gen_ai_request_model}}")),
        timeseries("Errors per second by model and error.type",
                   "error.type is the HTTP status, or the exception's type.", "reqps",
                   prom(q.rate([q.MODEL, q.ERROR_TYPE], q.CALLS, [*F, ERROR]),
                        "{{gen_ai_request_model}} {{error_type}}")),
        timeseries("402 and 429 answers per second", "Credits exhausted (402) and rate limited (429).", "reqps",
                   prom(q.rate([q.ERROR_TYPE], q.CALLS,
                               [*F, q.matches(q.ERROR_TYPE, q.any_of([q.CREDITS_EXHAUSTED, q.RATE_LIMITED]))]),
                        "{{error_type}}"), width=24),
        row("Latency"),
        timeseries("Latency p50 / p95 / p99",
                   "Call duration; streams count until their last chunk. Exemplars link to traces.",
                   "s", *(prom(q.quantile(p, [], q.LATENCY_BUCKETS, F), f"p{round(p * 100)}", exemplar=True)
                          for p in (0.5, 0.95, 0.99))),
        timeseries("Latency p95 by requested model", "Call duration, 95th percentile.", "s",
                   prom(q.quantile(0.95, [q.MODEL], q.LATENCY_BUCKETS, F), "{{gen_ai_request_model}}", exemplar=True)),
        timeseries("Time to first chunk p95 by requested model", "Streams only: time until the first chunk arrived.",
                   "s", prom(q.quantile(0.95, [q.MODEL], q.FIRST_CHUNK_BUCKETS, F), "{{gen_ai_request_model}}",
                             exemplar=True), width=24),
        row("Fallbacks: requested vs served model"),
        table("Requested vs served model", "Calls per requested model, the model that served them and where. "
              "A served model other than the requested one is a fallback (or a dated alias).", "short",
              prom(q.total([q.MODEL, q.SERVED_MODEL, q.PROVIDER], q.CALLS, [*F, q.ne(q.SERVED_MODEL, "")], RANGE),
                   instant=True, table=True),
              width=24, transformations=[_organize({q.MODEL: "Requested model", q.SERVED_MODEL: "Served model",
                                                    q.PROVIDER: "Upstream provider", "Value": "Calls"})]),
    )
    return dashboard("openrouter-reliability", "OpenRouter: reliability",
                     "Errors, 402 and 429 answers, latency and fallbacks of LLM calls instrumented by openrouter-otel.",
                     layout, standard_variables(with_loki=False))


# ---- Audit and compliance -------------------------------------------------------------------------

def audit(settings: Settings) -> dict:
    unapproved = [*F, q.ne(q.PROVIDER, ""), q.not_matches(q.PROVIDER, "$approved_providers")]
    layout = Layout().add(
        row("Upstream providers"),
        stat("Calls served by unapproved providers", "Calls in the time range served by a provider outside the "
             "Approved providers variable.", "short", prom(_count_or_zero(unapproved), instant=True),
             decimals=0, red_from=1),
        stat("Upstream providers used", "Distinct providers that served calls in the time range.", "short",
             prom(f"count({q.total([q.PROVIDER], q.CALLS, [*F, q.ne(q.PROVIDER, '')], RANGE)})", instant=True),
             decimals=0),
        timeseries("Calls per second by upstream provider", "Where OpenRouter routed the calls.", "reqps",
                   prom(q.rate([q.PROVIDER], q.CALLS, [*F, q.ne(q.PROVIDER, "")]), "{{openrouter_provider}}")),
        bars("Calls by upstream provider", "Calls in the time range per provider.", "short",
             prom(q.total([q.PROVIDER], q.CALLS, [*F, q.ne(q.PROVIDER, "")], RANGE), "{{openrouter_provider}}",
                  instant=True), width=8),
        table("Calls served by unapproved providers, by model and team", "Each provider outside the approved list, "
              "the models it served and the teams that called them.", "short",
              prom(q.total([q.PROVIDER, q.SERVED_MODEL, q.TEAM], q.CALLS, unapproved, RANGE), instant=True, table=True),
              width=16, transformations=[_organize({q.PROVIDER: "Provider", q.SERVED_MODEL: "Served model",
                                                    q.TEAM: "Team", "Value": "Calls"})]),
        row("Policy violations"),
        timeseries("Policy violations per hour by rule", "Calls breaking a rule of the policy file, per rule (a call "
                   "breaking several rules counts once for each), as checked by the instrumented SDK.", "short",
                   prom(q.rate([q.POLICY_RULE], q.VIOLATIONS, [VIOLATION_TEAM], 3600), "{{openrouter_policy_rule}}"),
                   width=12),
        table("Policy violations by rule and team", "Violations in the time range per policy rule and team.",
              "short", prom(q.total([q.POLICY_RULE, q.TEAM], q.VIOLATIONS, [VIOLATION_TEAM], RANGE), instant=True,
                            table=True),
              width=12, transformations=[_organize({q.POLICY_RULE: "Rule", q.TEAM: "Team", "Value": "Violations"})]),
        row("Key credit (GET /key, per key fingerprint)"),
        timeseries("Key credit remaining", "Remaining credit of each OpenRouter key with a limit, as the "
                   "instrumented SDK polls it (OTEL_INSTRUMENTATION_OPENROUTER_KEY_METRICS).", "currencyUSD",
                   prom(f"min by ({q.KEY}) ({q.selector(sc.PROM_KEY_LIMIT_REMAINING)})",
                        "{{openrouter_api_key_fingerprint}}"), width=12),
        timeseries("Key usage today", "What each key spent today (OpenRouter's usage_daily, UTC day).",
                   "currencyUSD", prom(f"max by ({q.KEY}) ({q.selector(sc.PROM_KEY_USAGE_DAILY)})",
                                       "{{openrouter_api_key_fingerprint}}"), width=6),
        stat("Key expires in", "Time until the soonest-expiring key expires.", "s",
             prom(f"min({q.selector(sc.PROM_KEY_EXPIRES_IN)})", instant=True), width=6),
        row("Routing policies (audit records in Loki)"),
        table("Routing policies requested", "The provider routing each call asked OpenRouter for (fallback models, "
              "provider order, only/ignore lists, fallbacks, data collection, zero data retention), with call counts.",
              "short", loki(lq.counted(lq.ROUTING_POLICY, RANGE), instant=True), width=24,
              transformations=_series_as_rows({name: name.removeprefix("openrouter_request_")
                                               for name in lq.ROUTING_POLICY})),
        row("PII redactions"),
        timeseries("Redactions per second by type", "PII and secrets replaced in exported telemetry, by pii.type.",
                   "short", prom(q.rate([q.PII_TYPE], q.REDACTIONS, []), "{{pii_type}}"), width=16),
        bars("Redactions in range by type", "Values redacted in the time range.", "short",
             prom(q.total([q.PII_TYPE], q.REDACTIONS, [], RANGE), "{{pii_type}}", instant=True)),
        row("Audit trail (audit records in Loki)"),
        table("Audit trail", "One row per call: the openrouter.audit records, newest first. The trace id opens the "
              "call's trace in Tempo.", "none", loki(lq.audit()), width=24, height=12,
              transformations=_audit_trail_transformations(),
              overrides=[trace_link(AUDIT_TRAIL_COLUMNS[lq.TRACE_ID]),
                         unit_override(AUDIT_TRAIL_COLUMNS[lq.COST], "currencyUSD")]),
        bars("Top spenders by user", "The 10 users (enduser.id) who spent most in the time range.", "currencyUSD",
             loki(f"topk(10, {lq.summed([lq.USER], lq.COST, RANGE, lq.has(lq.USER))})", "{{enduser_id}}", instant=True),
             width=24),
    )
    variables = [*standard_variables(with_loki=True),
                 textbox_variable("approved_providers", "Approved providers (regex)",
                                  q.any_of(settings.approved_providers),
                                  "Upstream providers your policy allows, as a regular expression. The policy file "
                                  "grafana/thresholds.yaml names sets the default and the matching alert.")]
    return dashboard("openrouter-audit", "OpenRouter: audit and compliance",
                     "Who called which model where, under which routing policy, and what was redacted.",
                     layout, variables)


def _count_or_zero(matchers: list[str]) -> str:
    """Calls in the time range matching `matchers`; 0 rather than no data when there are none."""
    return f"sum({q.window_increase(q.CALLS, matchers, RANGE)}) or vector(0)"


def _organize(renames: dict[str, str]) -> dict:
    """Keep and rename these columns of an instant table query, in this order."""
    return {"id": "organize", "options": {"includeByName": {name: True for name in renames},
                                          "indexByName": {name: index for index, name in enumerate(renames)},
                                          "renameByName": renames}}


def _series_as_rows(renames: dict[str, str]) -> list[dict]:
    """One table row per series of an instant Loki query: its labels as columns, renamed, then its value."""
    return [{"id": "labelsToFields", "options": {"mode": "columns"}}, {"id": "merge", "options": {}},
            {"id": "organize", "options": {"excludeByName": {"Time": True}, "renameByName": renames}}]


# Audit record field (Loki structured metadata) -> column title, in display order.
AUDIT_TRAIL_COLUMNS = {
    "Time": "Time",
    label(sc.GEN_AI_RESPONSE_ID): "Generation id",
    lq.USER: "User",
    lq.TEAM: "Team",
    lq.MODEL: "Requested model",
    lq.SERVED_MODEL: "Served model",
    lq.PROVIDER: "Provider",
    lq.COST: "Cost",
    label(sc.OPENROUTER_STATUS): "Status",
    label(sc.ERROR_TYPE): "Error",
    label(sc.OPENROUTER_PROMPT_HASH): "Prompt hash",
    lq.TRACE_ID: "Trace",
}


def _audit_trail_transformations() -> list[dict]:
    return [{"id": "extractFields", "options": {"source": "labels", "format": "auto", "replace": False,
                                                 "keepTime": False}},
            _organize(AUDIT_TRAIL_COLUMNS),
            {"id": "sortBy", "options": {"sort": [{"field": "Time", "desc": True}]}}]
