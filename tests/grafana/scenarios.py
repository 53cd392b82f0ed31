"""The traffic of the real-data tests, sized from grafana/thresholds.yaml and its policy file so the tests follow
any edit there.

- `healthy_calls`: ordinary traffic plus near misses (errors, 429s and spend just under their limits):
  no rule may fire.
- `incident_calls`: the same ordinary traffic plus one incident per rule, each on its own model or team
  so that each rule's firing instance can be told apart. Both run under the policy file (policy.example.yaml):
  healthy traffic keeps every policy rule, a confidential call and a budgeted user just inside theirs.
- the silent environment makes no call at all.
"""

from __future__ import annotations

import math
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from typing import Any

from tests.grafana.telemetry import Call

UNAPPROVED_PROVIDER = "Unvetted Cloud"

# Incident models and teams: the labels each rule's firing instance must carry.
FAILING_MODEL = "incident/failing-model"
THROTTLED_MODEL = "incident/throttled-model"
SLOW_MODEL = "incident/slow-model"
CREDITS_TEAM = "incident-credits"
OVERSPENDING_TEAM = "incident-overspend"
DAILY_SPEND_TEAM = "incident-daily-spend"
UNAPPROVED_TEAM = "incident-unapproved"
PII_TEAM = "incident-pii"

# Policy incidents (policy.example.yaml): a team with a model allow-list, a classification with every
# routing rule, a user with a daily budget.
ALLOW_LISTED_TEAM = "support"
MODEL_OUTSIDE_ALLOW_LIST = "openai/o3"
POLICY_TEAM = "incident-policy"
FREE_MODEL_TEAM = "incident-free-model"
CONFIDENTIAL = "confidential"
CONFIDENTIAL_PROVIDER = "Amazon Bedrock"
# What a confidential call must ask for to keep every rule of its classification.
CONFIDENTIAL_ROUTING = {"provider": {"order": [CONFIDENTIAL_PROVIDER], "allow_fallbacks": False, "zdr": True,
                                     "data_collection": "deny"}}
BUDGETED_USER = "contractor-1"

# Key credit: each environment makes one free call with its own key, whose credit is then polled as it drains
# (tests/grafana/telemetry.py, Environment.drain_key). Healthy: credit just above the low-credit threshold,
# draining so slowly it lasts well beyond the alert's horizon, expiring just after its horizon. Incident: credit
# below the threshold, draining fast, expiring in 12 hours.
HEALTHY_KEY = "sk-or-v1-healthy-" + "1" * 47
INCIDENT_KEY = "sk-or-v1-incident-" + "2" * 46
KEY_LIMIT_USD = 100.0


def key_profiles(thresholds: dict) -> dict[str, Any]:
    """Key -> (its KeyProfile, the remaining credit it steps through while polled)."""
    from openrouter_otel.server.replay import KeyProfile

    alerts, now = thresholds["alerts"], datetime.now(timezone.utc)
    min_usd = alerts["key_credit_low"]["min_usd"]
    horizon = timedelta(seconds=_seconds(alerts["key_expiring"]["within"]))
    return {
        HEALTHY_KEY: (KeyProfile(limit=KEY_LIMIT_USD, expires_at=now + horizon + timedelta(hours=2)),
                      [min_usd + 0.5 - step * 1e-6 for step in range(4)]),
        INCIDENT_KEY: (KeyProfile(limit=KEY_LIMIT_USD, expires_at=now + timedelta(hours=12)),
                       [min_usd - 1 - step * 0.25 for step in range(4)]),
    }


def _seconds(duration: str) -> float:
    from openrouter_grafana.alerts import duration_seconds

    return duration_seconds(duration)
BUDGETED_USER_TEAM = "incident-user-budget"

NEAR_MISS_ERRORS_MODEL = "healthy/near-miss-errors"
NEAR_MISS_429_MODEL = "healthy/near-miss-429"
NEAR_MISS_SAMPLE = 100
CANCELLED_MODEL = "healthy/mostly-cancelled"


def ordinary_calls(approved: list[str]) -> list[Call]:
    """Everything the dashboards show: streams, BYOK, cache reads, reasoning, routing policies, users, teams."""
    first, second = approved[0], approved[1 % len(approved)]
    fallback = {"models": ["anthropic/claude-sonnet-4.5", "openai/gpt-4o"],
                "provider": {"order": [first, second], "allow_fallbacks": True, "data_collection": "deny", "zdr": True}}
    pinned = {"provider": {"only": [first], "ignore": [second], "allow_fallbacks": False}}
    calls = []
    for index in range(12):
        team = ("search", "support", "research")[index % 3]
        calls.append(Call("anthropic/claude-sonnet-4.5", team, provider=first, user=f"user-{index % 4}",
                          cost=0.002 + index * 0.0005))
    # Twice each, so that every series also grows after its first scrape (see Environment.record).
    calls += 2 * [
        Call("openai/gpt-4o", "support", provider=second, stream=True, user="user-2"),
        Call("anthropic/claude-sonnet-4.5", "research", provider=first, byok=True, cost=0.0004),
        Call("anthropic/claude-sonnet-4.5", "research", provider=first, cached_tokens=96),
        Call("openai/o3", "research", provider=second, reasoning_tokens=30, cost=0.01),
        Call("openai/gpt-4o", "search", provider=first, served_model="anthropic/claude-sonnet-4.5", routing=fallback),
        Call("anthropic/claude-sonnet-4.5", "support", provider=first, routing=pinned),
    ]
    return calls


def healthy_calls(thresholds: dict) -> list[Call]:
    approved = thresholds["approved_providers"]
    alerts = thresholds["alerts"]
    return [*ordinary_calls(approved),
            *_failing(NEAR_MISS_ERRORS_MODEL, 503, _just_under(alerts["error_rate"]["max_ratio"]), NEAR_MISS_SAMPLE,
                      approved[0]),
            *_failing(NEAR_MISS_429_MODEL, 429, _just_under(alerts["rate_limited"]["max_ratio"]), NEAR_MISS_SAMPLE,
                      approved[0]),
            *_spend_just_under_budgets(thresholds),
            Call("anthropic/claude-sonnet-4.5", "support", provider=approved[0],
                 prompt="Customer jane.doe@example.com asks for a refund."),
            *_policy_near_misses(thresholds)]


def incident_calls(thresholds: dict) -> list[Call]:
    approved = thresholds["approved_providers"]
    alerts = thresholds["alerts"]
    assert UNAPPROVED_PROVIDER not in approved
    slow = alerts["latency_p95"]
    return [*ordinary_calls(approved),
            *_failing_well_over(FAILING_MODEL, 503, alerts["error_rate"], approved[0]),
            *_failing_well_over(THROTTLED_MODEL, 429, alerts["rate_limited"], approved[0]),
            *[Call(SLOW_MODEL, "search", provider=approved[0], delay_s=slow["max_seconds"] + 0.5)
              for _ in range(slow["min_requests"])],
            Call("anthropic/claude-opus-4.1", CREDITS_TEAM, provider=approved[0], status=402),
            Call("anthropic/claude-opus-4.1", CREDITS_TEAM, provider=approved[0], status=402),
            Call("anthropic/claude-sonnet-4.5", OVERSPENDING_TEAM, provider=approved[0],
                 cost=1.5 * team_budget(thresholds, OVERSPENDING_TEAM)),
            Call("anthropic/claude-sonnet-4.5", DAILY_SPEND_TEAM, provider=approved[0],
                 cost=1.2 * alerts["daily_budget"]["max_usd"]),
            Call("meta-llama/llama-3.3-70b-instruct", UNAPPROVED_TEAM, provider=UNAPPROVED_PROVIDER),
            Call("anthropic/claude-sonnet-4.5", PII_TEAM, provider=approved[0],
                 prompt=pii_flood(alerts["pii_surge"]["max_redactions"] + 10)),
            *_policy_incidents(thresholds)]


def _policy_incidents(thresholds: dict) -> list[Call]:
    """A call breaking each policy rule no other incident breaks (provider: the unapproved provider's call;
    team_budget: the overspending team; total_budget: the daily spend)."""
    approved = thresholds["approved_providers"]
    return [
        Call(MODEL_OUTSIDE_ALLOW_LIST, ALLOW_LISTED_TEAM, provider=approved[1]),  # team_model
        # fallbacks, zdr, data_collection, classification_provider (OpenAI is approved, not for confidential data)
        Call("anthropic/claude-sonnet-4.5", POLICY_TEAM, provider="OpenAI", classification=CONFIDENTIAL),
        Call("meta-llama/llama-3.3-70b-instruct:free", FREE_MODEL_TEAM, provider=CONFIDENTIAL_PROVIDER,
             classification=CONFIDENTIAL, routing=CONFIDENTIAL_ROUTING),  # free_model
        Call("anthropic/claude-sonnet-4.5", BUDGETED_USER_TEAM, provider=approved[0], user=BUDGETED_USER,
             cost=1.2 * user_budget(BUDGETED_USER)),  # user_budget
    ]


def _policy_near_misses(thresholds: dict) -> list[Call]:
    """Just inside: a confidential call asking for everything its classification requires, an allow-listed
    team's allowed model, the budgeted user at 90% of their budget."""
    return [
        Call("anthropic/claude-sonnet-4.5", "search", provider=CONFIDENTIAL_PROVIDER, classification=CONFIDENTIAL,
             routing=CONFIDENTIAL_ROUTING),
        Call("openai/gpt-4o-mini", ALLOW_LISTED_TEAM, provider=thresholds["approved_providers"][1]),
        Call("anthropic/claude-sonnet-4.5", "search", provider=thresholds["approved_providers"][0],
             user=BUDGETED_USER, cost=0.9 * user_budget(BUDGETED_USER)),
    ]


def user_budget(user: str) -> float:
    from tests.grafana import grafana_files

    policy = grafana_files.load_yaml(grafana_files.policy_file())
    return float(policy["users"][user]["budget"]["day"])


def cancelled_calls(thresholds: dict) -> list[Call]:
    """Enough calls to count, nearly all of them cancelled by their caller: not an error rate to alert on."""
    limits = thresholds["alerts"]["error_rate"]
    total = max(limits["min_requests"], 20)
    ok = Call(CANCELLED_MODEL, "search", provider=thresholds["approved_providers"][0], cost=0.0001)
    return [replace(ok, error_type="cancelled")] * (total - 1) + [ok]


def team_budget(thresholds: dict, team: str) -> float:
    budget = thresholds["alerts"]["team_hourly_budget"]
    return float((budget.get("teams") or {}).get(team, budget["default_usd"]))


def pii_flood(count: int) -> str:
    """A prompt with `count` different e-mail addresses."""
    return "Forward the invoice to: " + ", ".join(f"customer{index}@example.com" for index in range(count))


def failed_share(calls: list[Call], model: str, status: int) -> float:
    of_model = [call for call in calls if call.model == model]
    return sum(call.status == status for call in of_model) / len(of_model)


def _failing(model: str, status: int, failed: int, total: int, provider: str) -> list[Call]:
    """`total` cheap calls for `model`, `failed` of them answered `status`."""
    ok = Call(model, "search", provider=provider, cost=0.0001)
    return [replace(ok, status=status)] * failed + [ok] * (total - failed)


def _just_under(ratio: float) -> int:
    """The most failures out of NEAR_MISS_SAMPLE calls that stay below `ratio`."""
    return math.ceil(ratio * NEAR_MISS_SAMPLE) - 1


def _failing_well_over(model: str, status: int, limits: dict, provider: str) -> list[Call]:
    """Enough calls to count, failing half way between the allowed share and all of them."""
    total = max(limits["min_requests"], 20)
    return _failing(model, status, math.ceil(total * (1 + limits["max_ratio"]) / 2), total, provider)


def _spend_just_under_budgets(thresholds: dict) -> list[Call]:
    """85% of the daily budget, spread over teams that each stay at 90% of their hourly budget."""
    daily = thresholds["alerts"]["daily_budget"]["max_usd"]
    remaining, calls, index = 0.85 * daily, [], 0
    while remaining > 1e-9:
        team = f"budget-team-{index}"
        cost = min(0.9 * team_budget(thresholds, team), remaining)
        calls.append(Call("anthropic/claude-sonnet-4.5", team, provider=thresholds["approved_providers"][0], cost=cost))
        remaining -= cost
        index += 1
    return calls

