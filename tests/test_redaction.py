"""The Redactor and the redacting processors: what is replaced, what is kept, and how bad input is handled.

Recall and false positives over the labelled corpus are in test_redaction_corpus.py; export over OTLP in
test_redaction_export.py.
"""

from __future__ import annotations

import re

import pytest
from opentelemetry import trace
from opentelemetry._logs import LogRecord
from opentelemetry.sdk._logs import LoggerProvider
from opentelemetry.sdk._logs.export import InMemoryLogRecordExporter, SimpleLogRecordProcessor
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import Link, Status, StatusCode

from openrouter_otel import OpenRouterInstrumentor, RedactingLogRecordProcessor, RedactingSpanProcessor, Redactor
from openrouter_otel import semconv as sc
from openrouter_otel.redaction import DEPTH_PLACEHOLDER, UNREADABLE_PLACEHOLDER
from openrouter_otel.redaction_processors import install_redaction, uninstall_redaction

EMAIL = "alice.jones@example.com"
CARD = "4111 1111 1111 1111"
KEY = "sk-or-v1-" + "0123456789abcdef" * 4
PII_TEXT = f"mail {EMAIL}, card {CARD}, key {KEY}"

TELEMETRY_VALUES = [
    "gen-1732387200-AbCdEfGhIjKlMnOpQrSt", "sha256:" + "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
    "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7", "123e4567-e89b-12d3-a456-426614174000",
    "2026-11-23T12:30:45.123456Z", "anthropic/claude-4.6-sonnet-20260217", "openai/gpt-4o-2024-08-06",
    "1.45.2", "0.66b2", "0.000273", "429", "https://openrouter.ai/api/v1/chat/completions",
    "chat anthropic/claude-sonnet-4.6", "Amazon Bedrock", "1732387200123456789",
]


def test_each_family_is_replaced_with_its_type():
    redacted = Redactor().redact(PII_TEXT)
    assert redacted == "mail [REDACTED:EMAIL], card [REDACTED:CREDIT_CARD], key [REDACTED:OPENROUTER_API_KEY]"


@pytest.mark.parametrize("value", TELEMETRY_VALUES)
def test_what_telemetry_is_made_of_passes_through_as_the_same_object(value):
    assert Redactor().redact(value) is value


def test_users_add_patterns_and_turn_built_ins_off_by_name():
    redactor = Redactor(disable=["ipv4", "EMAIL"], patterns={"EMPLOYEE_ID": r"EMP-[0-9]{6}"})
    text = f"EMP-123456 from 8.8.8.8 wrote {EMAIL}"
    assert redactor.redact(text) == f"[REDACTED:EMPLOYEE_ID] from 8.8.8.8 wrote {EMAIL}"
    assert "EMAIL" not in redactor.names and "EMPLOYEE_ID" in redactor.names


def test_an_invalid_custom_pattern_is_ignored_with_a_warning(caplog):
    redactor = Redactor(patterns={"BROKEN": "(unclosed"})
    assert "BROKEN" not in redactor.names
    assert "BROKEN" in caplog.text


def test_hash_tokens_keep_equal_values_joinable_without_being_readable():
    redactor = Redactor(hash_key="audit-key")
    first, second = redactor.redact(f"from {EMAIL}"), redactor.redact(f"again {EMAIL}")
    token = re.search(r"\[EMAIL:([0-9a-f]{8})\]", first)
    assert token and EMAIL not in first
    assert token.group(0) in second
    assert Redactor(hash_key="other-key").redact(f"from {EMAIL}") != first
    assert redactor.redact("from bob@example.org") != first


def test_overlapping_findings_are_replaced_as_one_region():
    # A JWT inside a Bearer header: both detectors fire on the same bytes.
    jwt = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U"
    redacted = Redactor().redact(f"Authorization: Bearer {jwt}")
    assert redacted == "Authorization: Bearer [REDACTED:JWT]"


def test_redactions_are_counted_by_type():
    reader = InMemoryMetricReader()
    redactor = Redactor(meter_provider=MeterProvider(metric_readers=[reader]))
    redactor.redact(f"{EMAIL} and bob@example.org and {CARD}")
    points = {}
    for resource_metrics in reader.get_metrics_data().resource_metrics:
        for scope_metrics in resource_metrics.scope_metrics:
            for metric in scope_metrics.metrics:
                if metric.name == sc.METRIC_REDACTIONS:
                    points.update({p.attributes[sc.PII_TYPE]: p.value for p in metric.data.data_points})
    assert points == {"EMAIL": 2, "CREDIT_CARD": 1}


def test_values_of_every_shape_are_redacted_and_unchanged_ones_kept_identical():
    redactor = Redactor()
    body = {"user": EMAIL, "items": [1, 2.5, None, True, ("ok", CARD)], EMAIL: "key is email"}
    redacted = redactor.redact_value(body)
    assert EMAIL not in repr(redacted) and "4111" not in repr(redacted)
    assert redacted["items"][:4] == [1, 2.5, None, True]
    clean = {"model": "openai/gpt-4o", "tokens": [1, 2, 3]}
    assert redactor.redact_value(clean) is clean


def test_bytes_that_are_not_utf8_keep_their_bytes_while_pii_in_them_is_replaced():
    raw = b"\xff\xfe binary " + EMAIL.encode() + b" \x80 end"
    redacted = Redactor().redact_value(raw)
    assert isinstance(redacted, bytes)
    assert redacted == b"\xff\xfe binary [REDACTED:EMAIL] \x80 end"


def test_deeply_nested_bodies_are_cut_off_not_recursed_forever():
    body: object = EMAIL
    for _ in range(500):
        body = {"inner": [body]}
    redacted = Redactor().redact_value(body)
    assert EMAIL not in repr(redacted) and DEPTH_PLACEHOLDER in repr(redacted)


def test_objects_that_cannot_be_read_are_withheld_not_passed_on():
    class Hostile:
        def __str__(self) -> str:
            raise RuntimeError("no")

    class Chatty:
        def __str__(self) -> str:
            return f"user {EMAIL}"

    redactor = Redactor()
    assert redactor.redact_value(Hostile()) == UNREADABLE_PLACEHOLDER
    assert redactor.redact_value(Chatty()) == "user [REDACTED:EMAIL]"


def test_huge_values_are_scanned_up_to_the_cap_and_the_rest_dropped():
    redactor = Redactor(max_chars=100_000)
    text = (f"{EMAIL} " + "lorem ipsum " * 20_000)  # ~240 kB
    redacted = redactor.redact(text)
    assert EMAIL not in redacted
    assert len(redacted) < 100_100 and redacted.endswith("chars]") and "[TRUNCATED:" in redacted


@pytest.mark.parametrize("text", [
    "a" * 200_000 + "@", "@" * 200_000, "1 " * 100_000, "+" + "1-" * 100_000, "sk-" * 70_000,
    "eyJ" + "a." * 100_000, "-----BEGIN PRIVATE KEY-----" + "x" * 200_000, ":" * 200_000, "DE89 " * 40_000,
])
def test_adversarial_values_finish(text):
    assert isinstance(Redactor().redact(text), str)


# --- processors ------------------------------------------------------------------------------------

def _span_pipeline(redactor=None):
    exporter = InMemorySpanExporter()
    provider = TracerProvider(resource=Resource.create({"service.name": "svc", "owner.email": EMAIL}))
    provider.add_span_processor(RedactingSpanProcessor(SimpleSpanProcessor(exporter), redactor))
    return provider, exporter


def test_span_processor_redacts_every_place_text_can_hide():
    provider, exporter = _span_pipeline()
    tracer = provider.get_tracer("t")
    other = tracer.start_span("other")
    with tracer.start_as_current_span(f"lookup {EMAIL}", links=[Link(other.get_span_context(), {"why": CARD})]) as span:
        span.set_attribute("user.email", EMAIL)
        span.set_attribute("cards", [CARD, "fine"])
        span.set_attribute("count", 3)
        span.add_event(f"sent to {EMAIL}", {"detail": KEY})
        span.record_exception(ValueError(f"bad key {KEY}"))
        span.set_status(Status(StatusCode.ERROR, f"failed for {EMAIL}"))
    other.end()
    (exported,) = [s for s in exporter.get_finished_spans() if s.name != "other"]
    everything = repr((exported.name, dict(exported.attributes), [(e.name, dict(e.attributes)) for e in exported.events],
                       [dict(link.attributes) for link in exported.links], exported.status.description,
                       dict(exported.resource.attributes)))
    for secret in (EMAIL, "4111", KEY):
        assert secret not in everything
    assert exported.name == "lookup [REDACTED:EMAIL]"
    assert exported.attributes["cards"] == ("[REDACTED:CREDIT_CARD]", "fine")
    assert exported.attributes["count"] == 3
    exception = exported.events[-1].attributes
    assert exception["exception.message"] == "bad key [REDACTED:OPENROUTER_API_KEY]"
    assert "[REDACTED:OPENROUTER_API_KEY]" in exception["exception.stacktrace"]
    assert exported.context == span.get_span_context() and exported.end_time == span.end_time


def test_a_clean_span_is_passed_on_as_it_is():
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    with provider.get_tracer("t").start_as_current_span("chat openai/gpt-4o") as span:
        span.set_attribute(sc.GEN_AI_RESPONSE_ID, "gen-1732387200-AbCdEfGhIjKlMnOpQrSt")
        span.add_event("gen_ai.choice", {"index": 0})
    finished = exporter.get_finished_spans()[0]
    assert RedactingSpanProcessor(SimpleSpanProcessor(InMemorySpanExporter())).redact_span(finished) is finished


# IP addresses by meaning: kept where the attribute names a machine, redacted (any range) everywhere else.
# (A value shorter than MIN_CANDIDATE_CHARS, such as the loopback `::1` alone, is not scanned at all.)
ADDRESSES = ("10.0.0.5", "192.168.1.20", "127.0.0.1", "169.254.169.254", "8.8.8.8", "fe80::a00:27ff:fe4e:66a1",
             "fd00:ec2::254", "fe80::1", "2001:db8::7", "::ffff:10.0.0.1")


@pytest.mark.parametrize("address", ADDRESSES)
def test_ip_addresses_are_kept_only_in_attributes_that_name_infrastructure(address):
    provider, exporter = _span_pipeline()
    infrastructure = {key: address for key in ("server.address", "network.peer.address", "net.peer.ip",
                                               "net.sock.peer.addr", "server.socket.address", "net.host.ip")}
    people = {"client.address": address, "http.client_ip": address,
              sc.GEN_AI_INPUT_MESSAGES: f'[{{"role": "user", "content": "my laptop is {address}, why?"}}]'}
    with provider.get_tracer("t").start_as_current_span("chat", attributes={**infrastructure, **people}) as span:
        span.record_exception(ConnectionError(f"no route to {address}"))
    (exported,) = exporter.get_finished_spans()
    for key, value in infrastructure.items():
        assert exported.attributes[key] == value, key
    for key in people:
        assert address not in exported.attributes[key] and "[REDACTED:IPV" in exported.attributes[key], key
    assert address not in exported.events[0].attributes["exception.message"]


def test_infrastructure_attributes_are_still_scanned_for_other_pii_and_share_no_clean_memo():
    redactor = Redactor()
    kept = redactor.redact_attributes({"server.address": "10.0.0.5", "network.peer.address": f"{EMAIL}"})
    assert kept == {"server.address": "10.0.0.5", "network.peer.address": "[REDACTED:EMAIL]"}
    # A value kept under server.address is not remembered as clean for the attributes that follow.
    assert redactor.redact_attributes({"client.address": "10.0.0.5"}) == {"client.address": "[REDACTED:IPV4]"}
    assert redactor.redact("login from 10.0.0.5") == "login from [REDACTED:IPV4]"


def test_log_bodies_lose_every_ip_address():
    exporter = InMemoryLogRecordExporter()
    provider = LoggerProvider()
    provider.add_log_record_processor(RedactingLogRecordProcessor(SimpleLogRecordProcessor(exporter)))
    provider.get_logger("t").emit(LogRecord(body="user at 192.168.1.20 via fe80::1ff:fe23:4567:890a%eth0",
                                            attributes={"server.address": "192.168.1.1"}))
    (data,) = exporter.get_finished_logs()
    assert data.log_record.body == "user at [REDACTED:IPV4] via [REDACTED:IPV6]"
    assert data.log_record.attributes["server.address"] == "192.168.1.1"


def test_log_processor_redacts_bodies_of_every_shape_and_attributes():
    exporter = InMemoryLogRecordExporter()
    provider = LoggerProvider()
    provider.add_log_record_processor(RedactingLogRecordProcessor(SimpleLogRecordProcessor(exporter)))
    logger = provider.get_logger("t")
    bodies = [f"user {EMAIL}", {"user": {"email": EMAIL}}, [EMAIL, 1], f"card {CARD}".encode()]
    for body in bodies:
        logger.emit(LogRecord(body=body, attributes={"key": KEY, "n": 1}))
    records = [data.log_record for data in exporter.get_finished_logs()]
    assert len(records) == len(bodies)
    for record in records:
        text = repr((record.body, dict(record.attributes)))
        assert EMAIL not in text and "4111" not in text and KEY not in text
        assert record.attributes["n"] == 1


def test_installing_covers_processors_added_before_and_after_and_counts_each_finding_once():
    reader = InMemoryMetricReader()
    redactor = Redactor(meter_provider=MeterProvider(metric_readers=[reader]))
    before, after = InMemorySpanExporter(), InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(before))
    install_redaction(provider, LoggerProvider(), redactor)
    provider.add_span_processor(SimpleSpanProcessor(after))
    with provider.get_tracer("t").start_as_current_span("s") as span:
        span.set_attribute("email", EMAIL)
    assert before.get_finished_spans()[0].attributes["email"] == "[REDACTED:EMAIL]"
    assert after.get_finished_spans()[0].attributes["email"] == "[REDACTED:EMAIL]"
    counts = [p.value for rm in reader.get_metrics_data().resource_metrics for sm in rm.scope_metrics
              for m in sm.metrics if m.name == sc.METRIC_REDACTIONS for p in m.data.data_points]
    assert counts == [1]

    uninstall_redaction(provider, LoggerProvider())
    with provider.get_tracer("t").start_as_current_span("s") as span:
        span.set_attribute("email", EMAIL)
    assert before.get_finished_spans()[-1].attributes["email"] == EMAIL
    assert after.get_finished_spans()[-1].attributes["email"] == EMAIL


def test_the_instrumentor_installs_redaction_by_default_and_not_when_turned_off(pipelines):
    tracer = pipelines.tracer_provider.get_tracer("app")
    instrumentor = OpenRouterInstrumentor()
    instrumentor.instrument(**pipelines.providers())
    try:
        with tracer.start_as_current_span("app work") as span:
            span.set_attribute("customer", EMAIL)
    finally:
        instrumentor.uninstrument()
    instrumentor.instrument(**pipelines.providers(), redaction=False)
    try:
        with tracer.start_as_current_span("app work") as span:
            span.set_attribute("customer", EMAIL)
    finally:
        instrumentor.uninstrument()
    assert [s.attributes["customer"] for s in pipelines.spans()] == ["[REDACTED:EMAIL]", EMAIL]


def test_redaction_is_configured_from_the_environment(pipelines, monkeypatch):
    monkeypatch.setenv(sc.ENV_REDACTION_DISABLE, "IPV4")
    monkeypatch.setenv(sc.ENV_REDACTION_PATTERNS, '{"TICKET": "TCK-[0-9]{4}"}')
    monkeypatch.setenv(sc.ENV_REDACTION_HASH_KEY, "k")
    instrumentor = OpenRouterInstrumentor()
    instrumentor.instrument(**pipelines.providers())
    try:
        with pipelines.tracer_provider.get_tracer("app").start_as_current_span("s") as span:
            span.set_attribute("note", f"TCK-1234 from 8.8.8.8 by {EMAIL}")
    finally:
        instrumentor.uninstrument()
    note = pipelines.only_span().attributes["note"]
    assert re.fullmatch(r"\[TICKET:[0-9a-f]{8}\] from 8\.8\.8\.8 by \[EMAIL:[0-9a-f]{8}\]", note), note


def test_malformed_pattern_configuration_warns_and_keeps_the_built_ins(pipelines, monkeypatch, caplog):
    monkeypatch.setenv(sc.ENV_REDACTION_PATTERNS, "not json")
    instrumentor = OpenRouterInstrumentor()
    instrumentor.instrument(**pipelines.providers())
    try:
        with pipelines.tracer_provider.get_tracer("app").start_as_current_span("s") as span:
            span.set_attribute("note", EMAIL)
    finally:
        instrumentor.uninstrument()
    assert sc.ENV_REDACTION_PATTERNS in caplog.text
    assert pipelines.only_span().attributes["note"] == "[REDACTED:EMAIL]"


def test_spans_of_the_global_provider_are_redacted_too():
    # Not the SDK's provider (the API's default proxy): nothing to install into, and no error.
    install_redaction(trace.get_tracer_provider(), None, Redactor())
    uninstall_redaction(trace.get_tracer_provider(), None)
