"""The alert rules and dashboards are generated from grafana/thresholds.yaml, and are up to date with it."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

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
        settings = thresholds["alerts"][uid.removeprefix("openrouter-").replace("-", "_")]
        assert rule["for"] == settings.get("for", "0s"), uid
        if "window" in settings:
            assert f"[{settings['window']}]" in rule["data"][0]["model"]["expr"], uid


def test_team_budgets_and_approved_providers_reach_the_rules(tmp_path: Path) -> None:
    from openrouter_grafana import alerts, settings

    raw = grafana_files.thresholds()
    raw["alerts"]["team_hourly_budget"]["teams"] = {"research": 50, "support": 5}
    raw["approved_providers"] = ["Anthropic", "Z.AI"]
    edited = tmp_path / "thresholds.yaml"
    edited.write_text(yaml.safe_dump(raw))
    built = {rule.uid: rule for rule in alerts.rules(settings.load(edited))}
    budget = built["openrouter-team-hourly-budget"].expr
    assert 'openrouter_team="research"' in budget and "/ 50" in budget
    assert 'openrouter_team="support"' in budget and "/ 5" in budget
    assert 'openrouter_team!~"research|support"' in budget and "/ 10" in budget
    assert 'openrouter_provider!~"Anthropic|Z\\\\.AI"' in built["openrouter-unapproved-provider"].expr


@pytest.mark.parametrize("edit, message", [
    (lambda raw: raw["alerts"]["error_rate"].update(max_ratio=5), "alerts.error_rate.max_ratio"),
    (lambda raw: raw["alerts"]["latency_p95"].update(window="ten minutes"), "alerts.latency_p95.window"),
    (lambda raw: raw["alerts"]["daily_budget"].pop("max_usd"), "alerts.daily_budget needs"),
    (lambda raw: raw["alerts"].pop("pii_surge"), "missing ['pii_surge']"),
    (lambda raw: raw.update(approved_providers=[]), "approved_providers"),
    (lambda raw: raw["alerts"]["team_hourly_budget"].update(teams={"research": -1}), "teams"),
])
def test_malformed_thresholds_are_refused_naming_the_key(tmp_path: Path, edit, message: str) -> None:
    from openrouter_grafana import settings

    raw = grafana_files.thresholds()
    edit(raw)
    edited = tmp_path / "thresholds.yaml"
    edited.write_text(yaml.safe_dump(raw))
    with pytest.raises(settings.SettingsError, match=message.replace("[", r"\[").replace("]", r"\]")):
        settings.load(edited)


def test_runbook_urls_point_at_the_readme_sections_when_a_base_url_is_set(tmp_path: Path) -> None:
    from openrouter_grafana import alerts, settings

    raw = grafana_files.thresholds()
    raw["runbook_base_url"] = "https://git.example/ops/grafana/README.md"
    edited = tmp_path / "thresholds.yaml"
    edited.write_text(yaml.safe_dump(raw))
    headings = re.findall(r"^#+ (.+?)\s*$", grafana_files.README.read_text(encoding="utf-8"), re.MULTILINE)
    anchors = {re.sub(r"[^a-z0-9 -]", "", heading.lower()).replace(" ", "-") for heading in headings}
    for rule in alerts.provisioning(settings.load(edited))["groups"][0]["rules"]:
        base, anchor = rule["annotations"]["runbook_url"].split("#")
        assert base == raw["runbook_base_url"] and anchor in anchors, rule["uid"]
    assert "runbook_url" not in grafana_files.rules()[0]["annotations"]  # the shipped file sets no base URL
