"""Fixtures of the Grafana tests: the shipped files, and three real telemetry environments built once.

- silent:   a collector and a Prometheus, and no LLM call at all;
- healthy:  ordinary traffic with near misses, where no alert rule may fire;
- incident: ordinary traffic plus one incident per alert rule.
Healthy and incident also carry a second instrumentation scope's copy of every call (same metric names),
and healthy a model whose calls were nearly all cancelled by their callers.
Each is app -> collector (the shipped config) -> Prometheus; building all three takes well under a minute,
most of it the latency incident's deliberately slow calls.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator

import pytest

from openrouter_otel.server.replay import ReplayServer
from tests.grafana import grafana_files
from openrouter_otel import semconv as sc
from tests.grafana.scenarios import (
    HEALTHY_KEY,
    INCIDENT_KEY,
    cancelled_calls,
    healthy_calls,
    incident_calls,
    key_profiles,
)
from tests.grafana.alertmanager import Alertmanager, Webhook, rule_file_for_tests
from tests.grafana.telemetry import OTHER_SCOPE, SCRAPE_INTERVAL_S, Environment, open_environment

# The generator package lives beside the files it writes, not in the installed distribution.
sys.path.insert(0, str(grafana_files.GRAFANA_DIR))

ENVIRONMENTS = ("silent", "healthy", "incident")


@pytest.fixture(scope="session")
def thresholds() -> dict:
    return grafana_files.thresholds()


@pytest.fixture(scope="session")
def replay() -> Iterator[ReplayServer]:
    with ReplayServer() as server:
        yield server


@pytest.fixture(scope="session")
def webhook() -> Iterator[Webhook]:
    receiver = Webhook()
    yield receiver
    receiver.close()


@pytest.fixture(scope="session")
def alertmanager(tmp_path_factory: pytest.TempPathFactory, webhook: Webhook) -> Iterator[Alertmanager]:
    manager = Alertmanager(tmp_path_factory.mktemp("alertmanager"), webhook.url).start()
    yield manager
    manager.stop()


@pytest.fixture(scope="session")
def environments(tmp_path_factory: pytest.TempPathFactory, replay: ReplayServer, thresholds: dict,
                 alertmanager: Alertmanager) -> Iterator[dict[str, Environment]]:
    workdir = tmp_path_factory.mktemp("grafana-real-data")
    # Each Prometheus also evaluates the generated Prometheus alerting rules and sends them to Alertmanager.
    alerting = {"rule_files": [rule_file_for_tests(workdir, f"{SCRAPE_INTERVAL_S:g}s")],
                "alertmanager": alertmanager.address}
    opened: dict[str, Environment] = {}
    try:
        for name in ENVIRONMENTS:
            opened[name] = open_environment(name, workdir / name, **alerting)
        # Under the policy file the alerts are generated from: its violations counter feeds the policy rules.
        policy = str(grafana_files.policy_file())
        keys = key_profiles(thresholds)
        for key, (profile, _) in keys.items():
            replay.register_key(key, profile)

        def key_metrics(key: str) -> dict:
            """The settings polling `key`'s credit, and its drain while still polled."""
            return {"key_metrics": True, "key_metrics_interval": 3600,
                    "while_instrumented": lambda environment: environment.drain_key(replay, key, keys[key][1])}

        opened["healthy"].record(replay, healthy_calls(thresholds), capture_message_content=True, policy=policy,
                                 **key_metrics(HEALTHY_KEY))
        opened["healthy"].emit(sc.INSTRUMENTATION_SCOPE, cancelled_calls(thresholds))
        opened["incident"].record(replay, incident_calls(thresholds), capture_message_content=True, policy=policy,
                                  **key_metrics(INCIDENT_KEY))
        # A second instrumentation in the same processes, recording the same calls under the same metric
        # names: no rule or panel may count them.
        for name in ("healthy", "incident"):
            opened[name].emit(OTHER_SCOPE, opened[name].calls)
        opened["silent"].wait_until_scraped()
        yield opened
    finally:
        for environment in opened.values():
            environment.close()


@pytest.fixture(scope="session")
def silent(environments: dict[str, Environment]) -> Environment:
    return environments["silent"]


@pytest.fixture(scope="session")
def healthy(environments: dict[str, Environment]) -> Environment:
    return environments["healthy"]


@pytest.fixture(scope="session")
def incident(environments: dict[str, Environment]) -> Environment:
    return environments["incident"]
