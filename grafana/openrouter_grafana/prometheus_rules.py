"""The same alert rules as Prometheus alerting rules, for Prometheus + Alertmanager or a Mimir/Cortex ruler.

Each Grafana rule is one instant query reduced to its last value and compared with one threshold: in Prometheus
that is the query compared with the threshold, `(A) > t` or `(A) < t`, with the same pending period, labels and
texts (Grafana's `$values.B.Value` is Prometheus's `$value`).
"""

from __future__ import annotations

from openrouter_grafana import alerts
from openrouter_grafana.settings import Settings

_COMPARISON = {"gt": ">", "lt": "<"}


def alert_name(rule: alerts.Rule) -> str:
    """A Prometheus alert name (a valid metric name) from the rule's uid: openrouter-error-rate -> OpenrouterErrorRate."""
    return "".join(part.capitalize() for part in rule.uid.split("-"))


def rule_file(settings: Settings) -> dict:
    return {"groups": [{
        "name": alerts.GROUP,
        "interval": alerts.EVALUATION_INTERVAL,
        "rules": [_rule(rule, settings.runbook_base_url) for rule in alerts.rules(settings)],
    }]}


def _rule(rule: alerts.Rule, runbook_base_url: str) -> dict:
    annotations = {"summary": _templates(rule.summary),
                   "description": f"{_templates(rule.description)}\n\nRunbook: grafana/README.md, section \"{rule.title}\"."}
    if runbook_base_url:
        annotations["runbook_url"] = f"{runbook_base_url}#{alerts.anchor(rule.title)}"
    return {
        "alert": alert_name(rule),
        "expr": f"(\n{rule.expr}\n) {_COMPARISON[rule.evaluator]} {rule.threshold:g}",
        "for": rule.pending,
        "labels": {"severity": rule.severity, "source": "openrouter-otel", "rule_uid": rule.uid},
        "annotations": {"title": rule.title, **annotations},
    }


def _templates(text: str) -> str:
    return text.replace("$values.B.Value", "$value")
