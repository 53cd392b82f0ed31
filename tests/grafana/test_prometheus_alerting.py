"""The alert rules as Prometheus alerting rules, on real engines: each environment's Prometheus evaluates
grafana/prometheus/alerts.yaml over the telemetry of the instrumented SDK (through the built collector) and
sends what fires to a real Alertmanager, which delivers it to a webhook receiver in this process. Every rule is
delivered from its incident; nothing is delivered from healthy traffic (near misses included) nor, but
*No LLM telemetry*, from the silent environment.

Run as generated except two things, for the test's time: the group is evaluated every second instead of every
minute, and no rule waits for its `for:` pending period (conftest.py, alertmanager.rule_file_for_tests).
"""

from __future__ import annotations

import subprocess
import time

from tests.grafana import grafana_files
from tests.grafana.alertmanager import PROMETHEUS_RULES_FILE, Webhook
from tests.grafana.promtool import promtool_binary
from tests.grafana.telemetry import Environment
from tests.grafana.test_alerts_real_data import INCIDENT_INSTANCES

NO_TELEMETRY = "openrouter-no-telemetry"
DELIVERY_TIMEOUT_S = 90.0


def prometheus_rules() -> dict[str, dict]:
    """rule uid -> the Prometheus alerting rule."""
    document = grafana_files.load_yaml(PROMETHEUS_RULES_FILE)
    return {rule["labels"]["rule_uid"]: rule for group in document["groups"] for rule in group["rules"]}


def test_promtool_accepts_the_rule_file() -> None:
    result = subprocess.run([promtool_binary(), "check", "rules", str(PROMETHEUS_RULES_FILE)], capture_output=True,
                            text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_prometheus_rules_are_the_grafana_rules() -> None:
    ours = prometheus_rules()
    grafana = {rule["uid"]: rule for rule in grafana_files.rules()}
    assert set(ours) == set(grafana)
    for uid, rule in grafana.items():
        condition = next(query for query in rule["data"] if query["refId"] == "C")["model"]["conditions"][0]
        comparison = {"gt": ">", "lt": "<"}[condition["evaluator"]["type"]]
        expr = rule["data"][0]["model"]["expr"]
        assert ours[uid]["expr"] == f"(\n{expr}\n) {comparison} {condition['evaluator']['params'][0]:g}", uid
        assert ours[uid]["for"] == rule["for"] and ours[uid]["labels"]["severity"] == rule["labels"]["severity"]
        assert ours[uid]["annotations"]["title"] == rule["title"]


def delivered(webhook: Webhook, env: str) -> list[dict]:
    return [alert for alert in webhook.received() if alert["labels"].get("env") == env]


def matches(alert: dict, uid: str, labels: dict[str, str]) -> bool:
    return alert["labels"].get("rule_uid") == uid and all(alert["labels"].get(k) == v for k, v in labels.items())


def wait_for_every_incident(webhook: Webhook) -> list[dict]:
    expected = {**INCIDENT_INSTANCES}
    deadline = time.monotonic() + DELIVERY_TIMEOUT_S
    while True:
        alerts = delivered(webhook, "incident")
        missing = [uid for uid, labels in expected.items() if not any(matches(a, uid, labels) for a in alerts)]
        silent = [a for a in delivered(webhook, "silent") if a["labels"]["rule_uid"] == NO_TELEMETRY]
        if not missing and silent:
            return alerts
        assert time.monotonic() < deadline, f"Alertmanager delivered nothing for {missing or [NO_TELEMETRY]}"
        time.sleep(0.5)


def test_alertmanager_delivers_every_rule_from_its_incident(incident: Environment, silent: Environment,
                                                            webhook: Webhook) -> None:
    alerts = wait_for_every_incident(webhook)
    for uid, labels in INCIDENT_INSTANCES.items():
        alert = next(a for a in alerts if matches(a, uid, labels))
        assert alert["status"] == "firing" and alert["annotations"]["summary"], uid
        assert "{{" not in alert["annotations"]["summary"], uid  # the templates were expanded
    assert not [a for a in alerts if a["labels"]["rule_uid"] == NO_TELEMETRY]


def test_nothing_is_delivered_from_healthy_traffic_or_from_silence_but_no_telemetry(
        healthy: Environment, incident: Environment, silent: Environment, webhook: Webhook) -> None:
    wait_for_every_incident(webhook)  # by then every Prometheus has evaluated its rules many times
    assert delivered(webhook, "healthy") == []
    assert {a["labels"]["rule_uid"] for a in delivered(webhook, "silent")} == {NO_TELEMETRY}
