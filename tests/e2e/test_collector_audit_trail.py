"""The audit trail: no record is lost, and none is written twice, when the collector is killed mid-run and
restarted while Loki is down (collector-config/README.md, "Delivery guarantees", says what this proves and what it
does not); and rotation moves records to dated files without losing or splitting one.

"Killed" is SIGKILL: no shutdown hook runs, nothing is flushed. What makes that survivable:
- the audit pipeline has no batch processor and the file exporter (with rotation) writes unbuffered, so the OTLP
  receiver acknowledges a request only after its records are in the file;
- what the collector has not acknowledged, the app's OTLP exporter retries (OTEL_EXPORTER_OTLP_TIMEOUT gives it
  time to outlast the restart);
- records for Loki wait in the persistent sending queue (file_storage) until Loki is back, across the restart.
"""

from __future__ import annotations

import re
import signal
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from opentelemetry.exporter.otlp.proto.http._log_exporter import OTLPLogExporter
from opentelemetry.sdk._logs import LoggerProvider
from opentelemetry.sdk._logs.export import SimpleLogRecordProcessor

from openrouter_otel import semconv as sc
from tests.conftest import TEST_API_KEY
from tests.e2e.workload import APP, app_calls, chat_plan, write_plan
from tests.e2e.otlp_json import log_records
from tests.e2e.services import Collector, Process, free_port, instrumented_argv, instrumented_env, wait_until
from tests.otlp_receiver import OtlpReceiver

pytestmark = pytest.mark.e2e

CALLS = 60
PACE_S = 0.05  # the app runs for a few seconds: long enough to kill the collector in the middle of it
KILL_AFTER_S = 0.7
DOWNTIME_S = 1.5


def audit_ids(collector: Collector) -> Counter[str]:
    return Counter(record.attributes[sc.GEN_AI_RESPONSE_ID] for record in log_records(collector.audit_lines()))


def made_while_down(collector: Collector, down: tuple[int, int]) -> int:
    """Audit records of calls that ended while the collector was down: they arrived only through the app's retry."""
    return sum(down[0] < record.time_unix_nano < down[1] for record in log_records(collector.audit_lines()))


def loki_audit_ids(loki: OtlpReceiver) -> set[str]:
    return {next(a.value.string_value for a in record.attributes if a.key == sc.GEN_AI_RESPONSE_ID)
            for record in loki.log_records() if record.event_name == sc.AUDIT_EVENT_NAME}


def app_process(tmp_path: Path, collector: Collector, base_url: str) -> Process:
    env = instrumented_env(collector.otlp_http_endpoint, "restart-app", {
        "APP_BASE_URL": base_url,
        "APP_API_KEY": TEST_API_KEY,
        "APP_PLAN": str(write_plan(tmp_path / "plan.json", chat_plan(CALLS))),
        "APP_PACE_S": str(PACE_S),
        "OTEL_EXPORTER_OTLP_TIMEOUT": "30",  # seconds of retries per export: outlasts the restart
    })
    return Process(instrumented_argv(APP), tmp_path / "app.log", env)


def kill_and_restart(collector: Collector) -> tuple[int, tuple[int, int]]:
    """SIGKILL the collector mid-run, leave it down a while, start it again on the same ports, files and queues.
    Returns how many records the file held at the kill, and the downtime (ns)."""
    time.sleep(KILL_AFTER_S)  # not right after a write: whatever the collector holds in memory then is lost
    collector.stop(signal.SIGKILL)
    down_since = time.time_ns()
    written_before_kill = sum(audit_ids(collector).values())
    time.sleep(DOWNTIME_S)
    down_until = time.time_ns()
    collector.start()
    return written_before_kill, (down_since, down_until)


def test_killed_collector_loses_no_audit_record_and_writes_none_twice(tmp_path: Path, replay_server: Any):
    loki_port = free_port()  # nothing listens there until the end: Loki is down the whole time
    collector = Collector(tmp_path / "collector", {"OTELCOL_LOKI_ENDPOINT": f"http://127.0.0.1:{loki_port}",
                                                   "OTELCOL_RETRY_MAX_INTERVAL": "1s"})
    with collector, app_process(tmp_path, collector, replay_server.base_url) as app:
        wait_until(lambda: audit_ids(collector), 60, "the first audit records")
        written_before_kill, downtime = kill_and_restart(collector)
        assert app.wait(120) == 0, app.log_tail()
        calls = app_calls(app.log_path.read_text())
        made = {call.id for call in calls}
        assert len(calls) == CALLS and len(made) == CALLS and None not in made
        wait_until(lambda: set(audit_ids(collector)) >= made, 30, "every audit record in the file")
        assert written_before_kill < CALLS, "the kill came after the run: it proved nothing"
        assert made_while_down(collector, downtime) > 0, "no call ended while the collector was down"
        with OtlpReceiver(loki_port) as loki:
            wait_until(lambda: loki_audit_ids(loki) >= made, 60, "every audit record at Loki after its outage")
    written = audit_ids(collector)
    assert set(written) == made
    assert [gen_id for gen_id, count in written.items() if count > 1] == []


def test_rotation_keeps_every_record_whole_in_dated_files(tmp_path: Path):
    collector = Collector(tmp_path / "collector", {"OTELCOL_AUDIT_MAX_MEGABYTES": "1"})
    records = 30
    with collector:
        send_audit_records(collector.otlp_http_endpoint, records, padding=100_000)  # about 3 MB in all
        wait_until(lambda: len(log_records(collector.audit_lines())) >= records, 30, "every record in the audit files")
    files = collector.audit_files()
    backups = [path.name for path in files[:-1]]
    assert len(backups) >= 2, backups
    dated = re.compile(r"openrouter-audit-\d{4}-\d\d-\d\dT\d\d-\d\d-\d\d\.\d{3}-size\.jsonl")
    assert all(dated.fullmatch(name) for name in backups), backups
    numbers = Counter(record.attributes["sample.number"] for record in log_records(collector.audit_lines()))
    assert numbers == Counter(range(records))


def send_audit_records(endpoint: str, count: int, padding: int) -> None:
    provider = LoggerProvider()
    provider.add_log_record_processor(SimpleLogRecordProcessor(OTLPLogExporter(endpoint=f"{endpoint}/v1/logs")))
    logger = provider.get_logger("audit-rotation")
    for number in range(count):
        logger.emit(event_name=sc.AUDIT_EVENT_NAME, body="audit",
                    attributes={"sample.number": number, sc.OPENROUTER_APP_TITLE: "x" * padding})
    provider.shutdown()
