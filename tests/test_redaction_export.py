"""End to end: no raw PII byte leaves the process over OTLP/HTTP, whatever produced the telemetry.

Spans and logs from our instrumentation (with content capture on), from an application's own span with PII in
its name, attributes and events, from an exception carrying PII, and from a log line, exported by the real
OTLP/HTTP exporters to a receiver on 127.0.0.1 — set up by hand and with `opentelemetry-instrument`.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest
from opentelemetry.exporter.otlp.proto.http._log_exporter import OTLPLogExporter
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk._logs import LoggerProvider, LoggingHandler
from opentelemetry.sdk._logs.export import BatchLogRecordProcessor
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor

from openrouter_otel import OpenRouterInstrumentor, RedactingLogRecordProcessor, RedactingSpanProcessor
from openrouter_otel import semconv as sc
from tests.apps.pii_app import LOGGER_NAME, leak_everything
from tests.conftest import TEST_API_KEY
from tests.otlp_receiver import OtlpReceiver

APP = Path(__file__).parent / "apps" / "pii_app.py"
PII = {
    "PII_EMAIL": "alice.jones@example.com",
    "PII_PHONE": "+44 20 7946 0958",
    "PII_CARD": "4111 1111 1111 1111",
    "PII_SECRET": "ghp_" + "a1B2c3D4e5" * 4,
}


def assert_no_sensitive_byte(receiver: OtlpReceiver) -> None:
    raw = receiver.raw()
    for value in (*PII.values(), TEST_API_KEY, "4111111111111111", "7946 0958"):
        assert value.encode() not in raw, f"{value!r} reached the exporter"
    assert b"[REDACTED:EMAIL]" in raw  # it went through redaction, not around it


def leak_in_process(tracer_provider: TracerProvider, logger_provider: LoggerProvider, base_url: str) -> None:
    app_logger = logging.getLogger(LOGGER_NAME)
    handler = LoggingHandler(logger_provider=logger_provider)
    app_logger.addHandler(handler)
    try:
        leak_everything(base_url, TEST_API_KEY, PII, tracer_provider)
    finally:
        app_logger.removeHandler(handler)


def otlp_providers(receiver: OtlpReceiver, wrap_by_hand: bool) -> tuple[TracerProvider, LoggerProvider]:
    span_processor = BatchSpanProcessor(OTLPSpanExporter(endpoint=f"{receiver.endpoint}/v1/traces"))
    log_processor = BatchLogRecordProcessor(OTLPLogExporter(endpoint=f"{receiver.endpoint}/v1/logs"))
    if wrap_by_hand:
        span_processor = RedactingSpanProcessor(span_processor)
        log_processor = RedactingLogRecordProcessor(log_processor)
    tracer_provider, logger_provider = TracerProvider(), LoggerProvider()
    tracer_provider.add_span_processor(span_processor)
    logger_provider.add_log_record_processor(log_processor)
    return tracer_provider, logger_provider


@pytest.mark.parametrize("setup", ["instrumentor", "processors-by-hand"])
def test_manual_setup_exports_no_raw_pii(setup, replay_server):
    with OtlpReceiver() as receiver:
        tracer_provider, logger_provider = otlp_providers(receiver, wrap_by_hand=setup == "processors-by-hand")
        instrumentor = OpenRouterInstrumentor()
        instrumentor.instrument(tracer_provider=tracer_provider, logger_provider=logger_provider,
                                meter_provider=MeterProvider(), capture_message_content=True,
                                redaction=setup == "instrumentor")
        try:
            leak_in_process(tracer_provider, logger_provider, replay_server.base_url)
        finally:
            instrumentor.uninstrument()
            tracer_provider.shutdown()
            logger_provider.shutdown()
        assert_exported_everything(receiver)
        assert_no_sensitive_byte(receiver)


def assert_exported_everything(receiver: OtlpReceiver) -> None:
    names = [span.name for span in receiver.spans()]
    assert "chat anthropic/claude-sonnet-4.5" in names and "lookup [REDACTED:EMAIL]" in names and "checkout" in names
    chat = next(span for span in receiver.spans() if span.name.startswith("chat "))
    captured = next(a.value.string_value for a in chat.attributes if a.key == sc.GEN_AI_INPUT_MESSAGES)
    assert "[REDACTED:EMAIL]" in captured and "[REDACTED:PHONE]" in captured
    events = [record.event_name for record in receiver.log_records()]
    assert sc.AUDIT_EVENT_NAME in events and len(receiver.log_records()) >= 2


def test_zero_code_setup_exports_no_raw_pii(replay_server):
    with OtlpReceiver() as receiver:
        env = {
            **os.environ, **PII,
            "APP_BASE_URL": replay_server.base_url,
            "APP_API_KEY": TEST_API_KEY,
            "OTEL_SERVICE_NAME": "pii-app",
            "OTEL_TRACES_EXPORTER": "otlp",
            "OTEL_LOGS_EXPORTER": "otlp",
            "OTEL_METRICS_EXPORTER": "otlp",
            "OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf",
            "OTEL_EXPORTER_OTLP_ENDPOINT": receiver.endpoint,
            "OTEL_PYTHON_LOGGING_AUTO_INSTRUMENTATION_ENABLED": "true",
            sc.ENV_CAPTURE_MESSAGE_CONTENT: "true",
        }
        bin_dir = Path(sys.executable).parent
        completed = subprocess.run([str(bin_dir / "opentelemetry-instrument"), sys.executable, str(APP)],
                                   env=env, capture_output=True, text=True, timeout=120, check=False)
        assert completed.returncode == 0, completed.stderr
        assert "APP-DONE" in completed.stdout
        assert_exported_everything(receiver)
        app_logs = [r for r in receiver.log_records() if "customer" in r.body.string_value]
        assert app_logs and "[REDACTED:EMAIL]" in app_logs[0].body.string_value
        assert_no_sensitive_byte(receiver)
        redaction_metric = [m for request in receiver.decoded("/v1/metrics") for rm in request.resource_metrics
                            for sm in rm.scope_metrics for m in sm.metrics if m.name == sc.METRIC_REDACTIONS]
        assert redaction_metric, "the openrouter.redactions counter was not exported"
