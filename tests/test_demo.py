"""`openrouter-otel demo` runs from the installed command and shows what users came for, readably."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

COMMAND = Path(sys.executable).parent / "openrouter-otel"


def run_demo(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(COMMAND), *args], capture_output=True, text=True, timeout=120, check=False)


def test_demo_prints_each_calls_telemetry_an_audit_record_a_redaction_and_metric_totals():
    completed = run_demo("demo")
    assert completed.returncode == 0, completed.stderr
    out = completed.stdout
    assert "anthropic/claude-sonnet-4.6 -> anthropic/claude-4.6-sonnet-20260217" in out
    assert "openai/gpt-4o -> anthropic/claude-sonnet-4.5" in out  # the fallback
    assert "BYOK upstream $" in out
    assert "error 402" in out and "error 429" in out
    assert "first chunk after" in out
    assert len(re.findall(r"generation id\s+gen-", out)) == 4
    assert len(re.findall(r"prompt hash\s+sha256:[0-9a-f]{64}", out)) == 6
    audit = out.split("The openrouter.audit log record of call 1", 1)[1].split("\n\n", 1)[0]
    assert re.search(r"openrouter\.status\s+ok", audit)
    assert re.search(r"gen_ai\.response\.id\s+gen-", audit)
    assert re.search(r"trace_id / span_id\s+[0-9a-f]{32} / [0-9a-f]{16}", audit)
    assert "In one sentence" not in audit  # no prompt text in the audit record
    captured = re.search(r"gen_ai\.input\.messages\s+(.*)", out)
    assert captured and "[REDACTED:EMAIL]" in captured.group(1) and "[REDACTED:CREDIT_CARD]" in captured.group(1)
    assert "jane.doe@example.com" not in captured.group(1)
    totals = out.split("Metric totals by served model", 1)[1]
    assert re.search(r"anthropic/claude-sonnet-4\.5\s+2\s+0\s+\d+\s+\d+\s+0\.\d{6}", totals)
    assert re.search(r"anthropic/claude-opus-4\.1 \(asked\)\s+1\s+1\s+0\s+0\s+0\.000000", totals)  # the 402
    assert "openrouter-otel demo --serve SECONDS" in out
    assert "sk-or-v1-demo" not in out
    assert completed.stderr == ""


def test_no_subcommand_runs_the_demo():
    completed = run_demo()
    assert completed.returncode == 0, completed.stderr
    assert "Metric totals by served model" in completed.stdout


def test_demo_serves_the_same_metrics_for_prometheus_while_asked_to(free_port: int):
    process = subprocess.Popen([str(COMMAND), "demo", "--metrics-port", str(free_port), "--serve", "30"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        for line in process.stdout:  # type: ignore[union-attr]
            if line.startswith("Serving them for"):
                break
        import urllib.request

        with urllib.request.urlopen(f"http://127.0.0.1:{free_port}/metrics", timeout=5) as response:
            text = response.read().decode()
        assert re.search(r'^gen_ai_client_operation_duration_seconds_count\{.*error_type="402".*\} 1\.0$', text,
                         re.MULTILINE)
        assert re.search(r"^gen_ai_usage_cost_USD_sum\{.*\} [0-9.e-]+$", text, re.MULTILINE)
    finally:
        process.terminate()
        process.wait(timeout=10)
