"""The Loki (LogQL) panels, checked without a Loki: there is no Loki binary on these machines.

What is checked here: every query reads the `openrouter.audit` records through the same stream selector
and scope filter, names only fields those records have once Loki has stored them (attribute dots become
underscores, scope and trace context become `scope_name` and `trace_id`), unwraps only numeric fields
and only after filtering out records without them, uses Grafana's interval variables for its ranges, and
is well formed. test_real_data.py checks the same names against audit records the instrumentation made.
"""

from __future__ import annotations

import re

import pytest

from openrouter_otel import semconv as sc
from tests.grafana import grafana_files
from tests.grafana.grafana_files import Query
from tests.grafana.query_names import (
    blank_strings,
    functions,
    grouping_labels,
    matcher_labels,
    range_durations,
    unwrapped_labels,
)

LOKI_QUERIES = grafana_files.queries("loki")
AUDIT_FIELDS, LOKI_FIELDS, NUMERIC_FIELDS = (grafana_files.AUDIT_FIELDS, grafana_files.LOKI_FIELDS,
                                             grafana_files.NUMERIC_AUDIT_FIELDS)
AUDIT_SELECTOR = f'{{service_name=~".+"}} | scope_name="{sc.INSTRUMENTATION_SCOPE}"'
LOGQL_FUNCTIONS = {"sum", "count_over_time", "sum_over_time", "topk"}



def referenced_fields(expr: str) -> set[str]:
    return matcher_labels(expr) | grouping_labels(expr) | unwrapped_labels(expr)


def test_there_are_loki_panels_for_cache_reasoning_byok_routing_audit_trail_and_spenders() -> None:
    titles = {query.panel["title"] for query in LOKI_QUERIES}
    assert {"Cache-read input tokens by served model", "Reasoning output tokens by served model", "BYOK share of calls",
            "Routing policies requested", "Audit trail", "Top spenders by user"} <= titles


@pytest.mark.parametrize("query", LOKI_QUERIES, ids=lambda query: query.id)
def test_reads_the_audit_records(query: Query) -> None:
    assert query.expr.count(AUDIT_SELECTOR) >= 1
    for selector in re.findall(r"\{[^}]*\}", blank_strings(query.expr)):
        assert selector == '{service_name=~""}', f"{query.id}: other stream selector {selector}"


@pytest.mark.parametrize("query", LOKI_QUERIES, ids=lambda query: query.id)
def test_names_only_fields_loki_keeps_of_the_audit_records(query: Query) -> None:
    unknown = referenced_fields(query.expr) - AUDIT_FIELDS - LOKI_FIELDS
    assert not unknown, f"{query.id}: {unknown}"


@pytest.mark.parametrize("query", LOKI_QUERIES, ids=lambda query: query.id)
def test_unwraps_numeric_fields_after_dropping_records_without_them(query: Query) -> None:
    for field in unwrapped_labels(query.expr):
        assert field in NUMERIC_FIELDS, f"{query.id}: unwrap {field}"
        before, _ = query.expr.split(f"unwrap {field}", 1)
        assert f'| {field}!=""' in before, f"{query.id}: records without {field} would be unwrap errors"


@pytest.mark.parametrize("query", LOKI_QUERIES, ids=lambda query: query.id)
def test_is_well_formed_with_grafana_ranges(query: Query) -> None:
    text = blank_strings(query.expr)
    for opening, closing in ("()", "{}", "[]"):
        depth = 0
        for char in text:
            depth += (char == opening) - (char == closing)
            assert depth >= 0, f"{query.id}: unbalanced {opening}{closing}"
        assert depth == 0, f"{query.id}: unbalanced {opening}{closing}"
    assert query.expr.count('"') % 2 == 0
    assert functions(query.expr) <= LOGQL_FUNCTIONS, query.id
    expected_range = "$__range" if query.instant else "$__auto"
    assert set(range_durations(query.expr)) <= {expected_range}, query.id
    values = grafana_files.grafana_values(grafana_files.dashboards()[query.dashboard], range_seconds=3600,
                                          interval_seconds=60, scrape_interval_seconds=15)
    grafana_files.substitute(query.expr, values)
    # A pipeline stage is a label filter (name, operator, quoted value) or an unwrap.
    for stage in query.expr.split("|")[1:]:
        assert re.match(r'\s*(\w+\s*(=~|!~|!=|=)\s*"|unwrap \w+)', stage), f"{query.id}: stage {stage!r}"


def test_audit_trail_columns_are_fields_of_the_audit_records() -> None:
    trail = next(query for query in LOKI_QUERIES if query.panel["title"] == "Audit trail")
    organize = next(step for step in trail.panel["transformations"] if step["id"] == "organize")
    columns = set(organize["options"]["includeByName"]) - {"Time"}
    assert columns <= AUDIT_FIELDS | LOKI_FIELDS, columns - AUDIT_FIELDS - LOKI_FIELDS
    link_overrides = [override for override in trail.panel["fieldConfig"]["overrides"]
                      if any(prop["id"] == "links" for prop in override["properties"])]
    renamed_trace = organize["options"]["renameByName"]["trace_id"]
    assert [override["matcher"]["options"] for override in link_overrides] == [renamed_trace]
    link = link_overrides[0]["properties"][0]["value"][0]
    assert link["internal"]["datasourceUid"] == "tempo" and link["internal"]["query"]["query"] == "${__value.raw}"
