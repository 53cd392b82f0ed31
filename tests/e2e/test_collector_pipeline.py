"""The shipped collector config, end to end: two apps under `opentelemetry-instrument` send OTLP/HTTP to the built
collector, Prometheus scrapes it, and two OTLP receivers stand in for Tempo and Loki.

`billing-app` runs with the SDK's redaction (the default); `legacy-app` runs with it off and leaks PII every way
it can, so what reaches the backends from it is clean only because of the collector's own redaction stage.
"""

from __future__ import annotations

import json
import math
import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

import pytest

from openrouter_otel import semconv as sc
from openrouter_otel.redaction import BUILTIN_NAMES
from tests.conftest import TEST_API_KEY
from tests.e2e.otlp_json import LogRecord, log_records
from tests.e2e.services import Collector, Prometheus, http_get, instrumented_env, run_instrumented, wait_until
from tests.e2e.workload import APP, PII, PII_FRAGMENTS, AppCall, app_calls, mixed_plan, write_plan
from tests.otlp_receiver import OtlpReceiver

pytestmark = pytest.mark.e2e

REDACTING_APP = "billing-app"
LEAKING_APP = "legacy-app"
CALL_LABELS = ("gen_ai_request_model", "gen_ai_response_model", "openrouter_provider", "openrouter_team", "error_type")


@dataclass
class Stack:
    collector: Collector
    prometheus: Prometheus
    tempo: OtlpReceiver
    loki: OtlpReceiver
    calls: dict[str, list[tuple[dict[str, Any], AppCall]]]  # per service: (plan step, what the app saw)

    def all_calls(self) -> list[tuple[str, dict[str, Any], AppCall]]:
        return [(service, step, call) for service, pairs in self.calls.items() for step, call in pairs]

    def audit_records(self) -> list[LogRecord]:
        return log_records(self.collector.audit_lines())


def run_app(stack_dir: Path, collector: Collector, base_url: str, service: str, start: int,
            extra: dict[str, str]) -> list[tuple[dict[str, Any], AppCall]]:
    plan = mixed_plan(start)
    env = instrumented_env(collector.otlp_http_endpoint, service, {
        "APP_BASE_URL": base_url,
        "APP_API_KEY": TEST_API_KEY,
        "APP_PLAN": str(write_plan(stack_dir / f"{service}-plan.json", plan)),
        sc.ENV_CAPTURE_MESSAGE_CONTENT: "true",
        **extra,
    })
    calls = app_calls(run_instrumented(APP, env))
    assert len(calls) == len(plan)
    return list(zip(plan, calls))


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory, replay_server: Any) -> Iterator[Stack]:
    stack_dir = tmp_path_factory.mktemp("stack")
    with OtlpReceiver() as tempo, OtlpReceiver() as loki:
        backends = {"OTELCOL_TEMPO_ENDPOINT": tempo.endpoint, "OTELCOL_LOKI_ENDPOINT": loki.endpoint}
        with Collector(stack_dir / "collector", backends) as collector, \
                Prometheus([collector.prometheus_target], stack_dir / "prometheus") as prometheus:
            calls = {
                REDACTING_APP: run_app(stack_dir, collector, replay_server.base_url, REDACTING_APP, 0, {}),
                LEAKING_APP: run_app(stack_dir, collector, replay_server.base_url, LEAKING_APP, 100, {
                    sc.ENV_REDACTION: "false",
                    "APP_LEAK": json.dumps(PII),
                    "OTEL_RESOURCE_ATTRIBUTES": f"owner.email={PII['email']}",
                }),
            }
            stack = Stack(collector, prometheus, tempo, loki, calls)
            wait_for_everything(stack)
            yield stack


def wait_for_everything(stack: Stack) -> None:
    total = len(stack.all_calls())
    wait_until(lambda: len(stack.audit_records()) >= total, 30, f"{total} audit records in the file")
    wait_until(lambda: len(loki_audit_records(stack)) >= total and any(is_app_log(r) for r in stack.loki.log_records()),
               30, f"{total} audit records and the app's log at Loki")
    wait_until(lambda: len(chat_spans(stack)) >= total and
               "summarize" in {span.name for span in spans_of(stack.tempo, LEAKING_APP)},
               30, f"{total} chat spans and the app's own spans at Tempo")
    stack.prometheus.wait_for(f"sum({sc.PROM_OPERATION_DURATION}_count)", timeout=30,
                              predicate=lambda result: bool(result) and float(result[0]["value"][1]) == total)


def tempo_resources(tempo: OtlpReceiver) -> list[Any]:
    return [resource_spans.resource for request in tempo.decoded("/v1/traces")
            for resource_spans in request.resource_spans]


def service_of(resource: Any) -> str:
    return next(a.value.string_value for a in resource.attributes if a.key == "service.name")


def spans_of(tempo: OtlpReceiver, service: str) -> list[Any]:
    return [span for request in tempo.decoded("/v1/traces") for resource_spans in request.resource_spans
            if service_of(resource_spans.resource) == service
            for scope_spans in resource_spans.scope_spans for span in scope_spans.spans]


def chat_spans(stack: Stack) -> list[Any]:
    return [span for service in stack.calls for span in spans_of(stack.tempo, service)
            if span.name.startswith(f"{sc.OPERATION_CHAT} ")]


def loki_audit_records(stack: Stack) -> list[Any]:
    return [record for record in stack.loki.log_records() if record.event_name == sc.AUDIT_EVENT_NAME]


def is_app_log(record: Any) -> bool:
    return record.body.string_value.startswith("customer ")


def proto_attributes(attributes: Any) -> dict[str, Any]:
    return {a.key: getattr(a.value, a.value.WhichOneof("value")) for a in attributes}


def value(result: list[dict]) -> float:
    return sum(float(sample["value"][1]) for sample in result)


# --- Prometheus ----------------------------------------------------------------------------------------

def test_prometheus_serves_every_metric_under_its_design_name(stack: Stack):
    for name in (f"{sc.PROM_OPERATION_DURATION}_count", f"{sc.PROM_OPERATION_DURATION}_bucket",
                 f"{sc.PROM_TOKEN_USAGE}_sum", f"{sc.PROM_COST}_sum", f"{sc.PROM_TIME_TO_FIRST_CHUNK}_count",
                 sc.PROM_REDACTIONS):
        assert stack.prometheus.query(name), f"{name} is not in Prometheus"


def test_every_call_is_counted_once_with_its_models_provider_team_and_error(stack: Stack):
    series = stack.prometheus.query(
        f"sum by (service_name, job, {', '.join(CALL_LABELS)}) ({sc.PROM_OPERATION_DURATION}_count)")
    counted = Counter({tuple(s["metric"].get(label, "") for label in ("service_name", *CALL_LABELS)):
                       float(s["value"][1]) for s in series})
    expected = Counter(call_labels(service, step, call) for service, step, call in stack.all_calls())
    assert counted == expected
    assert all(s["metric"]["job"] == s["metric"]["service_name"] for s in series)


def call_labels(service: str, step: dict[str, Any], call: AppCall) -> tuple[str, ...]:
    requested = step["kwargs"]["model"]
    if call.error:
        return service, requested, "", "", call.team, call.error
    return service, requested, call.model or "", call.provider or "", call.team, ""


def test_prometheus_cost_equals_the_sum_of_the_responses_usage_cost(stack: Stack):
    costs = [call.cost for _, _, call in stack.all_calls() if call.cost is not None]
    assert len(costs) >= 10
    assert math.isclose(value(stack.prometheus.query(f"sum({sc.PROM_COST}_sum)")), sum(costs), rel_tol=1e-9)
    assert value(stack.prometheus.query(f"sum({sc.PROM_COST}_count)")) == len(costs)
    by_team = stack.prometheus.query(f"sum by (openrouter_team) ({sc.PROM_COST}_sum)")
    for sample in by_team:
        team = sample["metric"]["openrouter_team"]
        team_costs = [call.cost for _, _, call in stack.all_calls() if call.team == team and call.cost is not None]
        assert math.isclose(float(sample["value"][1]), sum(team_costs), rel_tol=1e-9), team


def test_prometheus_token_sums_equal_the_responses_usage(stack: Stack):
    calls = [call for _, _, call in stack.all_calls()]
    for token_type, counts in ((sc.TOKEN_TYPE_INPUT, [c.input_tokens for c in calls]),
                               (sc.TOKEN_TYPE_OUTPUT, [c.output_tokens for c in calls])):
        recorded = stack.prometheus.query(f'sum({sc.PROM_TOKEN_USAGE}_sum{{gen_ai_token_type="{token_type}"}})')
        assert value(recorded) == sum(count for count in counts if count is not None), token_type


# --- the audit file ------------------------------------------------------------------------------------

def test_audit_file_holds_exactly_one_record_per_call(stack: Stack):
    records = stack.audit_records()
    assert {record.event_name for record in records} == {sc.AUDIT_EVENT_NAME}
    for service, pairs in stack.calls.items():
        recorded = Counter(audit_identity(record) for record in records if record.resource["service.name"] == service)
        made = Counter((call.id, call.team, call.error) for _, call in pairs)
        assert recorded == made, service


def audit_identity(record: LogRecord) -> tuple[Any, ...]:
    attributes = record.attributes
    return attributes.get(sc.GEN_AI_RESPONSE_ID), attributes.get(sc.OPENROUTER_TEAM), attributes.get(sc.ERROR_TYPE)


def test_audit_records_carry_every_audit_field(stack: Stack):
    allowed = set(sc.AUDIT_ATTRIBUTE_KEYS)
    for record in stack.audit_records():
        attributes = record.attributes
        assert set(sc.AUDIT_REQUIRED_KEYS) <= attributes.keys(), attributes
        extras = attributes.keys() - allowed
        assert all(key.startswith(sc.OPENROUTER_AUDIT_PREFIX) for key in extras), extras
        assert re.fullmatch(r"[0-9a-f]{32}", record.trace_id) and re.fullmatch(r"[0-9a-f]{16}", record.span_id)
        if attributes[sc.OPENROUTER_STATUS] == "ok":
            for key in (sc.GEN_AI_RESPONSE_ID, sc.GEN_AI_RESPONSE_MODEL, sc.OPENROUTER_PROVIDER,
                        sc.GEN_AI_USAGE_INPUT_TOKENS, sc.GEN_AI_USAGE_OUTPUT_TOKENS, sc.GEN_AI_USAGE_COST,
                        sc.OPENROUTER_COST_SOURCE, sc.OPENROUTER_TEAM):
                assert key in attributes, (key, attributes)
        else:
            assert sc.ERROR_TYPE in attributes, attributes


def test_collector_redaction_leaves_audit_values_intact(stack: Stack):
    """Generation ids, served models, providers, costs, tokens, prompt hashes and key fingerprints pass through the
    collector's redaction stage unchanged, and each record points at its call's span."""
    records = {(r.resource["service.name"], r.attributes.get(sc.GEN_AI_RESPONSE_ID)): r for r in stack.audit_records()}
    for service, _, call in stack.all_calls():
        if call.error:
            continue
        attributes = records[service, call.id].attributes
        assert (attributes[sc.GEN_AI_RESPONSE_MODEL], attributes[sc.OPENROUTER_PROVIDER]) == (call.model, call.provider)
        assert attributes[sc.GEN_AI_USAGE_COST] == call.cost
        assert (attributes[sc.GEN_AI_USAGE_INPUT_TOKENS], attributes[sc.GEN_AI_USAGE_OUTPUT_TOKENS]) == (
            call.input_tokens, call.output_tokens)
        assert re.fullmatch(r"sha256:[0-9a-f]{64}", attributes[sc.OPENROUTER_PROMPT_HASH])
        assert re.fullmatch(r"[0-9a-f]{12}", attributes[sc.OPENROUTER_API_KEY_FINGERPRINT])
    span_ids = {(span.trace_id.hex(), span.span_id.hex())
                for service in stack.calls for span in spans_of(stack.tempo, service)}
    assert all((record.trace_id, record.span_id) in span_ids for record in stack.audit_records())


# --- Tempo and Loki ------------------------------------------------------------------------------------

def test_traces_go_to_tempo_and_logs_to_loki(stack: Stack):
    assert stack.tempo.bodies["/v1/traces"] and not stack.tempo.bodies["/v1/logs"]
    assert stack.loki.bodies["/v1/logs"] and not stack.loki.bodies["/v1/traces"]
    assert len(chat_spans(stack)) == len(stack.all_calls())
    assert len(loki_audit_records(stack)) == len(stack.all_calls())
    assert any(is_app_log(record) for record in stack.loki.log_records())


# --- PII -----------------------------------------------------------------------------------------------

def everything_exported(stack: Stack) -> dict[str, bytes]:
    """Every byte the collector handed on or served, by where it went."""
    series = stack.prometheus.api("series", **{"match[]": '{__name__=~".+"}'})
    return {
        "audit file": b"".join(path.read_bytes() for path in stack.collector.audit_files()),
        "Prometheus": json.dumps(series).encode(),
        "collector /metrics": http_get(stack.collector.metrics_url)[1],
        "Tempo": stack.tempo.raw(),
        "Loki": stack.loki.raw(),
        "collector log": stack.collector.log_tail(10**7).encode(),
    }


def test_no_raw_pii_or_api_key_leaves_the_collector(stack: Stack):
    for where, data in everything_exported(stack).items():
        for secret in (*PII.values(), *PII_FRAGMENTS, TEST_API_KEY):
            assert secret.encode() not in data, f"{secret!r} reached the {where}"
        # JSON writers escape newlines: the private key must not be there in that form either.
        assert json.dumps(PII["private_key"]).encode() not in data, where


def test_collector_redacts_every_pii_type_from_an_app_without_sdk_redaction(stack: Stack):
    summarize = next(span for span in spans_of(stack.tempo, LEAKING_APP) if span.name == "summarize")
    prompt = proto_attributes(summarize.attributes)["app.prompt"]
    missing = [name for name in BUILTIN_NAMES if f"[REDACTED:{name}]" not in prompt]
    assert not missing, prompt


def test_collector_redacts_span_names_attributes_events_and_resources(stack: Stack):
    spans = {span.name: span for span in spans_of(stack.tempo, LEAKING_APP)}
    lookup = spans["lookup [REDACTED:EMAIL]"]
    attributes = proto_attributes(lookup.attributes)
    assert attributes["customer.phone"] == "[REDACTED:PHONE]"
    assert attributes["customer.ssn"] == "[REDACTED:US_SSN]"
    assert attributes["deploy.token"] == "[REDACTED:OPENROUTER_API_KEY]"
    assert attributes["payment.card_number"] == "****"  # an integer: caught by the redaction processor
    for masked in ("http.request.header.authorization", "client.addresses"):  # string arrays: likewise
        assert isinstance(attributes[masked], str) and "****" in attributes[masked], masked
    charged = proto_attributes(lookup.events[0].attributes)
    assert charged == {"card": "[REDACTED:CREDIT_CARD]", "iban": "[REDACTED:IBAN]"}
    exception = proto_attributes(spans["checkout"].events[0].attributes)
    for key in ("exception.message", "exception.stacktrace"):
        assert "[REDACTED:EMAIL]" in exception[key] and "[REDACTED:AWS_ACCESS_KEY_ID]" in exception[key]
    resources = [proto_attributes(r.attributes) for r in tempo_resources(stack.tempo)]
    assert {"owner.email": "[REDACTED:EMAIL]"}.items() <= next(r for r in resources if "owner.email" in r).items()


def test_collector_redacts_log_bodies_log_attributes_and_metric_labels(stack: Stack):
    log = next(record for record in stack.loki.log_records() if is_app_log(record))
    assert log.body.string_value == (
        "customer [REDACTED:EMAIL] called from [REDACTED:PHONE] with token [REDACTED:GITHUB_TOKEN]")
    attributes = proto_attributes(log.attributes)
    assert (attributes["customer.jwt"], attributes["customer.iban"]) == ("[REDACTED:JWT]", "[REDACTED:IBAN]")
    lookups = stack.prometheus.wait_for("app_lookups_total")
    assert [sample["metric"]["customer_email"] for sample in lookups] == ["[REDACTED:EMAIL]"]
    owners = {s["metric"].get("owner_email") for s in stack.prometheus.query("target_info")}
    assert "[REDACTED:EMAIL]" in owners
