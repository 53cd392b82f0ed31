"""The collector's redaction stage, value by value, on the real collector: PII and secrets become the SDK's
`[REDACTED:<TYPE>]` tokens (the same text the SDK's Redactor produces), and the values telemetry is made of
pass through unchanged, in span names, span attributes, span event attributes, log bodies and log attributes."""

from __future__ import annotations

from typing import Any, Iterator

import pytest
from opentelemetry.exporter.otlp.proto.http._log_exporter import OTLPLogExporter
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk._logs import LoggerProvider
from opentelemetry.sdk._logs.export import SimpleLogRecordProcessor
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor

from openrouter_otel.redaction import Redactor
from tests.e2e.services import Collector, wait_until
from tests.otlp_receiver import OtlpReceiver

pytestmark = pytest.mark.e2e

# (text, the type it must be redacted as)
FINDINGS = (
    ("alice.jones@example.com", "EMAIL"),
    ("+44 20 7946 0958", "PHONE"),
    ("(415) 555-0132", "PHONE"),
    ("020 7946 0958", "PHONE"),
    ("06 12 34 56 78", "PHONE"),
    ("4111 1111 1111 1111", "CREDIT_CARD"),
    ("5555-5555-5555-4444", "CREDIT_CARD"),
    ("378282246310005", "CREDIT_CARD"),
    ("219-09-9999", "US_SSN"),
    ("DE89 3704 0044 0532 0130 00", "IBAN"),
    ("GB82WEST12345698765432", "IBAN"),
    ("8.8.4.4", "IPV4"),
    ("2001:db8::7", "IPV6"),
    ("sk-or-v1-0123456789abcdef0123456789abcdef", "OPENROUTER_API_KEY"),
    ("sk-proj-Ab3dE5gH7jK9mN1pQ3sT5vW7yZ9bC1", "OPENAI_API_KEY"),
    ("sk-ant-api03-Zx9Yw8Vu7Ts6Rq5Po4Nm3Lk2", "ANTHROPIC_API_KEY"),
    ("AKIAIOSFODNN7EXAMPLE", "AWS_ACCESS_KEY_ID"),
    ("ghp_" + "a1B2c3D4e5" * 4, "GITHUB_TOKEN"),
    ("xoxb-1234567890-abcdefghijkl", "SLACK_TOKEN"),
    ("eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2lnbmF0dXJlLXNpZ25hdHVyZQ", "JWT"),
    ("-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA\n-----END RSA PRIVATE KEY-----", "PRIVATE_KEY"),
)
BEARER = ("Authorization: Bearer tok3n5ecretvalue0123", "Authorization: Bearer [REDACTED:BEARER_TOKEN]")

# What telemetry is made of: none of it may change.
TELEMETRY_VALUES = (
    "gen-1767761758-xrHVZNWuYcIilpSLD1oj",
    "4bf92f3577b34da6a3ce929d0e0e4736",
    "00f067aa0ba902b7",
    "123e4567-e89b-12d3-a456-426614174000",
    "sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
    "hmac-sha256:3a7bd3e2360a3d29eea436fcfb7e44c735d117c42d1c1835420b6b9942dd4f1b",
    "anthropic/claude-4.6-sonnet-20260217",
    "google/gemini-2.5-flash",
    "chat anthropic/claude-sonnet-4.5",
    "2026-02-17T12:30:45.123456789Z",
    "2026-02-17 12:30:45,123",
    "Sun, 17 Feb 2026 12:30:45 GMT",
    "1718000000123456789",
    "0.5123456789012345",
    "cost=0.000123456789012345 latency=1.234567890123 tokens=123456",
    "127.0.0.1",
    "10.0.0.5",
    "192.168.1.20",
    "172.16.5.4",
    "::1",
    "fe80::1",
    "fd00::1",
    "1.30.0",
    "3f9a1c2b4d5e",
    "http://127.0.0.1:43123/api/v1/chat/completions",
    "https://openrouter.ai/api/v1",
    "Bearer instruments are a risk",
    "Amazon Bedrock",
    "[REDACTED:EMAIL]",
)

SAMPLES = [text for text, _ in FINDINGS] + [BEARER[0]] + list(TELEMETRY_VALUES)


def in_a_sentence(text: str) -> str:
    return f"Kunde / client: {text} (bitte prüfen)"


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[dict[str, Any], list[Any]]]:
    """One span and one log record per sample, sent straight to the collector; what came out at Tempo and Loki."""
    with OtlpReceiver() as tempo, OtlpReceiver() as loki, Collector(
            tmp_path_factory.mktemp("redaction"),
            {"OTELCOL_TEMPO_ENDPOINT": tempo.endpoint, "OTELCOL_LOKI_ENDPOINT": loki.endpoint}) as collector:
        send(collector.otlp_http_endpoint, SAMPLES)
        wait_until(lambda: len(tempo.spans()) >= len(SAMPLES) and len(loki.log_records()) >= len(SAMPLES),
                   30, "every sample at Tempo and Loki")
        yield {attribute_text(span.attributes)["sample.index"]: span for span in tempo.spans()}, loki.log_records()


def send(endpoint: str, samples: list[str]) -> None:
    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(SimpleSpanProcessor(OTLPSpanExporter(endpoint=f"{endpoint}/v1/traces")))
    logger_provider = LoggerProvider()
    logger_provider.add_log_record_processor(SimpleLogRecordProcessor(OTLPLogExporter(endpoint=f"{endpoint}/v1/logs")))
    logger = logger_provider.get_logger("redaction-samples")
    tracer = tracer_provider.get_tracer("redaction-samples")
    for index, sample in enumerate(samples):
        # sample.index finds the sample again whatever happened to the rest.
        with tracer.start_as_current_span(sample, attributes={"sample.index": str(index), "sample.value": sample,
                                                              "sample.sentence": in_a_sentence(sample)}) as span:
            span.add_event("sample", {"sample.value": sample})
        logger.emit(body=in_a_sentence(sample), attributes={"sample.value": sample})
    tracer_provider.shutdown()
    logger_provider.shutdown()


def attribute_text(attributes: Any) -> dict[str, str]:
    return {a.key: a.value.string_value for a in attributes}


def span_text(exported: Any, text: str) -> dict[str, str]:
    """What became of the sample `text` in the span sent for it: its name, attributes and event attribute."""
    spans, _ = exported
    span = spans[str(SAMPLES.index(text))]
    attributes = attribute_text(span.attributes)
    return {"name": span.name, "value": attributes["sample.value"], "sentence": attributes["sample.sentence"],
            "event": attribute_text(span.events[0].attributes)["sample.value"]}


@pytest.mark.parametrize(("text", "kind"), FINDINGS, ids=[kind for _, kind in FINDINGS])
def test_pii_becomes_the_sdk_token_everywhere(exported, text, kind):
    token = f"[REDACTED:{kind}]"
    assert span_text(exported, text) == {
        "name": token, "value": token, "sentence": in_a_sentence(token), "event": token}
    assert Redactor().redact(in_a_sentence(text)) == in_a_sentence(token)  # the SDK says the same


def test_bearer_token_is_redacted_after_the_word_bearer(exported):
    text, expected = BEARER
    assert span_text(exported, text)["value"] == expected


@pytest.mark.parametrize("text", TELEMETRY_VALUES)
def test_telemetry_values_pass_unchanged(exported, text):
    assert span_text(exported, text) == {
        "name": text, "value": text, "sentence": in_a_sentence(text), "event": text}


def test_log_bodies_and_attributes_are_redacted_alike(exported):
    _, records = exported
    logged = {(r.body.string_value, attribute_text(r.attributes)["sample.value"]) for r in records}
    for text, kind in FINDINGS:
        token = f"[REDACTED:{kind}]"
        assert (in_a_sentence(token), token) in logged, kind
    for text in TELEMETRY_VALUES:
        assert (in_a_sentence(text), text) in logged, text
