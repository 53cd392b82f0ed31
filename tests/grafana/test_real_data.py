"""The dashboards' queries against real telemetry: the instrumented SDK's calls, through the shipped collector
config, in a real Prometheus. Every Prometheus query of every panel and rule must return data, and every name
a query uses (metric, label; audit-record field for Loki) must exist in what the instrumentation exported."""

from __future__ import annotations

import math
import re
import time

import pytest

from openrouter_otel import semconv as sc
from tests.grafana import grafana_files
from tests.grafana.grafana_files import LOKI_FIELDS, NUMERIC_AUDIT_FIELDS, Query, label
from tests.grafana.query_names import grouping_labels, matcher_labels, unwrapped_labels
from tests.grafana.scenarios import CANCELLED_MODEL
from tests.grafana.telemetry import OTHER_SCOPE, SCRAPE_INTERVAL_S, Environment, calls_of

DASHBOARDS = grafana_files.dashboards()


def run(query: Query, environment: Environment, **chosen: str) -> list[dict]:
    """The query as Grafana would send it for a time range covering the environment's traffic (variables on
    All unless `chosen`)."""
    now = time.time()
    range_seconds = environment.elapsed() + 5
    step = max(1.0, query.interval_seconds)
    values = grafana_files.grafana_values(DASHBOARDS[query.dashboard], range_seconds=range_seconds,
                                          interval_seconds=step, scrape_interval_seconds=SCRAPE_INTERVAL_S)
    values.update(chosen)
    expr = grafana_files.substitute(query.expr, values)
    if query.instant:
        return environment.prometheus.query(expr)
    start = now - range_seconds if step < range_seconds else now
    return environment.prometheus.query_range(expr, start, now, step=f"{step:g}s")


def finite_values(result: list[dict]) -> list[float]:
    points = [series["value"] for series in result if "value" in series]
    points += [point for series in result for point in series.get("values", [])]
    return [float(value) for _, value in points if math.isfinite(float(value))]


def our_label_names(environment: Environment) -> set[str]:
    return set(environment.prometheus.api("labels", **{"match[]": grafana_files.ALL_DESIGN_SERIES}))


def test_prometheus_holds_exactly_the_metrics_of_design_md(incident: Environment) -> None:
    names = set(incident.prometheus.api("label/__name__/values"))
    assert grafana_files.DESIGN_METRICS <= names
    # Nothing else the instrumentation exports looks like ours (a renamed metric would show up here).
    assert not {name for name in names - grafana_files.DESIGN_METRICS if name.startswith(("gen_ai", "openrouter"))}


def test_metrics_carry_the_metric_attributes_of_semconv_as_labels(incident: Environment) -> None:
    expected = {label(key) for key in (*sc.METRIC_ATTRIBUTE_KEYS, sc.GEN_AI_TOKEN_TYPE, sc.PII_TYPE)}
    assert expected <= our_label_names(incident)


@pytest.mark.parametrize("query", grafana_files.queries("prometheus"), ids=lambda query: query.id)
def test_dashboard_query_returns_data(query: Query, incident: Environment) -> None:
    result = run(query, incident)
    assert result, f"{query.id} returned no series"
    assert finite_values(result), f"{query.id} returned only NaN: {result}"


@pytest.mark.parametrize("query", grafana_files.queries("prometheus"), ids=lambda query: query.id)
def test_dashboard_query_names_only_labels_the_metrics_have(query: Query, incident: Environment) -> None:
    """A misspelt label in `{label=~".*"}` or `by (label)` would still return data: names are checked here."""
    used = matcher_labels(query.expr) | grouping_labels(query.expr)
    assert used - {"le"} <= our_label_names(incident), f"{query.id}: {used - our_label_names(incident)}"


@pytest.mark.parametrize("rule", grafana_files.rules(), ids=lambda rule: rule["uid"])
def test_alert_query_returns_data_and_names_real_labels(rule: dict, incident: Environment) -> None:
    expr = rule["data"][0]["model"]["expr"]
    result = incident.prometheus.query(expr)
    assert result and finite_values(result), f"{rule['uid']} returned {result}"
    used = matcher_labels(expr) | grouping_labels(expr)
    assert used - {"le"} <= our_label_names(incident), rule["uid"]


def test_variable_queries_list_the_values_of_real_calls(incident: Environment) -> None:
    for board in DASHBOARDS.values():
        for name, variable in grafana_files.variables(board).items():
            if variable["type"] != "query":
                continue
            metric, label = re.fullmatch(r"label_values\((\w+\{[^}]*\}), (\w+)\)", variable["query"]).groups()
            values = incident.prometheus.api(f"label/{label}/values", **{"match[]": metric})
            assert len(values) >= 2, f"{name}: {values}"


def panel_query(dashboard: str, title: str) -> Query:
    (query,) = [query for query in grafana_files.queries("prometheus")
                if query.dashboard == dashboard and query.panel["title"] == title]
    return query


def single_value(result: list[dict]) -> float:
    (series,) = result
    return float(series["value"][1])


def test_a_second_instrumentation_scope_is_there_and_not_counted(incident: Environment) -> None:
    """Another instrumentation recorded every call again under DESIGN's metric names; the panels count ours."""
    assert single_value(incident.prometheus.query(f"sum({calls_of(OTHER_SCOPE)})")) == len(incident.calls)
    calls = panel_query("openrouter-spend.json", "Calls in range")
    assert single_value(run(calls, incident)) == pytest.approx(len(incident.calls))
    spend = panel_query("openrouter-spend.json", "Spend in range")
    assert single_value(run(spend, incident)) == pytest.approx(
        sum(call.cost for call in incident.calls if call.status == 200))


def test_reliability_error_rate_leaves_cancelled_calls_out(healthy: Environment) -> None:
    """A model whose calls were nearly all cancelled by their callers has failed none."""
    share = panel_query("openrouter-reliability.json", "Error rate in range")
    assert single_value(run(share, healthy, model=CANCELLED_MODEL)) == 0
    # The rate panel's series were born with their final value (rate() is 0 there): its matcher is checked.
    by_model = panel_query("openrouter-reliability.json", "Error rate by requested model")
    assert 'error_type!="cancelled"' in by_model.expr


# ---- Loki panels: their names against the audit records the instrumentation emitted -------------------


def audit_fields(environments: list[Environment]) -> dict[str, list]:
    """Field name as Loki stores it -> the values it took on the audit records."""
    fields: dict[str, list] = {}
    for environment in environments:
        for record in environment.audit_records():
            for key, value in (record.attributes or {}).items():
                fields.setdefault(label(key), []).append(value)
    return fields


def test_loki_queries_name_fields_the_audit_records_have(healthy: Environment, incident: Environment) -> None:
    fields = audit_fields([healthy, incident])
    for query in grafana_files.queries("loki"):
        used = matcher_labels(query.expr) | grouping_labels(query.expr) | unwrapped_labels(query.expr)
        missing = used - LOKI_FIELDS - set(fields)
        assert not missing, f"{query.id}: no audit record has {missing}"
        for field in unwrapped_labels(query.expr):
            assert field in NUMERIC_AUDIT_FIELDS
            assert all(isinstance(value, (int, float)) and not isinstance(value, bool) for value in fields[field])


def test_audit_trail_columns_and_byok_filter_match_real_records(healthy: Environment, incident: Environment) -> None:
    fields = audit_fields([healthy, incident])
    trail = next(query for query in grafana_files.queries("loki") if query.panel["title"] == "Audit trail")
    organize = next(step for step in trail.panel["transformations"] if step["id"] == "organize")
    missing = set(organize["options"]["includeByName"]) - {"Time"} - LOKI_FIELDS - set(fields)
    assert not missing
    # Loki stores a boolean attribute as "true"/"false": the BYOK panels filter on that text.
    byok = fields[label(sc.OPENROUTER_IS_BYOK)]
    assert True in byok and all(isinstance(value, bool) for value in byok)


def test_audit_records_have_the_scope_and_trace_context_the_loki_queries_rely_on(healthy: Environment) -> None:
    data = healthy.logs.get_finished_logs()
    assert data
    for item in data:
        assert item.instrumentation_scope.name == sc.INSTRUMENTATION_SCOPE  # -> scope_name
        assert item.log_record.event_name == sc.AUDIT_EVENT_NAME
        assert item.log_record.trace_id  # -> trace_id, the link to Tempo
