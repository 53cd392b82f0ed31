"""Lint of the dashboards: datasources only through variables, units everywhere, Grafana's rate interval,
the dashboard variables, and metric names only from DESIGN.md (semconv's PROM_* constants)."""

from __future__ import annotations

import json

import pytest

from tests.grafana import grafana_files
from tests.grafana.grafana_files import Query
from tests.grafana.query_names import functions, metric_names, range_durations, unscoped_selectors

DASHBOARDS = grafana_files.dashboards()
PROMETHEUS_QUERIES = grafana_files.queries("prometheus")
# The current version of the Grafana that docker-compose.yaml runs (12.x); a newer one fails its migration check.
CURRENT_SCHEMA_VERSION = 41
DESIGN_METRICS = grafana_files.DESIGN_METRICS
DATASOURCE_VARIABLES = {"prometheus": "${datasource}", "loki": "${loki_datasource}"}
RATE_FUNCTIONS = {"rate", "increase", "irate"}


def test_there_are_the_three_dashboards() -> None:
    assert sorted(board["title"] for board in DASHBOARDS.values()) == [
        "OpenRouter: LLM spend and usage", "OpenRouter: audit and compliance", "OpenRouter: reliability"]
    assert len({board["uid"] for board in DASHBOARDS.values()}) == 3


@pytest.mark.parametrize("name", DASHBOARDS)
def test_dashboard_is_current_schema_with_datasource_and_filter_variables(name: str) -> None:
    board = DASHBOARDS[name]
    assert board["schemaVersion"] == CURRENT_SCHEMA_VERSION
    assert board.get("id") is None, "a provisioned dashboard must not carry a database id"
    variables = grafana_files.variables(board)
    assert variables["datasource"]["type"] == "datasource" and variables["datasource"]["query"] == "prometheus"
    for filter_name in ("model", "provider", "team"):
        variable = variables[filter_name]
        assert variable["type"] == "query" and variable["multi"] and variable["includeAll"], filter_name
        assert variable["allValue"] == ".*", filter_name
        assert variable["datasource"] == {"type": "prometheus", "uid": "${datasource}"}
        assert metric_names(variable["query"].removeprefix("label_values(").rsplit(",", 1)[0]) <= DESIGN_METRICS


@pytest.mark.parametrize("name", DASHBOARDS)
def test_panels_read_datasources_only_through_variables(name: str) -> None:
    board = DASHBOARDS[name]
    variables = grafana_files.variables(board)
    for panel in grafana_files.panels(board):
        if panel["type"] == "row":
            continue
        kind = panel["datasource"]["type"]
        assert panel["datasource"]["uid"] == DATASOURCE_VARIABLES[kind], panel["title"]
        assert variables[DATASOURCE_VARIABLES[kind].strip("${}")]["query"] == kind
        for target in panel["targets"]:
            assert target["datasource"] == panel["datasource"], panel["title"]
    # Anywhere else a uid may only be a provisioned one (trace links to Tempo, variable defaults).
    inside = [board["panels"], board["templating"]]
    for uid in _all_values(inside, "uid") | _all_values(inside, "datasourceUid"):
        assert uid in grafana_files.PROVISIONED_UIDS or uid in DATASOURCE_VARIABLES.values(), uid


@pytest.mark.parametrize("name", DASHBOARDS)
def test_every_panel_has_a_unit_title_description_and_place(name: str) -> None:
    seen_ids = set()
    for panel in grafana_files.panels(DASHBOARDS[name]):
        assert panel["id"] not in seen_ids
        seen_ids.add(panel["id"])
        position = panel["gridPos"]
        assert position["x"] + position["w"] <= 24 and position["w"] > 0 and position["h"] > 0
        if panel["type"] == "row":
            continue
        assert panel["fieldConfig"]["defaults"].get("unit"), f"{panel['title']} has no unit"
        assert panel["title"] and panel["description"], panel["title"]
        assert panel["targets"], panel["title"]


@pytest.mark.parametrize("query", PROMETHEUS_QUERIES, ids=lambda query: query.id)
def test_rates_use_grafana_rate_interval_and_totals_the_dashboard_range(query: Query) -> None:
    """Time series use `$__rate_interval`; instant totals cover `$__range`; no hard-coded window."""
    assert not {"irate"} & functions(query.expr)
    allowed = {"$__range"} if query.instant else {"$__rate_interval"}
    for duration in range_durations(query.expr):
        assert duration in allowed, f"{query.id}: window {duration!r}"
    if functions(query.expr) & RATE_FUNCTIONS:
        assert range_durations(query.expr), query.id


@pytest.mark.parametrize("query", PROMETHEUS_QUERIES, ids=lambda query: query.id)
def test_queries_use_only_the_metrics_of_design_md(query: Query) -> None:
    names = metric_names(query.expr)
    assert names, f"{query.id} reads no metric"
    assert names <= DESIGN_METRICS, f"{query.id}: {names - DESIGN_METRICS}"


@pytest.mark.parametrize("query", PROMETHEUS_QUERIES, ids=lambda query: query.id)
def test_every_variable_a_query_uses_is_defined(query: Query) -> None:
    values = grafana_files.grafana_values(DASHBOARDS[query.dashboard], range_seconds=3600, interval_seconds=60,
                                          scrape_interval_seconds=15)
    grafana_files.substitute(query.expr, values)


@pytest.mark.parametrize("query", [query for query in PROMETHEUS_QUERIES if "histogram_quantile" in query.expr
                                   and not query.instant], ids=lambda query: query.id)
def test_latency_graphs_show_exemplars(query: Query) -> None:
    assert query.target["exemplar"] is True


def test_alert_rules_use_only_the_metrics_of_design_md() -> None:
    for rule in grafana_files.rules():
        names = metric_names(rule["data"][0]["model"]["expr"])
        assert names and names <= DESIGN_METRICS, rule["uid"]


def every_promql() -> list[tuple[str, str]]:
    """(where, expression) of every Prometheus query: panels, variables, alert rules."""
    found = [(query.id, query.expr) for query in PROMETHEUS_QUERIES]
    found += [(f"{name}:${variable['name']}", variable["query"]) for name, board in DASHBOARDS.items()
              for variable in grafana_files.variables(board).values() if variable["type"] == "query"]
    return found + [(rule["uid"], rule["data"][0]["model"]["expr"]) for rule in grafana_files.rules()]


@pytest.mark.parametrize(("where", "expr"), every_promql(), ids=[where for where, _ in every_promql()])
def test_every_selector_counts_only_our_instrumentation_scope(where: str, expr: str) -> None:
    """Another instrumentation recording DESIGN's metric names (openai-v2) would otherwise double every figure."""
    assert not unscoped_selectors(expr, DESIGN_METRICS, grafana_files.OUR_SCOPE), where


def test_the_scope_check_finds_an_unscoped_selector() -> None:
    scoped = f'rate(openrouter_redactions_total{{{grafana_files.OUR_SCOPE}, pii_type="EMAIL"}}[5m])'
    assert not unscoped_selectors(scoped, DESIGN_METRICS, grafana_files.OUR_SCOPE)
    assert unscoped_selectors(f"{scoped} / openrouter_redactions_total", DESIGN_METRICS, grafana_files.OUR_SCOPE)
    assert unscoped_selectors('openrouter_redactions_total{pii_type="EMAIL"}', DESIGN_METRICS,
                              grafana_files.OUR_SCOPE)


def test_audit_dashboard_starts_with_the_approved_providers_of_the_thresholds_file(thresholds: dict) -> None:
    variable = grafana_files.variables(DASHBOARDS["openrouter-audit.json"])["approved_providers"]
    assert variable["type"] == "textbox"
    assert variable["query"].split("|") == [name.replace(".", "\\.") for name in thresholds["approved_providers"]]


def _all_values(node, key: str) -> set[str]:
    found = set()
    if isinstance(node, dict):
        for name, value in node.items():
            if name == key and isinstance(value, str):
                found.add(value)
            found |= _all_values(value, key)
    elif isinstance(node, list):
        for item in node:
            found |= _all_values(item, key)
    return found


def test_lint_helpers_find_hard_coded_uids() -> None:
    board = json.loads(json.dumps(DASHBOARDS["openrouter-spend.json"]))
    board["panels"][1]["datasource"]["uid"] = "P1809F7CD0C75ACF3"
    assert "P1809F7CD0C75ACF3" in _all_values(board, "uid")
