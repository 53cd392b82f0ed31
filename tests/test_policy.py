"""The policy file: each rule broken, and kept just inside, through the real SDK against the embedded server."""

from __future__ import annotations

import json
import logging
import sqlite3
import textwrap
import time
from pathlib import Path
from typing import Any

import openai
import pytest

from openrouter_otel import audit_context
from openrouter_otel import semconv as sc
from openrouter_otel.cli import main
from openrouter_otel.policy import PolicyError, load_policy
from openrouter_otel.server.replay import CannedResponse, chat_completion_body

MESSAGES = [{"role": "user", "content": "Classify this ticket."}]

POLICY = """\
version: 1
approved_providers: [Anthropic, OpenAI, Amazon Bedrock]
classifications:
  confidential:
    approved_providers: [Anthropic, Amazon Bedrock]
    allow_fallbacks: false
    require_zdr: true
    require_data_collection_deny: true
    allow_free_models: false
teams:
  research:
    models: ["anthropic/*", "openai/gpt-4o-mini"]
    budget: {hour: 0.05}
default_team:
  budget: {day: 0.3}
users:
  alice:
    budget: {day: 0.03}
budget: {month: 0.5}
"""

# What a confidential request must say to keep every classification rule.
CONFIDENTIAL_ROUTING = {"provider": {"order": ["Anthropic"], "allow_fallbacks": False, "zdr": True,
                                     "data_collection": "deny"}}


def write_policy(tmp_path: Path, text: str = POLICY) -> str:
    path = tmp_path / "policy.yaml"
    path.write_text(textwrap.dedent(text))
    return str(path)


@pytest.fixture
def policed(instrument, tmp_path):
    def _policed(text: str = POLICY, **settings: Any):
        return instrument(policy=write_policy(tmp_path, text), **settings)
    return _policed


_served = 0


def call(client: openai.OpenAI, replay_server: Any, *, model: str = "anthropic/claude-sonnet-4.6",
         served_by: str = "Anthropic", cost: float = 0.001, served_model: str | None = None, **body: Any) -> Any:
    """One chat call served by `served_by` at `cost` USD; `body`: more of the request body (`provider` routing)."""
    global _served
    _served += 1
    usage = {"prompt_tokens": 12, "completion_tokens": 10, "total_tokens": 22, "cost": cost}
    headers = replay_server.register(f"policy-{_served}", CannedResponse(
        body=chat_completion_body(model=served_model or model, provider=served_by, usage=usage)))
    return client.chat.completions.create(model=model, messages=MESSAGES, extra_headers=headers,
                                          extra_body=body or None)


def violations(pipelines: Any) -> list[tuple[str, ...]]:
    return [tuple(span.attributes.get(sc.OPENROUTER_POLICY_VIOLATIONS, ())) for span in pipelines.spans()]


def counted(pipelines: Any) -> dict[tuple[str, str | None], int]:
    return {(point.attributes[sc.POLICY_RULE], point.attributes.get(sc.OPENROUTER_TEAM)): point.value
            for point in pipelines.points(sc.METRIC_POLICY_VIOLATIONS)}


# --- each rule: broken, and kept just inside ----------------------------------------------------------------

def test_provider_rule_unapproved_provider_breaks_approved_keeps(policed, client, replay_server):
    pipelines = policed()
    call(client, replay_server, served_by="DeepInfra")
    call(client, replay_server, served_by="OpenAI")
    assert violations(pipelines) == [(sc.RULE_PROVIDER,), ()]
    assert counted(pipelines) == {(sc.RULE_PROVIDER, None): 1}


def test_classification_provider_rule(policed, client, replay_server):
    pipelines = policed()
    with audit_context(classification="confidential"):
        call(client, replay_server, served_by="OpenAI", **CONFIDENTIAL_ROUTING)  # approved globally, not here
        call(client, replay_server, served_by="Amazon Bedrock", **CONFIDENTIAL_ROUTING)
    assert violations(pipelines) == [(sc.RULE_CLASSIFICATION_PROVIDER,), ()]


def test_fallbacks_rule_needs_allow_fallbacks_false_and_no_model_list(policed, client, replay_server):
    pipelines = policed()
    routing = CONFIDENTIAL_ROUTING["provider"]
    with audit_context(classification="confidential"):
        call(client, replay_server, provider={**routing, "allow_fallbacks": True})
        call(client, replay_server, provider={key: v for key, v in routing.items() if key != "allow_fallbacks"})
        call(client, replay_server, models=["anthropic/claude-sonnet-4.6", "anthropic/claude-sonnet-4.5"],
             **CONFIDENTIAL_ROUTING)
        call(client, replay_server, models=["anthropic/claude-sonnet-4.6"], **CONFIDENTIAL_ROUTING)
    assert violations(pipelines) == [(sc.RULE_FALLBACKS,)] * 3 + [()]


def test_zdr_rule(policed, client, replay_server):
    pipelines = policed()
    routing = CONFIDENTIAL_ROUTING["provider"]
    with audit_context(classification="confidential"):
        call(client, replay_server, provider={**routing, "zdr": False})
        call(client, replay_server, **CONFIDENTIAL_ROUTING)
    assert violations(pipelines) == [(sc.RULE_ZDR,), ()]


def test_data_collection_rule(policed, client, replay_server):
    pipelines = policed()
    routing = CONFIDENTIAL_ROUTING["provider"]
    with audit_context(classification="confidential"):
        call(client, replay_server, provider={**routing, "data_collection": "allow"})
        call(client, replay_server, **CONFIDENTIAL_ROUTING)
    assert violations(pipelines) == [(sc.RULE_DATA_COLLECTION,), ()]


def test_free_model_rule_for_confidential_data_only(policed, client, replay_server):
    pipelines = policed()
    free = "meta-llama/llama-3.3-70b-instruct:free"
    with audit_context(classification="confidential"):
        call(client, replay_server, model=free, served_by="Amazon Bedrock", **CONFIDENTIAL_ROUTING)
        call(client, replay_server, model="openrouter/auto", served_model=free, served_by="Amazon Bedrock",
             **CONFIDENTIAL_ROUTING)  # the router picked a free model
        call(client, replay_server, model="meta-llama/llama-3.3-70b-instruct", served_by="Amazon Bedrock",
             **CONFIDENTIAL_ROUTING)
    with audit_context(classification="public"):
        call(client, replay_server, model=free, served_by="Amazon Bedrock")
    assert violations(pipelines) == [(sc.RULE_FREE_MODEL,), (sc.RULE_FREE_MODEL,), (), ()]


def test_team_model_rule(policed, client, replay_server):
    pipelines = policed()
    with audit_context(team="research"):
        call(client, replay_server, model="openai/gpt-4o", served_by="OpenAI")
        call(client, replay_server, model="openai/gpt-4o-mini", served_by="OpenAI",
             models=["openai/gpt-4o-mini", "google/gemini-2.5-flash"])  # a fallback outside the list
        call(client, replay_server, model="openai/gpt-4o-mini", served_by="OpenAI")
        call(client, replay_server, model="anthropic/claude-opus-4.1")
    with audit_context(team="support"):  # no allow-list for this team
        call(client, replay_server, model="openai/gpt-4o", served_by="OpenAI")
    assert violations(pipelines) == [(sc.RULE_TEAM_MODEL,)] * 2 + [()] * 3
    assert counted(pipelines) == {(sc.RULE_TEAM_MODEL, "research"): 2}


def test_team_budget_rule_per_hour_and_the_default_team_budget(policed, client, replay_server):
    pipelines = policed()
    with audit_context(team="research"):  # hour: 0.05
        call(client, replay_server, cost=0.03)
        call(client, replay_server, cost=0.02)  # exactly at the budget: inside
        call(client, replay_server, cost=0.000001)
    with audit_context(team="support"):  # the default team budget, day: 0.3
        call(client, replay_server, cost=0.2)
        call(client, replay_server, cost=0.1)
        call(client, replay_server, cost=0.01)
    assert violations(pipelines) == [(), (), (sc.RULE_TEAM_BUDGET,), (), (), (sc.RULE_TEAM_BUDGET,)]
    assert counted(pipelines) == {(sc.RULE_TEAM_BUDGET, "research"): 1, (sc.RULE_TEAM_BUDGET, "support"): 1}


def test_user_budget_rule(policed, client, replay_server):
    pipelines = policed()
    with audit_context(user_id="alice", team="support"):  # day: 0.03
        call(client, replay_server, cost=0.02)
        call(client, replay_server, cost=0.01)
        call(client, replay_server, cost=0.01)
    with audit_context(user_id="bob", team="support"):  # no budget for bob
        call(client, replay_server, cost=0.02)
    assert violations(pipelines) == [(), (), (sc.RULE_USER_BUDGET,), ()]


def test_total_budget_rule(policed, client, replay_server):
    pipelines = policed()
    for team in ("a", "b", "c", "d", "e"):  # month: 0.5 for everyone together
        with audit_context(team=team):
            call(client, replay_server, cost=0.1)
    call(client, replay_server, cost=0.01)
    assert violations(pipelines) == [()] * 5 + [(sc.RULE_TOTAL_BUDGET,)]


def test_budget_totals_start_again_in_a_new_period():
    from openrouter_otel.policy import Budget, BudgetTotals

    now = [3600.0 * 10]
    totals = BudgetTotals(clock=lambda: now[0])
    budget = Budget(hour=1.0)
    assert not totals.add("team", "t", budget, 1.0)
    assert totals.add("team", "t", budget, 0.5)
    now[0] += 3600
    assert not totals.add("team", "t", budget, 0.9)


def test_several_rules_at_once_and_the_audit_record_carries_them(policed, client, replay_server):
    pipelines = policed()
    with audit_context(team="research", classification="confidential"):
        call(client, replay_server, model="openai/gpt-4o", served_by="DeepInfra")
    expected = (sc.RULE_TEAM_MODEL, sc.RULE_FALLBACKS, sc.RULE_ZDR, sc.RULE_DATA_COLLECTION, sc.RULE_PROVIDER,
                sc.RULE_CLASSIFICATION_PROVIDER)
    assert violations(pipelines) == [expected]
    [record] = pipelines.audit_records()
    assert tuple(record.attributes[sc.OPENROUTER_POLICY_VIOLATIONS]) == expected
    assert record.attributes[sc.OPENROUTER_STATUS] == "ok"  # observed, not blocked


def test_no_policy_no_attribute_no_counter(instrumented, client, replay_server):
    call(client, replay_server, served_by="DeepInfra")
    assert violations(instrumented) == [()]
    assert instrumented.points(sc.METRIC_POLICY_VIOLATIONS) == []


async def test_async_calls_are_checked_too(policed, async_client, replay_server):
    pipelines = policed()
    headers = replay_server.register("policy-async", CannedResponse(
        body=chat_completion_body(model="openai/gpt-4o", provider="DeepInfra")))
    await async_client.chat.completions.create(model="openai/gpt-4o", messages=MESSAGES, extra_headers=headers)
    assert violations(pipelines) == [(sc.RULE_PROVIDER,)]


def test_violations_arrive_in_the_audit_store_and_its_report(policed, client, replay_server, tmp_path, capsys):
    audit_db = tmp_path / "audit.db"
    policed(audit_db=str(audit_db), audit_db_sync=True)
    call(client, replay_server, served_by="DeepInfra")
    with audit_context(team="research"):
        call(client, replay_server, model="openai/gpt-4o", served_by="DeepInfra")
    call(client, replay_server)
    with sqlite3.connect(audit_db) as db:
        stored = [row[0] for row in db.execute("SELECT policy_violations FROM audit_log ORDER BY seq")]
    assert stored == ["provider", "team_model,provider", None]
    assert main(["audit", "report", "--db", str(audit_db), "--format", "json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert {row["rule"]: row["calls"] for row in report["policy_violations"]} == {"provider": 2, "team_model": 1}


def test_checking_costs_microseconds(tmp_path):
    from openrouter_otel.policy import PolicyChecker

    class Counter:
        def add(self, *args: Any) -> None:
            pass

    checker = PolicyChecker(load_policy(write_policy(tmp_path)), Counter(), lambda team: team)
    attributes = {sc.GEN_AI_REQUEST_MODEL: "openai/gpt-4o", sc.OPENROUTER_PROVIDER: "DeepInfra",
                  sc.OPENROUTER_TEAM: "research", sc.OPENROUTER_CLASSIFICATION: "confidential",
                  sc.ENDUSER_ID: "alice", sc.GEN_AI_USAGE_COST: 0.0001}
    rounds, batches = 1000, []
    for _ in range(5):  # the best batch: a loaded machine slows some of them down
        started = time.perf_counter()
        for _ in range(rounds):
            checker.check(attributes)
        batches.append((time.perf_counter() - started) / rounds)
    per_call = min(batches)
    assert per_call < 100e-6, f"{per_call * 1e6:.1f} µs per check"


# --- bad input ----------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("text", "line", "words"), [
    ("teams:\n  research:\n    budget: {hour: -1}\n", 3, "0 or more"),
    ("approved_providers: [Anthropic]\nclassifications:\n  confidential:\n    allow_freebies: false\n", 4,
     "unknown key 'allow_freebies'"),
    ("enforce: [provider]\n", 1, "known only once the call ended"),
    ("enforce:\n  - zdr\n  - no_such_rule\n", 3, "is not a rule"),
    ("teams: [research]\n", 1, "mapping"),
    ("approved_providers: [Anthropic\nteams: {}\n", 2, "not valid YAML"),
    ("classifications:\n  internal:\n    require_zdr: sometimes\n", 3, "true or false"),
    ("version: 2\n", 1, "version"),
])
def test_invalid_files_name_the_file_and_the_line(tmp_path, text, line, words):
    path = write_policy(tmp_path, text)
    with pytest.raises(PolicyError) as raised:
        load_policy(path)
    assert str(raised.value).startswith(f"{path}:{line}: ") and words in str(raised.value)


def test_an_invalid_file_is_one_warning_and_calls_go_on_unchecked(policed, client, replay_server, caplog):
    with caplog.at_level(logging.WARNING, logger="openrouter_otel"):
        pipelines = policed("budget: {day: -5}\n")
    warnings = [record.getMessage() for record in caplog.records if record.levelno >= logging.WARNING]
    assert len(warnings) == 1 and "policy.yaml:1:" in warnings[0] and "not checked" in warnings[0]
    call(client, replay_server, served_by="DeepInfra")
    assert violations(pipelines) == [()]


def test_a_missing_file_is_one_warning(instrument, tmp_path, caplog):
    with caplog.at_level(logging.WARNING, logger="openrouter_otel"):
        instrument(policy=str(tmp_path / "nowhere.yaml"))
    warnings = [record.getMessage() for record in caplog.records if record.levelno >= logging.WARNING]
    assert len(warnings) == 1 and "nowhere.yaml" in warnings[0]


def test_the_policy_comes_from_the_environment(instrument, tmp_path, monkeypatch, client, replay_server):
    monkeypatch.setenv(sc.ENV_POLICY, write_policy(tmp_path))
    pipelines = instrument()
    call(client, replay_server, served_by="DeepInfra")
    assert violations(pipelines) == [(sc.RULE_PROVIDER,)]


def test_without_pyyaml_a_configured_policy_is_one_warning(policed, monkeypatch, caplog):
    monkeypatch.setitem(__import__("sys").modules, "yaml", None)
    with caplog.at_level(logging.WARNING, logger="openrouter_otel"):
        policed()
    warnings = [record.getMessage() for record in caplog.records if record.levelno >= logging.WARNING]
    assert len(warnings) == 1 and "PyYAML" in warnings[0] and "openrouter-otel[policy]" in warnings[0]


# --- enforce mode -------------------------------------------------------------------------------------------

ENFORCING = POLICY + "enforce: [team_model, fallbacks, zdr, data_collection, free_model]\n"


def blocked(replay_server: Any, pipelines: Any, send: Any, rules: tuple[str, ...]) -> None:
    """`send()` raises PolicyViolation for `rules`, the server sees nothing, and the call is recorded as blocked."""
    from openrouter_otel import PolicyViolation

    replay_server.clear_requests()
    with pytest.raises(PolicyViolation) as raised:
        send()
    assert raised.value.rules == rules and "policy.yaml" in str(raised.value)
    assert replay_server.requests == []
    span = pipelines.spans()[-1]
    assert span.attributes[sc.ERROR_TYPE] == "PolicyViolation" and span.status.status_code.name == "ERROR"
    assert tuple(span.attributes[sc.OPENROUTER_POLICY_VIOLATIONS]) == rules
    record = pipelines.audit_records()[-1]
    assert record.attributes[sc.OPENROUTER_STATUS] == "error"
    assert record.attributes[sc.ERROR_TYPE] == "PolicyViolation"


@pytest.mark.parametrize(("context", "model", "body", "rules"), [
    ({"team": "research"}, "openai/gpt-4o", {}, (sc.RULE_TEAM_MODEL,)),
    ({"classification": "confidential"}, "anthropic/claude-sonnet-4.6",
     {"provider": {"zdr": True, "data_collection": "deny"}}, (sc.RULE_FALLBACKS,)),
    ({"classification": "confidential"}, "anthropic/claude-sonnet-4.6",
     {"provider": {"allow_fallbacks": False, "data_collection": "deny"}}, (sc.RULE_ZDR,)),
    ({"classification": "confidential"}, "anthropic/claude-sonnet-4.6",
     {"provider": {"allow_fallbacks": False, "zdr": True}}, (sc.RULE_DATA_COLLECTION,)),
    ({"classification": "confidential"}, "meta-llama/llama-3.3-70b-instruct:free", CONFIDENTIAL_ROUTING,
     (sc.RULE_FREE_MODEL,)),
])
def test_enforced_rules_block_before_any_byte_leaves(policed, client, replay_server, context, model, body, rules):
    pipelines = policed(ENFORCING)
    with audit_context(**context):
        blocked(replay_server, pipelines, lambda: call(client, replay_server, model=model, **body), rules)
    assert counted(pipelines) == {(rules[0], context.get("team")): 1}


def test_enforce_lets_a_request_just_inside_every_rule_through(policed, client, replay_server):
    pipelines = policed(ENFORCING)
    replay_server.clear_requests()
    with audit_context(team="research", classification="confidential"):
        call(client, replay_server, model="anthropic/claude-sonnet-4.6", **CONFIDENTIAL_ROUTING)
    assert len(replay_server.requests) == 1 and violations(pipelines) == [()]


def test_only_the_enforced_rules_block(policed, client, replay_server):
    pipelines = policed(POLICY + "enforce: [team_model]\n")
    with audit_context(classification="confidential"):  # breaks fallbacks, zdr, data_collection: observed only
        call(client, replay_server)
    assert violations(pipelines) == [(sc.RULE_FALLBACKS, sc.RULE_ZDR, sc.RULE_DATA_COLLECTION)]
    with audit_context(team="research"):
        blocked(replay_server, pipelines, lambda: call(client, replay_server, model="openai/gpt-4o"),
                (sc.RULE_TEAM_MODEL,))


def test_enforce_is_off_by_default(policed, client, replay_server):
    pipelines = policed()
    replay_server.clear_requests()
    with audit_context(team="research"):
        call(client, replay_server, model="openai/gpt-4o", served_by="OpenAI")
    assert len(replay_server.requests) == 1 and violations(pipelines) == [(sc.RULE_TEAM_MODEL,)]


async def test_async_calls_are_blocked_too(policed, async_client, replay_server):
    from openrouter_otel import PolicyViolation

    pipelines = policed(ENFORCING)
    replay_server.clear_requests()
    with audit_context(team="research"), pytest.raises(PolicyViolation):
        await async_client.chat.completions.create(model="openai/gpt-4o", messages=MESSAGES)
    assert replay_server.requests == [] and violations(pipelines) == [(sc.RULE_TEAM_MODEL,)]


def test_streams_are_blocked_before_the_stream_opens(policed, client, replay_server):
    pipelines = policed(ENFORCING)
    with audit_context(team="research"):
        blocked(replay_server, pipelines, lambda: client.chat.completions.create(
            model="openai/gpt-4o", messages=MESSAGES, stream=True), (sc.RULE_TEAM_MODEL,))


def test_the_shipped_example_policy_is_valid_and_teams_take_what_they_do_not_set_from_the_default():
    from tests.conftest import REPO_ROOT

    policy = load_policy(str(REPO_ROOT / "policy.example.yaml"))
    assert policy.approved_providers[0] == "Anthropic" and policy.enforce == frozenset()
    support = policy.team("support")
    assert support.models is not None and support.budget.hour == policy.default_team.budget.hour == 10
    assert policy.user("contractor-1").budget.day == 5 and policy.budget.day == 100


def test_the_readme_policy_example_is_valid(tmp_path):
    import re

    from tests.conftest import REPO_ROOT

    readme = (REPO_ROOT / "README.md").read_text()
    block = re.search(r"## Policy and budgets.*?```yaml\n(.*?)```", readme, re.DOTALL).group(1)
    policy = load_policy(write_policy(tmp_path, block))
    assert policy.enforce == {sc.RULE_TEAM_MODEL, sc.RULE_ZDR} and policy.team("support").budget.month == 500
