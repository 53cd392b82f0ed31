"""The provisioning files: what Grafana reads at start-up, with the environment it is given."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.grafana import grafana_files
from tests.grafana.query_names import grouping_labels

ENVIRONMENT = {"PROMETHEUS_URL": "http://prometheus:9090", "TEMPO_URL": "http://tempo:3200",
               "LOKI_URL": "http://loki:3100", "ALERT_WEBHOOK_URL": "http://alert-receiver.invalid/openrouter-otel"}
CONTACT_POINTS = grafana_files.PROVISIONING_DIR / "alerting" / "contact-points.yaml"
POLICIES = grafana_files.PROVISIONING_DIR / "alerting" / "notification-policies.yaml"
DATASOURCES = grafana_files.PROVISIONING_DIR / "datasources" / "openrouter-otel.yaml"
DASHBOARD_PROVIDER = grafana_files.PROVISIONING_DIR / "dashboards" / "openrouter-otel.yaml"
COMPOSE_FILE = grafana_files.REPO_ROOT / "docker-compose.yaml"


def grafana_interpolate(value: Any, env: dict[str, str]) -> Any:
    """Grafana's provisioning interpolation: `$$` is a literal `$`, `$VAR` and `${VAR}` read the environment."""
    if isinstance(value, dict):
        return {key: grafana_interpolate(item, env) for key, item in value.items()}
    if isinstance(value, list):
        return [grafana_interpolate(item, env) for item in value]
    if not isinstance(value, str):
        return value
    return "$".join(_expand(part, env) for part in value.split("$$"))


def _expand(text: str, env: dict[str, str]) -> str:
    return re.sub(r"\$\{(\w+)\}|\$(\w+)", lambda match: env.get(match.group(1) or match.group(2), ""), text)


def datasources() -> dict[str, dict]:
    raw = grafana_interpolate(grafana_files.load_yaml(DATASOURCES), ENVIRONMENT)
    return {source["uid"]: source for source in raw["datasources"]}


def referenced_variables(path) -> set[str]:
    text = "$".join(path.read_text().split("$$"))
    return {a or b for a, b in re.findall(r"\$\{(\w+)\}|\$(\w+)", text) if (a or b).isupper()}


def test_datasources_have_the_fixed_uids_and_urls_from_the_environment() -> None:
    sources = datasources()
    assert {uid: source["type"] for uid, source in sources.items()} == {
        "prometheus": "prometheus", "tempo": "tempo", "loki": "loki"}
    assert {uid: source["url"] for uid, source in sources.items()} == {
        "prometheus": ENVIRONMENT["PROMETHEUS_URL"], "tempo": ENVIRONMENT["TEMPO_URL"], "loki": ENVIRONMENT["LOKI_URL"]}
    assert [uid for uid, source in sources.items() if source.get("isDefault")] == ["prometheus"]


def test_exemplars_link_metrics_to_traces() -> None:
    destinations = datasources()["prometheus"]["jsonData"]["exemplarTraceIdDestinations"]
    assert destinations == [{"name": "trace_id", "datasourceUid": "tempo", "urlDisplayLabel": "Open trace"}]


def test_traces_link_to_the_logs_of_their_trace_and_logs_back_to_traces() -> None:
    sources = datasources()
    to_logs = sources["tempo"]["jsonData"]["tracesToLogsV2"]
    assert to_logs["datasourceUid"] == "loki"
    # After Grafana's `$$` unescaping the query keeps Grafana's own ${...} link variables.
    assert to_logs["query"] == '{${__tags}} | trace_id="${__trace.traceId}"'
    assert {"key": "service.name", "value": "service_name"} in to_logs["tags"]
    derived = sources["loki"]["jsonData"]["derivedFields"]
    assert derived == [{"name": "Trace", "matcherType": "label", "matcherRegex": "trace_id", "datasourceUid": "tempo",
                        "url": "${__value.raw}", "urlDisplayLabel": "Open trace"}]


def test_dashboard_provider_loads_the_mounted_dashboards_folder() -> None:
    provider = grafana_files.load_yaml(DASHBOARD_PROVIDER)["providers"]
    assert len(provider) == 1 and provider[0]["type"] == "file"
    assert provider[0]["options"]["path"] == "/var/lib/grafana/dashboards"
    assert provider[0]["folder"] == grafana_files.load_yaml(grafana_files.RULES_FILE)["groups"][0]["folder"]


def test_contact_point_target_comes_from_the_environment_and_the_policy_routes_to_it() -> None:
    contact_points = grafana_interpolate(grafana_files.load_yaml(CONTACT_POINTS), ENVIRONMENT)["contactPoints"]
    assert len(contact_points) == 1
    receiver = contact_points[0]["receivers"][0]
    assert receiver["type"] == "webhook" and receiver["uid"]
    assert receiver["settings"]["url"] == ENVIRONMENT["ALERT_WEBHOOK_URL"]
    policy = grafana_files.load_yaml(POLICIES)["policies"][0]
    names = {policy["receiver"], *(route["receiver"] for route in policy.get("routes", []))}
    assert names == {contact_points[0]["name"]}
    assert "alertname" in policy["group_by"]


def test_alerting_folder_holds_only_grafana_provisioning_files() -> None:
    """Grafana parses every YAML/JSON file there at start-up: anything else would stop it."""
    for path in (grafana_files.PROVISIONING_DIR / "alerting").iterdir():
        document = grafana_files.load_yaml(path)
        assert document["apiVersion"] == 1, path
        assert set(document) - {"apiVersion"} <= {"groups", "contactPoints", "policies"}, path


@pytest.mark.parametrize("rule", grafana_files.rules(), ids=lambda rule: rule["uid"])
def test_rule_is_a_prometheus_query_reduced_and_thresholded(rule: dict) -> None:
    data = {query["refId"]: query for query in rule["data"]}
    assert rule["condition"] == "C" and set(data) == {"A", "B", "C"}
    assert data["A"]["datasourceUid"] == "prometheus" and data["A"]["model"]["instant"] is True
    assert data["B"]["datasourceUid"] == data["C"]["datasourceUid"] == grafana_files.EXPRESSION_UID
    assert data["B"]["model"] | {"type": "reduce", "expression": "A", "reducer": "last"} == data["B"]["model"]
    assert data["C"]["model"]["type"] == "threshold" and data["C"]["model"]["expression"] == "B"
    assert data["C"]["model"]["conditions"][0]["evaluator"]["type"] in ("gt", "lt")
    assert rule["noDataState"] in ("OK", "Alerting") and rule["execErrState"] == "Error"
    assert rule["labels"]["severity"] in ("warning", "critical")


@pytest.mark.parametrize("rule", grafana_files.rules(), ids=lambda rule: rule["uid"])
def test_rule_annotations_speak_to_the_person_on_call(rule: dict) -> None:
    annotations = rule["annotations"]
    assert len(annotations["summary"]) > 30 and len(annotations["description"]) > 100
    assert f'section "{rule["title"]}"' in annotations["description"]
    # Templates may only name labels the query keeps, and values of the rule's own expressions.
    expr = rule["data"][0]["model"]["expr"]
    kept = grouping_labels(expr) - {"le"}
    text = annotations["summary"] + annotations["description"]
    assert set(re.findall(r"\$labels\.(\w+)", text)) <= kept, rule["uid"]
    assert set(re.findall(r"\$values\.(\w+)", text)) <= {"B"}
    assert text.count("{{") == text.count("}}")


@pytest.mark.parametrize("rule", grafana_files.rules(), ids=lambda rule: rule["uid"])
def test_readme_has_the_runbook_of_every_rule(rule: dict) -> None:
    readme = grafana_files.README.read_text(encoding="utf-8")
    heading = re.search(rf"^#+ {re.escape(rule['title'])}\s*$", readme, re.MULTILINE)
    assert heading, f"README lacks a section {rule['title']!r}"
    section = readme[heading.end():].split("\n#", 1)[0]
    for part in ("*Fires*", "*Tune*", "*Runbook*"):
        assert part in section, f"{rule['title']}: no {part}"


def test_readme_names_every_environment_variable_the_provisioning_reads() -> None:
    readme = grafana_files.README.read_text(encoding="utf-8")
    variables = set().union(*(referenced_variables(path) for path in (DATASOURCES, CONTACT_POINTS, POLICIES)))
    assert variables == set(ENVIRONMENT)
    for name in variables:
        assert name in readme, name


def test_compose_file_gives_grafana_every_provisioning_variable_and_mounts() -> None:
    """Grafana has no default syntax in provisioning: the compose file must set every variable."""
    assert COMPOSE_FILE.is_file(), "docker-compose.yaml is missing at the repository root"
    compose = grafana_files.load_yaml(COMPOSE_FILE)
    grafana = next(service for name, service in compose["services"].items() if "grafana" in name)
    environment = grafana.get("environment") or {}
    if isinstance(environment, list):
        environment = dict(item.split("=", 1) for item in environment)
    assert set(ENVIRONMENT) <= set(environment), f"grafana's environment lacks {set(ENVIRONMENT) - set(environment)}"
    volumes = " ".join(str(volume) for volume in grafana.get("volumes", []))
    assert "grafana/provisioning:/etc/grafana/provisioning" in volumes
    assert "grafana/dashboards:/var/lib/grafana/dashboards" in volumes


def test_interpolation_helper_matches_grafana() -> None:
    assert grafana_interpolate("a $$ b ${X} $X $${Y}", {"X": "x"}) == "a $ b x x ${Y}"
