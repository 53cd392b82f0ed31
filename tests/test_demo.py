"""`openrouter-otel demo` runs from the installed command and shows what each call recorded."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path


def test_demo_prints_each_calls_telemetry_and_serves_prometheus_metrics():
    command = Path(sys.executable).parent / "openrouter-otel"
    completed = subprocess.run([str(command), "demo"], capture_output=True, text=True, timeout=120, check=False)
    assert completed.returncode == 0, completed.stderr
    out = completed.stdout
    assert "anthropic/claude-sonnet-4.6 -> anthropic/claude-4.6-sonnet-20260217" in out
    assert "openai/gpt-4o -> anthropic/claude-sonnet-4.5" in out  # the fallback
    assert "BYOK upstream $" in out
    assert "error 402" in out and "error 429" in out
    assert "first chunk after" in out
    assert len(re.findall(r"generation id\s+gen-", out)) == 4
    assert len(re.findall(r"prompt hash\s+sha256:[0-9a-f]{64}", out)) == 6
    assert re.search(r"^  gen_ai_usage_cost_USD_sum\{.*\} [0-9.e-]+$", out, re.MULTILINE)
    assert re.search(r'^  gen_ai_client_operation_duration_seconds_count\{.*error_type="402".*\} 1\.0$', out, re.MULTILINE)
    assert "sk-or-v1-demo" not in out
