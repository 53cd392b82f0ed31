"""Every PromQL expression we ship parses with Prometheus's own parser (promtool), after Grafana's
variable substitution for dashboard queries."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.grafana import grafana_files
from tests.grafana.grafana_files import Query
from tests.grafana.promtool import parse_error

DASHBOARDS = grafana_files.dashboards()


def substituted(query: Query) -> str:
    values = grafana_files.grafana_values(DASHBOARDS[query.dashboard], range_seconds=86400,
                                          interval_seconds=max(60, query.interval_seconds), scrape_interval_seconds=15)
    return grafana_files.substitute(query.expr, values)


@pytest.mark.parametrize("query", grafana_files.queries("prometheus"), ids=lambda query: query.id)
def test_dashboard_query_parses(query: Query, tmp_path: Path) -> None:
    error = parse_error(substituted(query), tmp_path)
    assert error is None, f"{query.id}:\n{error}"


@pytest.mark.parametrize("rule", grafana_files.rules(), ids=lambda rule: rule["uid"])
def test_alert_query_parses(rule: dict, tmp_path: Path) -> None:
    error = parse_error(rule["data"][0]["model"]["expr"], tmp_path)
    assert error is None, f"{rule['uid']}:\n{error}"


def test_parse_check_rejects_broken_promql(tmp_path: Path) -> None:
    assert parse_error("sum(rate(x[5m])", tmp_path) is not None
    assert parse_error("sum by (le) (rate(x[5m]))", tmp_path) is None
