"""The alert rules and dashboards are generated from grafana/thresholds.yaml and the policy file it names, and are up
to date with them."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from openrouter_otel import semconv as sc
from tests.grafana import grafana_files

# Alert rule uid -> where its threshold lives in thresholds.yaml (None: a fixed threshold of the rule's design).
THRESHOLD_KEYS = {
    "openrouter-error-rate": ("error_rate", "max_ratio"),
    "openrouter-credits-exhausted": None,
    "openrouter-rate-limited": ("rate_limited", "max_ratio"),
    "openrouter-latency-p95": ("latency_p95", "max_seconds"),
    "openrouter-team-hourly-budget": None,
    "openrouter-daily-budget": ("daily_budget", "max_usd"),
    "openrouter-unapproved-provider": None,
    "openrouter-pii-surge": ("pii_surge", "max_redactions"),
    "openrouter-no-telemetry": None,
    **{f"openrouter-policy-{rule.replace('_', '-')}": None for rule in sc.POLICY_RULES},
    "openrouter-key-credit-low": ("key_credit_low", "min_usd"),
    "openrouter-key-credit-runs-out": None,
    "openrouter-key-expiring": None,
}


def test_generated_files_are_up_to_date_with_thresholds_file() -> None:
    result = subprocess.run([sys.executable, str(grafana_files.GRAFANA_DIR / "generate.py"), "--check"],
                            capture_output=True, text=True, check=False)
    assert result.returncode == 0, f"stale (run python grafana/generate.py):\n{result.stdout}{result.stderr}"


def test_every_rule_reads_its_threshold_from_the_thresholds_file(thresholds: dict) -> None:
    rules = {rule["uid"]: rule for rule in grafana_files.rules()}
    assert set(rules) == set(THRESHOLD_KEYS)
    for uid, key in THRESHOLD_KEYS.items():
        if key is None:
            continue
        alert, name = key
        condition = next(query for query in rules[uid]["data"] if query["refId"] == rules[uid]["condition"])
        assert condition["model"]["conditions"][0]["evaluator"]["params"] == [thresholds["alerts"][alert][name]], uid


def test_windows_and_pending_periods_come_from_the_thresholds_file(thresholds: dict) -> None:
    rules = {rule["uid"]: rule for rule in grafana_files.rules()}
    for uid, rule in rules.items():
        block = "policy_violations" if uid.startswith("openrouter-policy-") else uid.removeprefix("openrouter-")
        settings = thresholds["alerts"][block.replace("-", "_")]
        assert rule["for"] == settings.get("for", "0s"), uid
        if "window" in settings:
            assert f"[{settings['window']}]" in rule["data"][0]["model"]["expr"], uid


def edited_files(tmp_path: Path, edit_policy=None, edit_thresholds=None) -> Path:
    """Copies of thresholds.yaml and its policy file, edited; the path of the thresholds copy."""
    policy = grafana_files.load_yaml(grafana_files.policy_file())
    if edit_policy:
        edit_policy(policy)
    (tmp_path / "policy.yaml").write_text(yaml.safe_dump(policy))
    raw = grafana_files.raw_thresholds()
    raw["policy"] = "policy.yaml"
    if edit_thresholds:
        edit_thresholds(raw)
    edited = tmp_path / "thresholds.yaml"
    edited.write_text(yaml.safe_dump(raw))
    return edited


def test_team_budgets_and_approved_providers_come_from_the_policy_file(tmp_path: Path) -> None:
    from openrouter_grafana import alerts, settings

    def edit(policy: dict) -> None:
        policy["teams"] = {"research": {"budget": {"hour": 50}}, "support": {"budget": {"hour": 5, "day": 20}}}
        policy["approved_providers"] = ["Anthropic", "Z.AI"]
        policy["budget"] = {"day": 250}

    built = {rule.uid: rule for rule in alerts.rules(settings.load(edited_files(tmp_path, edit)))}
    budget = built["openrouter-team-hourly-budget"].expr
    assert 'openrouter_team="research"' in budget and "/ 50" in budget
    assert 'openrouter_team="support"' in budget and "/ 5" in budget
    assert 'openrouter_team!~"research|support"' in budget and "/ 10" in budget
    assert 'openrouter_provider!~"Anthropic|Z\\\\.AI"' in built["openrouter-unapproved-provider"].expr
    assert built["openrouter-daily-budget"].threshold == 250


def test_budgets_the_policy_does_not_set_have_no_rule(tmp_path: Path) -> None:
    from openrouter_grafana import alerts, settings

    def edit(policy: dict) -> None:
        policy.pop("budget")
        policy.pop("default_team")

    built = {rule.uid for rule in alerts.rules(settings.load(edited_files(tmp_path, edit)))}
    assert "openrouter-daily-budget" not in built and "openrouter-team-hourly-budget" not in built
    assert "openrouter-policy-team-budget" in built


def test_every_policy_rule_has_an_alert_rule() -> None:
    rules = {rule["uid"]: rule for rule in grafana_files.rules()}
    for rule in sc.POLICY_RULES:
        expr = rules[f"openrouter-policy-{rule.replace('_', '-')}"]["data"][0]["model"]["expr"]
        assert f'{sc.PROM_POLICY_VIOLATIONS}{{otel_scope_name="openrouter_otel", openrouter_policy_rule="{rule}"}}' in expr


@pytest.mark.parametrize("edit, message", [
    (lambda raw: raw["alerts"]["error_rate"].update(max_ratio=5), "alerts.error_rate.max_ratio"),
    (lambda raw: raw["alerts"]["latency_p95"].update(window="ten minutes"), "alerts.latency_p95.window"),
    (lambda raw: raw["alerts"].update(daily_budget={"max_usd": 100}), "alerts.daily_budget needs"),
    (lambda raw: raw["alerts"].pop("pii_surge"), "missing ['pii_surge']"),
    (lambda raw: raw.pop("policy"), "policy must name the policy file"),
    (lambda raw: raw.update(policy="nowhere.yaml"), "cannot read nowhere.yaml"),
])
def test_malformed_thresholds_are_refused_naming_the_key(tmp_path: Path, edit, message: str) -> None:
    from openrouter_grafana import settings

    with pytest.raises(settings.SettingsError, match=message.replace("[", r"\[").replace("]", r"\]")):
        settings.load(edited_files(tmp_path, edit_thresholds=edit))


@pytest.mark.parametrize("edit, message", [
    (lambda policy: policy.update(approved_providers=[]), "approved_providers must be a non-empty list"),
    (lambda policy: policy["default_team"]["budget"].update(hour=-1), "policy.yaml:.*0 or more"),
    (lambda policy: policy.update(budgets={}), "policy.yaml:.*unknown key 'budgets'"),
])
def test_malformed_policy_files_are_refused_naming_the_file_and_line(tmp_path: Path, edit, message: str) -> None:
    from openrouter_grafana import settings

    with pytest.raises(settings.SettingsError, match=message):
        settings.load(edited_files(tmp_path, edit))


def test_runbook_urls_point_at_the_readme_sections_when_a_base_url_is_set(tmp_path: Path) -> None:
    from openrouter_grafana import alerts, settings

    base_url = "https://git.example/ops/grafana/README.md"
    edited = edited_files(tmp_path, edit_thresholds=lambda raw: raw.update(runbook_base_url=base_url))
    headings = re.findall(r"^#+ (.+?)\s*$", grafana_files.README.read_text(encoding="utf-8"), re.MULTILINE)
    anchors = {re.sub(r"[^a-z0-9 -]", "", heading.lower()).replace(" ", "-") for heading in headings}
    for rule in alerts.provisioning(settings.load(edited))["groups"][0]["rules"]:
        base, anchor = rule["annotations"]["runbook_url"].split("#")
        assert base == base_url and anchor in anchors, rule["uid"]
    assert "runbook_url" not in grafana_files.rules()[0]["annotations"]  # the shipped file sets no base URL


def test_generated_files_do_not_depend_on_where_the_checkout_is() -> None:
    from openrouter_grafana import settings
    from openrouter_grafana.render import generated_files

    for path, text in generated_files(settings.load()).items():
        assert str(grafana_files.REPO_ROOT) not in text, path
