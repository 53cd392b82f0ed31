"""The shipped alert queries over long histories, with Prometheus's rule unit tester (`promtool test rules`).

The real-data tests run for seconds, so every series there is born inside the alert windows. Here
synthetic series span hours: series that counted before the window (their growth inside it is what
counts), series born inside it (counted from zero, so the first 402 or the first call to an unapproved
provider fires), series that stopped changing, and telemetry that stopped arriving.
"""

from __future__ import annotations

import json
from pathlib import Path

from openrouter_otel import semconv as sc
from tests.grafana import grafana_files
from tests.grafana.grafana_files import ERROR_TYPE, MODEL, PROVIDER, SERVED_MODEL, TEAM
from tests.grafana.promtool import run_unit_tests

CALLS = f"{sc.PROM_OPERATION_DURATION}_count"
COST = f"{sc.PROM_COST}_sum"
RULES = {rule["uid"]: rule["data"][0]["model"]["expr"] for rule in grafana_files.rules()}


OTHER_SCOPE = "opentelemetry.instrumentation.openai_v2"


def series(metric: str, values: str, scope: str = sc.INSTRUMENTATION_SCOPE, **labels: str) -> dict:
    """A series as both Prometheus exporters write it, with its instrumentation scope's label."""
    matchers = ", ".join(f'{name}="{value}"' for name, value in {"otel_scope_name": scope, **labels}.items())
    return {"series": f"{metric}{{{matchers}}}", "values": values}


def expect(uid: str, eval_minutes: int, samples: list[tuple[dict[str, str], float]]) -> dict:
    return {"expr": RULES[uid], "eval_time": f"{eval_minutes}m",
            "exp_samples": [{"labels": "{" + ", ".join(f'{k}="{v}"' for k, v in labels.items()) + "}", "value": value}
                            for labels, value in samples]}


def run(tmp_path: Path, input_series: list[dict], tests: list[dict]) -> None:
    test_file = tmp_path / "alert-windows-test.yaml"
    test_file.write_text(json.dumps({"evaluation_interval": "1m", "tests": [
        {"interval": "1m", "input_series": input_series, "promql_expr_test": tests}]}))
    result = run_unit_tests(test_file)
    assert result.returncode == 0, result.stdout + result.stderr


def test_402_counts_growth_of_old_series_and_all_of_new_ones(tmp_path: Path) -> None:
    run(tmp_path, [
        series(CALLS, "0x20 1+1x10", **{ERROR_TYPE: "402", TEAM: "old"}),  # 10 new 402s in the last 10m
        series(CALLS, "_x25 3x5", **{ERROR_TYPE: "402", TEAM: "new"}),  # born 5m ago with 3
        series(CALLS, "7x30", **{ERROR_TYPE: "402", TEAM: "quiet"}),  # nothing new for 30m
    ], [expect("openrouter-credits-exhausted", 30,
               [({TEAM: "old"}, 10), ({TEAM: "new"}, 3), ({TEAM: "quiet"}, 0)])])


def test_error_share_mixes_old_and_new_series_and_leaves_429_402_and_cancelled_out(tmp_path: Path) -> None:
    run(tmp_path, [
        series(CALLS, "0+10x30", **{MODEL: "m"}),  # 100 successes in the window
        series(CALLS, "_x25 20x5", **{MODEL: "m", ERROR_TYPE: "503"}),  # 20 failures, new series
        series(CALLS, "0+3x30", **{MODEL: "m", ERROR_TYPE: "429"}),  # 30 rate limited: not errors here
        series(CALLS, "0+4x30", **{MODEL: "m", ERROR_TYPE: "cancelled"}),  # 40 given up by their callers
        # Another instrumentation's view of calls: not ours to count.
        series(CALLS, "0+50x30", OTHER_SCOPE, **{MODEL: "m", ERROR_TYPE: "503"}),
        series(CALLS, "0+1x30", **{MODEL: "few"}),  # 10 calls, no failure
    ], [expect("openrouter-error-rate", 30, [({MODEL: "m"}, 20 / 190), ({MODEL: "few"}, 0)])])


def test_rate_limited_share_needs_enough_calls(tmp_path: Path) -> None:
    run(tmp_path, [
        series(CALLS, "0+8x30", **{MODEL: "busy"}),
        series(CALLS, "0+2x30", **{MODEL: "busy", ERROR_TYPE: "429"}),
        series(CALLS, "0+0.1x30", **{MODEL: "idle", ERROR_TYPE: "429"}),  # 1 call in 10m: too few
    ], [expect("openrouter-rate-limited", 30, [({MODEL: "busy"}, 0.2)])])


def test_team_budget_divides_the_last_hour_by_the_team_budget(tmp_path: Path, thresholds: dict) -> None:
    default = thresholds["alerts"]["team_hourly_budget"]["default_usd"]
    teams = thresholds["alerts"]["team_hourly_budget"].get("teams") or {}
    team = "unbudgeted-team"
    assert team not in teams
    run(tmp_path, [series(COST, "0+0.5x180", **{TEAM: team})],  # $30 an hour, for three hours
        [expect("openrouter-team-hourly-budget", 180, [({TEAM: team}, 30 / default)])])


def test_unapproved_provider_fires_on_a_first_call_and_forgets_old_ones(tmp_path: Path, thresholds: dict) -> None:
    labels = {SERVED_MODEL: "m", TEAM: "t"}
    run(tmp_path, [
        series(CALLS, "_x28 1x2", **{PROVIDER: "Unvetted Cloud"}, **labels),  # first call ever, 2m ago
        series(CALLS, "5x60", **{PROVIDER: "Old Cloud"}, **labels),  # last call long before the window
        series(CALLS, "0+1x60", **{PROVIDER: thresholds["approved_providers"][0]}, **labels),
    ], [expect("openrouter-unapproved-provider", 30, [({PROVIDER: "Unvetted Cloud", **labels}, 1),
                                                      ({PROVIDER: "Old Cloud", **labels}, 0)])])


def test_no_telemetry_is_zero_once_samples_stop_arriving(tmp_path: Path) -> None:
    run(tmp_path, [series(CALLS, "0+1x10 _x30", **{MODEL: "m"})], [
        expect("openrouter-no-telemetry", 8, [({}, 9)]),
        expect("openrouter-no-telemetry", 35, [({}, 0)]),
    ])
