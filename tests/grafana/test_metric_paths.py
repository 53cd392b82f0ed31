"""The dashboards work whichever way metrics reach Prometheus: through the collector (the ops path the other
real-data tests use) or straight from the process with opentelemetry-exporter-prometheus. Both must write
the same metric names and the same labels, apart from the labels that say where a series came from."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from openrouter_otel import semconv as sc
from openrouter_otel.server.replay import ReplayServer
from tests.grafana import grafana_files
from tests.grafana.scenarios import ordinary_calls
from tests.grafana.telemetry import Call, CollectorPath, DirectPath, Environment, calls_of, open_environment

# Labels that tell where a series came from, not what it measures.
ORIGIN_LABELS = {"__name__", "job", "instance", "service_name", "service_namespace", "deployment_environment_name",
                 "otel_scope_name", "otel_scope_version", "otel_scope_schema_url"}


def calls(thresholds: dict) -> list[Call]:
    approved = thresholds["approved_providers"]
    return [*ordinary_calls(approved), Call("openai/gpt-4o", "support", provider=approved[0], status=429),
            Call("openai/gpt-4o", "support", provider=approved[0], prompt="Mail ops@example.com")]


@pytest.fixture(scope="module")
def both_paths(tmp_path_factory: pytest.TempPathFactory, replay: ReplayServer,
               thresholds: dict) -> Iterator[dict[str, Environment]]:
    workdir: Path = tmp_path_factory.mktemp("metric-paths")
    opened = {}
    try:
        for name, path_class in (("collector", CollectorPath), ("direct", DirectPath)):
            opened[name] = open_environment(f"path-{name}", workdir / name, path_class)
        for environment in opened.values():
            environment.record(replay, calls(thresholds), capture_message_content=True)
        yield opened
    finally:
        for environment in opened.values():
            environment.close()


def series_shapes(environment: Environment) -> set[tuple[str, frozenset[str]]]:
    """(metric name, label names but the origin ones) of every series of ours."""
    series = environment.prometheus.api("series", **{"match[]": grafana_files.ALL_DESIGN_SERIES})
    return {(item["__name__"], frozenset(set(item) - ORIGIN_LABELS)) for item in series}


def test_both_paths_write_the_same_metric_names_and_labels(both_paths: dict[str, Environment]) -> None:
    collector, direct = (series_shapes(both_paths[name]) for name in ("collector", "direct"))
    assert collector and collector == direct


def test_both_paths_count_the_same(both_paths: dict[str, Environment]) -> None:
    for expr in (f"sum({sc.PROM_OPERATION_DURATION}_count)", f"sum({sc.PROM_COST}_sum)",
                 f"sum by (pii_type) ({sc.PROM_REDACTIONS})"):
        values = [both_paths[name].prometheus.query(expr) for name in ("collector", "direct")]
        assert values[0] and [item["metric"] for item in values[0]] == [item["metric"] for item in values[1]], expr
        assert float(values[0][0]["value"][1]) == pytest.approx(float(values[1][0]["value"][1])), expr


def test_both_paths_label_our_series_with_the_scope_the_queries_select(both_paths: dict[str, Environment]) -> None:
    """Every dashboard and rule selects `otel_scope_name="openrouter_otel"`: both exporters must write it."""
    for name, environment in both_paths.items():
        scopes = environment.prometheus.api("label/otel_scope_name/values",
                                            **{"match[]": grafana_files.ALL_DESIGN_SERIES})
        assert scopes == [sc.INSTRUMENTATION_SCOPE], name
        (total,) = environment.prometheus.query(f"sum({calls_of(sc.INSTRUMENTATION_SCOPE)})")
        assert float(total["value"][1]) == len(environment.calls), name
