"""Each benchmark script runs end to end in its --quick mode. No figure is asserted: performance claims
live in the benchmarks' output, never in timed tests."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"


@pytest.mark.parametrize(("script", "extra", "expected"), [
    # --no-peers: the peers' environments live outside the repository, and a test reads nothing there
    ("overhead.py", ["--no-peers"], ["openrouter-otel", "SDK floor", "Targets for openrouter-otel"]),
    ("concurrency.py", [], ["threads", "asyncio tasks", "instrumented / baseline"]),
    ("memory.py", [], ["growth from", "RSS"]),
])
def test_benchmark_runs_in_quick_mode(script: str, extra: list[str], expected: list[str]) -> None:
    completed = subprocess.run([sys.executable, str(BENCHMARKS / script), "--quick", *extra],
                               capture_output=True, text=True, timeout=120, check=False)
    assert completed.returncode == 0, completed.stderr[-3000:]
    for fragment in expected:
        assert fragment in completed.stdout
