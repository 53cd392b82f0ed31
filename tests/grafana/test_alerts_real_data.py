"""Every alert rule, evaluated as Grafana would on real telemetry: it fires in the incident that is its reason
to exist, and stays quiet on healthy traffic that comes close to its threshold.

Evaluation: the rule's own Prometheus query, then Grafana's reduce and threshold (tests/grafana/grafana_alerting.py);
the thresholds are those of grafana/thresholds.yaml, nothing substituted.
"""

from __future__ import annotations

import pytest

from openrouter_otel import semconv as sc
from openrouter_otel.extract import api_key_fingerprint
from tests.grafana import grafana_files
from tests.grafana import scenarios as s
from tests.grafana.grafana_alerting import evaluate, firing, instance_for
from tests.grafana.grafana_files import MODEL, PII_TYPE, PROVIDER, TEAM
from tests.grafana.telemetry import Environment

RULES = {rule["uid"]: rule for rule in grafana_files.rules()}

KEY = grafana_files.label(sc.OPENROUTER_API_KEY_FINGERPRINT)
# The alert instance each incident must fire.
INCIDENT_INSTANCES = {
    "openrouter-error-rate": {MODEL: s.FAILING_MODEL},
    "openrouter-credits-exhausted": {TEAM: s.CREDITS_TEAM},
    "openrouter-rate-limited": {MODEL: s.THROTTLED_MODEL},
    "openrouter-latency-p95": {MODEL: s.SLOW_MODEL},
    "openrouter-team-hourly-budget": {TEAM: s.OVERSPENDING_TEAM},
    "openrouter-daily-budget": {},
    "openrouter-unapproved-provider": {PROVIDER: s.UNAPPROVED_PROVIDER, TEAM: s.UNAPPROVED_TEAM},
    "openrouter-pii-surge": {PII_TYPE: "EMAIL"},
    "openrouter-policy-team-model": {TEAM: s.ALLOW_LISTED_TEAM},
    "openrouter-policy-fallbacks": {TEAM: s.POLICY_TEAM},
    "openrouter-policy-zdr": {TEAM: s.POLICY_TEAM},
    "openrouter-policy-data-collection": {TEAM: s.POLICY_TEAM},
    "openrouter-policy-classification-provider": {TEAM: s.POLICY_TEAM},
    "openrouter-policy-free-model": {TEAM: s.FREE_MODEL_TEAM},
    "openrouter-policy-provider": {TEAM: s.UNAPPROVED_TEAM},
    "openrouter-policy-team-budget": {TEAM: s.OVERSPENDING_TEAM},
    "openrouter-policy-user-budget": {TEAM: s.BUDGETED_USER_TEAM},
    "openrouter-policy-total-budget": {TEAM: s.DAILY_SPEND_TEAM},
    "openrouter-key-credit-low": {KEY: api_key_fingerprint(s.INCIDENT_KEY)},
    "openrouter-key-credit-runs-out": {KEY: api_key_fingerprint(s.INCIDENT_KEY)},
    "openrouter-key-expiring": {KEY: api_key_fingerprint(s.INCIDENT_KEY)},
}


def instances(uid: str, environment: Environment):
    return evaluate(RULES[uid], environment.prometheus.query)


def test_every_rule_has_an_incident_scenario() -> None:
    assert set(INCIDENT_INSTANCES) | {"openrouter-no-telemetry"} == set(RULES)


@pytest.mark.parametrize("uid", INCIDENT_INSTANCES)
def test_rule_fires_in_its_incident(uid: str, incident: Environment) -> None:
    found = instance_for(instances(uid, incident), **INCIDENT_INSTANCES[uid])
    assert found.firing, f"{uid} did not fire: {found}"


@pytest.mark.parametrize("uid", RULES)
def test_rule_is_quiet_on_healthy_traffic(uid: str, healthy: Environment) -> None:
    assert not firing(instances(uid, healthy)), f"{uid} fired on healthy traffic"


def test_no_telemetry_fires_when_nothing_arrives_and_only_then(silent: Environment, healthy: Environment) -> None:
    (alone,) = instances("openrouter-no-telemetry", silent)
    assert alone.firing and alone.value == 0
    assert not firing(instances("openrouter-no-telemetry", healthy))


@pytest.mark.parametrize("uid", sorted(set(RULES) - {"openrouter-no-telemetry"}))
def test_rule_is_quiet_without_any_call(uid: str, silent: Environment) -> None:
    """No data is not an alert, except for the no-telemetry rule."""
    assert not firing(instances(uid, silent))


# ---- the values behind the decisions --------------------------------------------------------------


def test_error_and_429_shares_are_the_shares_of_calls_made(incident: Environment, healthy: Environment) -> None:
    pairs = [("openrouter-error-rate", incident, s.FAILING_MODEL, 503),
             ("openrouter-rate-limited", incident, s.THROTTLED_MODEL, 429),
             ("openrouter-error-rate", healthy, s.NEAR_MISS_ERRORS_MODEL, 503),
             ("openrouter-rate-limited", healthy, s.NEAR_MISS_429_MODEL, 429)]
    for uid, environment, model, status in pairs:
        found = instance_for(instances(uid, environment), **{MODEL: model})
        assert found.value == pytest.approx(s.failed_share(environment.calls, model, status)), (uid, model)


def test_cancelled_calls_are_not_an_error_rate(healthy: Environment) -> None:
    found = instance_for(instances("openrouter-error-rate", healthy), **{MODEL: s.CANCELLED_MODEL})
    assert found.value == 0 and not found.firing


def test_near_misses_come_just_under_the_thresholds(healthy: Environment, thresholds: dict) -> None:
    alerts = thresholds["alerts"]
    errors = instance_for(instances("openrouter-error-rate", healthy), **{MODEL: s.NEAR_MISS_ERRORS_MODEL})
    assert alerts["error_rate"]["max_ratio"] - 0.011 < errors.value < alerts["error_rate"]["max_ratio"]
    (daily,) = instances("openrouter-daily-budget", healthy)
    assert 0.8 * alerts["daily_budget"]["max_usd"] < daily.value < alerts["daily_budget"]["max_usd"]
    budget_shares = [found.value for found in instances("openrouter-team-hourly-budget", healthy)]
    assert max(budget_shares) == pytest.approx(0.9)


def test_spend_values_are_the_dollars_spent(incident: Environment, thresholds: dict) -> None:
    over = instance_for(instances("openrouter-team-hourly-budget", incident), **{TEAM: s.OVERSPENDING_TEAM})
    assert over.value == pytest.approx(1.5)
    (daily,) = instances("openrouter-daily-budget", incident)
    assert daily.value == pytest.approx(sum(call.cost for call in incident.calls if call.status == 200))


def test_latency_p95_of_slow_calls_is_above_the_threshold(incident: Environment, thresholds: dict) -> None:
    slow = instance_for(instances("openrouter-latency-p95", incident), **{MODEL: s.SLOW_MODEL})
    assert slow.value > thresholds["alerts"]["latency_p95"]["max_seconds"]
    fast = [found for found in instances("openrouter-latency-p95", incident) if found.labels != slow.labels]
    assert fast and not firing(fast)


def test_pii_surge_counts_every_redacted_address(incident: Environment, thresholds: dict) -> None:
    emails = instance_for(instances("openrouter-pii-surge", incident), **{PII_TYPE: "EMAIL"})
    assert emails.value >= thresholds["alerts"]["pii_surge"]["max_redactions"] + 10
