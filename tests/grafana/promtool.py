"""Prometheus's own parser and rule unit tester, through `promtool` (Debian's package ships it)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path


def promtool_binary() -> str:
    """`promtool` beside PROMETHEUS_BIN (what scripts/test.sh installs), else on PATH; missing means failing."""
    prometheus = os.environ.get("PROMETHEUS_BIN")
    if prometheus:
        beside = Path(prometheus).with_name("promtool")
        if beside.is_file():
            return str(beside)
    found = shutil.which("promtool")
    if not found:
        raise AssertionError("promtool is missing: run scripts/install-prometheus.sh (Debian's prometheus package)")
    return found


def parse_error(expr: str, workdir: Path) -> str | None:
    """None when Prometheus parses `expr`; else promtool's message.

    promtool has no bare parse command, so the expression becomes a recording rule that `check rules` parses.
    """
    rules_file = workdir / "parse-check.yaml"
    rule = {"record": "parse_check", "expr": expr}
    rules_file.write_text(json.dumps({"groups": [{"name": "parse", "rules": [rule]}]}))
    result = subprocess.run([promtool_binary(), "check", "rules", str(rules_file)], capture_output=True, text=True,
                            timeout=60, check=False)
    return None if result.returncode == 0 else (result.stdout + result.stderr).strip()


def run_unit_tests(test_file: Path) -> subprocess.CompletedProcess:
    return subprocess.run([promtool_binary(), "test", "rules", str(test_file)], capture_output=True, text=True,
                          timeout=120, check=False, cwd=test_file.parent)
