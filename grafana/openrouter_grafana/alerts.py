"""The Grafana-managed alert rules, built from thresholds.yaml.

Every rule is one Prometheus instant query (A), reduced to its last value per series (B) and compared
with one threshold (C). The query's windows count new series from zero (`promql.window_increase`), so a
rule fires on the first bad call, not only from the second one on.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from openrouter_otel import semconv as sc

from openrouter_grafana import promql as q
from openrouter_grafana.settings import Settings

PROMETHEUS_UID = "prometheus"
EXPRESSION_UID = "__expr__"
FOLDER = "OpenRouter"
GROUP = "openrouter-otel"
EVALUATION_INTERVAL = "1m"

_SECONDS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800, "y": 31536000}


@dataclass(frozen=True)
class Rule:
    uid: str
    title: str
    severity: str
    expr: str
    window: str
    evaluator: str  # "gt" or "lt"
    threshold: float
    summary: str
    description: str  # the README's runbook for the rule is the section titled like the rule
    pending: str = "0s"
    no_data_state: str = "OK"


def rules(settings: Settings) -> list[Rule]:
    """Every rule the settings call for: a budget the policy does not set has no rule."""
    built = [build(settings) for build in _BUILDERS]
    return [rule for rule in built if rule is not None] + policy_rules(settings)


def error_rate(settings: Settings) -> Rule:
    cfg = settings.alert("error_rate")
    window = cfg["window"]
    failed = [q.ne(q.ERROR_TYPE, ""),
              q.not_matches(q.ERROR_TYPE, q.any_of([q.CREDITS_EXHAUSTED, q.RATE_LIMITED, q.CANCELLED]))]
    return Rule(
        uid="openrouter-error-rate",
        title="LLM error rate high",
        severity="warning",
        expr=_share_of_calls(failed, window, cfg["min_requests"]),
        window=window,
        evaluator="gt",
        threshold=cfg["max_ratio"],
        pending=cfg.get("for", "0s"),
        summary=("{{ humanizePercentage $values.B.Value }} of calls to {{ $labels.gen_ai_request_model }} "
                 f"failed over the last {window}"),
        description=(f"More than {_percent(cfg['max_ratio'])} of the LLM calls for model "
                     "{{ $labels.gen_ai_request_model }} failed in the last " + window
                     + f" (at least {cfg['min_requests']} calls). 402 and 429 answers are left out (they have "
                     "their own alerts), and so are calls the caller cancelled. The application saw these as "
                     "exceptions from the openai SDK. The "
                     "Reliability dashboard shows which error.type dominates."),
    )


def credits_exhausted(settings: Settings) -> Rule:
    cfg = settings.alert("credits_exhausted")
    window = cfg["window"]
    return Rule(
        uid="openrouter-credits-exhausted",
        title="OpenRouter credits exhausted (402)",
        severity="critical",
        expr=q.total([q.TEAM], q.CALLS, [q.eq(q.ERROR_TYPE, q.CREDITS_EXHAUSTED)], window),
        window=window,
        evaluator="gt",
        threshold=0,
        pending=cfg.get("for", "0s"),
        summary=("OpenRouter refused {{ printf \"%.0f\" $values.B.Value }} calls with 402 Payment Required "
                 "(team {{ $labels.openrouter_team }}) in the last " + window),
        description=("OpenRouter answered 402: the account, or the API key's credit limit, has no credits left. "
                     "Every call made with that key fails until credits are added or the limit is raised."),
    )


def rate_limited(settings: Settings) -> Rule:
    cfg = settings.alert("rate_limited")
    window = cfg["window"]
    return Rule(
        uid="openrouter-rate-limited",
        title="LLM calls rate limited (429 surge)",
        severity="warning",
        expr=_share_of_calls([q.eq(q.ERROR_TYPE, q.RATE_LIMITED)], window, cfg["min_requests"]),
        window=window,
        evaluator="gt",
        threshold=cfg["max_ratio"],
        pending=cfg.get("for", "0s"),
        summary=("{{ humanizePercentage $values.B.Value }} of calls to {{ $labels.gen_ai_request_model }} "
                 f"were rate limited (429) over the last {window}"),
        description=(f"More than {_percent(cfg['max_ratio'])} of the calls for model "
                     "{{ $labels.gen_ai_request_model }} got 429 Too Many Requests in the last " + window
                     + f" (at least {cfg['min_requests']} calls): OpenRouter or the upstream provider is "
                     "throttling. Callers see openai.RateLimitError after the SDK's own retries."),
    )


def latency_p95(settings: Settings) -> Rule:
    cfg = settings.alert("latency_p95")
    window = cfg["window"]
    p95 = q.quantile(0.95, [q.MODEL], q.LATENCY_BUCKETS, [], window, counted=True)
    return Rule(
        uid="openrouter-latency-p95",
        title="LLM latency p95 high",
        severity="warning",
        expr=f"{p95}\nand on ({q.MODEL})\n{_enough_calls(window, cfg['min_requests'])}",
        window=window,
        evaluator="gt",
        threshold=cfg["max_seconds"],
        pending=cfg.get("for", "0s"),
        summary=("p95 latency of {{ $labels.gen_ai_request_model }} is {{ humanizeDuration $values.B.Value }} "
                 f"(threshold {cfg['max_seconds']}s)"),
        description=(f"95% of the calls for model {{{{ $labels.gen_ai_request_model }}}} over the last {window} "
                     f"took up to {{{{ humanizeDuration $values.B.Value }}}}, more than {cfg['max_seconds']}s "
                     "(streams count until their last chunk). Users wait; requests may hit client timeouts."),
    )


def team_hourly_budget(settings: Settings) -> Rule | None:
    cfg = settings.alert("team_hourly_budget")
    if settings.default_team_budget is None and not settings.team_budgets():
        return None
    default = (f"{_usd(settings.default_team_budget)} an hour unless the policy sets the team's own"
               if settings.default_team_budget is not None else "the hour budget the policy sets for the team")
    return Rule(
        uid="openrouter-team-hourly-budget",
        title="Team LLM spend above its hourly budget",
        severity="warning",
        expr=_share_of_team_budget(settings),
        window="1h",
        evaluator="gt",
        threshold=1,
        pending=cfg.get("for", "0s"),
        summary=("Team {{ $labels.openrouter_team }} spent {{ humanizePercentage $values.B.Value }} "
                 "of its hourly LLM budget in the last hour"),
        description=("LLM spend of team {{ $labels.openrouter_team }} (an empty team means calls made "
                     f"without audit_context(team=...)) over the last hour is above its budget: {default} "
                     f"({settings.policy_name}, default_team and teams)."),
    )


def daily_budget(settings: Settings) -> Rule | None:
    cfg, max_usd = settings.alert("daily_budget"), settings.daily_budget
    if max_usd is None:
        return None
    return Rule(
        uid="openrouter-daily-budget",
        title="LLM spend above the daily budget",
        severity="critical",
        expr=q.total([], q.COST_USD, [], "24h"),
        window="24h",
        evaluator="gt",
        threshold=max_usd,
        pending=cfg.get("for", "0s"),
        summary="LLM spend over the last 24 hours is ${{ printf \"%.2f\" $values.B.Value }} "
                f"(daily budget {_usd(max_usd)})",
        description=(f"All teams together spent more than {_usd(max_usd)} on LLM calls in the last 24 "
                     "hours (a rolling day, in USD as OpenRouter bills it, BYOK calls at OpenRouter's fee; "
                     f"the budget is the policy's budget.day in {settings.policy_name})."),
    )


def unapproved_provider(settings: Settings) -> Rule:
    cfg = settings.alert("unapproved_provider")
    window = cfg["window"]
    served_elsewhere = [q.ne(q.PROVIDER, ""), q.not_matches(q.PROVIDER, q.any_of(settings.approved_providers))]
    return Rule(
        uid="openrouter-unapproved-provider",
        title="LLM call served by an unapproved provider",
        severity="critical",
        expr=q.total([q.PROVIDER, q.SERVED_MODEL, q.TEAM], q.CALLS, served_elsewhere, window),
        window=window,
        evaluator="gt",
        threshold=0,
        pending=cfg.get("for", "0s"),
        summary=("{{ printf \"%.0f\" $values.B.Value }} calls were served by {{ $labels.openrouter_provider }}, "
                 "which is not an approved provider (model {{ $labels.gen_ai_response_model }}, "
                 "team {{ $labels.openrouter_team }})"),
        description=("OpenRouter routed calls to an upstream provider outside the approved list ("
                     + ", ".join(settings.approved_providers) + f") in the last {window}. The prompts of those "
                     "calls went to that provider. The audit dashboard lists each call with its trace."),
    )


def pii_surge(settings: Settings) -> Rule:
    cfg = settings.alert("pii_surge")
    window = cfg["window"]
    return Rule(
        uid="openrouter-pii-surge",
        title="PII redaction surge",
        severity="warning",
        expr=q.total([q.PII_TYPE], q.REDACTIONS, [], window),
        window=window,
        evaluator="gt",
        threshold=cfg["max_redactions"],
        pending=cfg.get("for", "0s"),
        summary=("{{ printf \"%.0f\" $values.B.Value }} values of type {{ $labels.pii_type }} were redacted "
                 f"from telemetry in the last {window}"),
        description=(f"More than {cfg['max_redactions']} {{{{ $labels.pii_type }}}} values were found and "
                     f"redacted in exported telemetry in the last {window}. Redaction kept them out of the "
                     "telemetry, but something upstream started handling much more personal data or secrets, "
                     "and those prompts did reach the model."),
    )


def no_telemetry(settings: Settings) -> Rule:
    cfg = settings.alert("no_telemetry")
    window = cfg["window"]
    return Rule(
        uid="openrouter-no-telemetry",
        title="No LLM telemetry",
        severity="critical",
        expr=f"sum(count_over_time({q.selector(q.CALLS)}[{window}])) or vector(0)",
        window=window,
        evaluator="lt",
        threshold=1,
        pending=cfg.get("for", "0s"),
        no_data_state="Alerting",
        summary=f"No LLM call metrics have reached Prometheus for {window}",
        description=(f"Prometheus received no {q.CALLS} sample in the last {window}. Instrumented processes "
                     "export their cumulative metrics every minute even when idle, so either no instrumented "
                     "process is running, or the path app -> collector -> Prometheus is broken. Dashboards and "
                     "every other alert are blind meanwhile."),
    )


def key_credit_low(settings: Settings) -> Rule:
    cfg = settings.alert("key_credit_low")
    return Rule(
        uid="openrouter-key-credit-low",
        title="OpenRouter key credit low",
        severity="warning",
        expr=f"min by ({q.KEY}) ({q.selector(sc.PROM_KEY_LIMIT_REMAINING)})",
        window="5m",
        evaluator="lt",
        threshold=cfg["min_usd"],
        pending=cfg.get("for", "0s"),
        summary=("OpenRouter key {{ $labels.openrouter_api_key_fingerprint }} has "
                 "${{ printf \"%.2f\" $values.B.Value }} of credit left" + f" (threshold {_usd(cfg['min_usd'])})"),
        description=(f"The remaining credit of the key (its limit minus its usage, from OpenRouter's GET /key, polled "
                     f"by the instrumented SDK) is below {_usd(cfg['min_usd'])}. When it reaches zero every call "
                     "made with the key fails with 402. The key is named by its fingerprint only."),
    )


def key_credit_runs_out(settings: Settings) -> Rule:
    cfg = settings.alert("key_credit_runs_out")
    window, within = cfg["window"], cfg["within"]
    return Rule(
        uid="openrouter-key-credit-runs-out",
        title="OpenRouter key credit runs out soon",
        severity="critical",
        expr=(f"min by ({q.KEY}) (predict_linear({q.selector(sc.PROM_KEY_LIMIT_REMAINING)}[{window}], "
              f"{duration_seconds(within)}))"),
        window=window,
        evaluator="lt",
        threshold=0,
        pending=cfg.get("for", "0s"),
        summary=("At the burn rate of the last " + window + ", OpenRouter key {{ $labels.openrouter_api_key_fingerprint }} "
                 "runs out of credit within " + within),
        description=(f"The remaining credit of the key, extrapolated along its trend over the last {window} (the "
                     f"current burn rate), is below zero {within} from now: calls with the key will fail with 402 "
                     "before then unless credit is added, the limit raised or the spend slowed."),
    )


def key_expiring(settings: Settings) -> Rule:
    cfg = settings.alert("key_expiring")
    within = cfg["within"]
    return Rule(
        uid="openrouter-key-expiring",
        title="OpenRouter key expiring soon",
        severity="warning",
        expr=f"min by ({q.KEY}) ({q.selector(sc.PROM_KEY_EXPIRES_IN)})",
        window="5m",
        evaluator="lt",
        threshold=duration_seconds(within),
        pending=cfg.get("for", "0s"),
        summary=("OpenRouter key {{ $labels.openrouter_api_key_fingerprint }} expires in "
                 "{{ humanizeDuration $values.B.Value }}"),
        description=(f"The key expires within {within} (its expires_at on OpenRouter's GET /key). After that every "
                     "call made with it is refused: rotate it in the applications' secrets before then."),
    )


# Policy rule -> (alert title, severity, what breaking it means).
POLICY_RULE_MEANINGS = {
    sc.RULE_TEAM_MODEL: ("Policy: model not allowed for the team", "warning", "a team called a model that is not on its allow-list (teams.<team>.models)"),
    sc.RULE_FALLBACKS: ("Policy: regulated call allowed fallbacks", "critical", "a call of a classification that forbids fallbacks did not pin its provider "
                                    "(provider.allow_fallbacks: false, no `models` list): OpenRouter could route it "
                                    "anywhere"),
    sc.RULE_ZDR: ("Policy: regulated call without zero data retention", "critical", "a call of a classification that requires zero data retention did not ask for it "
                              "(provider.zdr: true)"),
    sc.RULE_DATA_COLLECTION: ("Policy: regulated call without data collection deny", "critical", "a call of a classification that requires it did not set "
                                          "provider.data_collection: deny"),
    sc.RULE_FREE_MODEL: ("Policy: free model for regulated data", "critical", "a `:free` model (whose providers may train on prompts) was asked for or served "
                                     "for a classification that forbids them"),
    sc.RULE_PROVIDER: ("Policy: call served by a provider outside the policy", "critical", "a call was served by an upstream provider outside the policy's "
                                   "approved_providers"),
    sc.RULE_CLASSIFICATION_PROVIDER: ("Policy: provider not approved for the classification", "critical", "a call was served by a provider outside its classification's "
                                                  "approved_providers"),
    sc.RULE_TEAM_BUDGET: ("Policy: team over its budget", "warning", "a team's spend this calendar hour, day or month (UTC) went over its budget"),
    sc.RULE_USER_BUDGET: ("Policy: user over their budget", "warning", "a user's spend this calendar hour, day or month (UTC) went over their budget"),
    sc.RULE_TOTAL_BUDGET: ("Policy: total spend over its budget", "critical", "everyone's spend together this calendar hour, day or month (UTC) went over "
                                       "the policy's budget"),
}


def policy_rules(settings: Settings) -> list[Rule]:
    """One rule per policy rule: any call counted as breaking it in the window (the SDK checked it)."""
    cfg = settings.alert("policy_violations")
    window = cfg["window"]
    return [Rule(
        uid=f"openrouter-policy-{rule.replace('_', '-')}",
        title=title,
        severity=severity,
        expr=q.total([q.TEAM], q.VIOLATIONS, [q.eq(q.POLICY_RULE, rule)], window),
        window=window,
        evaluator="gt",
        threshold=0,
        pending=cfg.get("for", "0s"),
        summary=("{{ printf \"%.0f\" $values.B.Value }} calls of team {{ $labels.openrouter_team }} broke policy "
                 f"rule {rule} in the last {window}"),
        description=(f"Policy rule {rule}: {meaning}. The instrumented SDK checks every call against the policy "
                     f"file ({settings.policy_name}) when the call ends; the audit records of these calls carry "
                     "openrouter.policy.violations, and `openrouter-otel audit report` counts them by rule."),
    ) for rule, (title, severity, meaning) in POLICY_RULE_MEANINGS.items()]


_BUILDERS: tuple[Callable[[Settings], Rule | None], ...] = (
    error_rate, credits_exhausted, rate_limited, latency_p95, team_hourly_budget, daily_budget,
    unapproved_provider, pii_surge, no_telemetry, key_credit_low, key_credit_runs_out, key_expiring,
)


def _share_of_calls(matchers: list[str], window: str, min_requests: int) -> str:
    """Per requested model: the share of calls matching `matchers` (0 when none), for models with enough calls."""
    matching = q.total([q.MODEL], q.CALLS, matchers, window)
    calls = q.total([q.MODEL], q.CALLS, [], window)
    return (f"(\n  {matching}\n  or\n  {calls} * 0\n)\n/\n{calls}\n"
            f"and on ({q.MODEL})\n{_enough_calls(window, min_requests)}")


def _enough_calls(window: str, min_requests: int) -> str:
    return f"{q.total([q.MODEL], q.CALLS, [], window)} >= {min_requests}"


def _share_of_team_budget(settings: Settings) -> str:
    """Per team: spend over the last hour divided by that team's hourly budget."""
    budgets = settings.team_budgets()
    default = settings.default_team_budget
    parts = [f"{q.total([q.TEAM], q.COST_USD, [q.eq(q.TEAM, team)], '1h')} / {usd:g}" for team, usd in budgets.items()]
    others = [q.not_matches(q.TEAM, q.any_of(budgets))] if budgets else []
    if default is not None:
        parts.append(f"{q.total([q.TEAM], q.COST_USD, others, '1h')} / {default:g}")
    return "\nor\n".join(parts)


# ---- provisioning file ----------------------------------------------------------------------------


def provisioning(settings: Settings) -> dict:
    """The alerting provisioning file: one rule group in the OpenRouter folder."""
    return {
        "apiVersion": 1,
        "groups": [{
            "orgId": 1,
            "name": GROUP,
            "folder": FOLDER,
            "interval": EVALUATION_INTERVAL,
            "rules": [_provisioned(rule, settings.runbook_base_url) for rule in rules(settings)],
        }],
    }


def _provisioned(rule: Rule, runbook_base_url: str) -> dict:
    annotations = {"summary": rule.summary,
                   "description": f"{rule.description}\n\nRunbook: grafana/README.md, section \"{rule.title}\"."}
    if runbook_base_url:
        annotations["runbook_url"] = f"{runbook_base_url}#{anchor(rule.title)}"
    return {
        "uid": rule.uid,
        "title": rule.title,
        "condition": "C",
        "data": [_query(rule), _reduce(), _threshold(rule)],
        "noDataState": rule.no_data_state,
        "execErrState": "Error",
        "for": rule.pending,
        "annotations": annotations,
        "labels": {"severity": rule.severity, "source": "openrouter-otel"},
        "isPaused": False,
    }


def _query(rule: Rule) -> dict:
    return {
        "refId": "A",
        "relativeTimeRange": {"from": duration_seconds(rule.window), "to": 0},
        "datasourceUid": PROMETHEUS_UID,
        "model": {"refId": "A", "datasource": {"type": "prometheus", "uid": PROMETHEUS_UID}, "expr": rule.expr,
                  "instant": True, "range": False, "intervalMs": 60000, "maxDataPoints": 43200},
    }


def _reduce() -> dict:
    return {
        "refId": "B",
        "datasourceUid": EXPRESSION_UID,
        "model": {"refId": "B", "datasource": {"type": "__expr__", "uid": EXPRESSION_UID}, "type": "reduce",
                  "expression": "A", "reducer": "last", "settings": {"mode": "dropNN"}},
    }


def _threshold(rule: Rule) -> dict:
    return {
        "refId": "C",
        "datasourceUid": EXPRESSION_UID,
        "model": {"refId": "C", "datasource": {"type": "__expr__", "uid": EXPRESSION_UID}, "type": "threshold",
                  "expression": "B",
                  "conditions": [{"evaluator": {"type": rule.evaluator, "params": [rule.threshold]}}]},
    }


def duration_seconds(duration: str) -> int:
    parts = re.findall(r"([0-9]+)(ms|s|m|h|d|w|y)", duration)
    return int(sum(float(amount) * _SECONDS[unit] for amount, unit in parts))


def anchor(heading: str) -> str:
    """The GitHub anchor of a README heading."""
    return re.sub(r"[^a-z0-9 -]", "", heading.lower()).replace(" ", "-")


def _percent(ratio: float) -> str:
    return f"{ratio * 100:g}%"


def _usd(amount: float) -> str:
    return f"${amount:,.2f}"
