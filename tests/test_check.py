"""`openrouter-otel check` as a user runs it, against the embedded server's /key and /models."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from openrouter_otel import cli
from openrouter_otel.extract import api_key_fingerprint
from openrouter_otel.server import account

COMMAND = str(Path(sys.executable).parent / "openrouter-otel")
HEX64 = "0123456789abcdef" * 4
# Planted secrets, one per family, built so that this file itself holds none of them whole.
PLANTED = {
    "OPENROUTER_API_KEY": ("sk-or-v1-" + HEX64, "sk-or-v1-…[redacted]"),
    "OPENAI_API_KEY": ("sk-proj-" + "Ab3" * 12, "sk-proj-…[redacted]"),
    "ANTHROPIC_API_KEY": ("sk-ant-api03-" + "Xy9" * 10, "sk-ant-api03-…[redacted]"),
    "AWS_ACCESS_KEY_ID": ("AKIA" + "IOSFODNN7EXAMPLE", "AKIA…[redacted]"),
    "GITHUB_TOKEN": ("ghp_" + "a1B2" * 9, "ghp_…[redacted]"),
}


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch):
    for name in list(os.environ):
        if name.startswith("OTEL_") or name.startswith("OPENROUTER_"):
            monkeypatch.delenv(name)


def key_for(state: str) -> str:
    return f"sk-or-v1-{state}-{HEX64}"


def check(capsys, monkeypatch, server, *args: str, key: str | None = None) -> tuple[int, str]:
    if key is not None:
        monkeypatch.setenv("OPENROUTER_API_KEY", key)
    code = cli.main(["check", "--base-url", server.base_url, *args])
    captured = capsys.readouterr()
    output = captured.out + captured.err
    if key is not None:
        assert key not in output
        assert api_key_fingerprint(key) in output
    return code, output


def line_with(output: str, fragment: str) -> str:
    found = [line for line in output.splitlines() if fragment in line]
    assert found, output
    return found[0].strip()


@pytest.mark.parametrize("state, args, fragment, mark, code", [
    ("plain", (), "no credit limit on this key", "⚠", 0),
    ("low-credit", (), "low credit: $0.05 left of $5.00", "⚠", 0),
    ("low-credit", ("--min-credit", "1"), "$0.05 credit left of $5.00 (--min-credit $1.00)", "✗", 1),
    ("free-tier", (), "free-tier key", "⚠", 0),
    ("free-tier", ("--regulated",), "free-tier key: not for regulated data", "✗", 1),
    ("expired", (), "expired 20", "✗", 1),
    ("expiring", (), "expires in 12 hours", "⚠", 0),
    ("invalid", (), "refused the key in OPENROUTER_API_KEY (HTTP 401)", "✗", 1),
])
def test_each_key_state_gets_its_verdict_and_exit_code(capsys, monkeypatch, replay_server, state, args, fragment,
                                                       mark, code):
    exit_code, output = check(capsys, monkeypatch, replay_server, *args, key=key_for(state))
    assert line_with(output, fragment).startswith(mark)
    assert exit_code == code, output


def test_credit_follows_the_calls_made_with_the_key(capsys, monkeypatch, replay_server):
    key = key_for("custom-profile")
    replay_server.register_key(key, limit=2.0, usage=2.0)
    exit_code, output = check(capsys, monkeypatch, replay_server, key=key)
    assert line_with(output, "$0.00 credit left of $2.00").startswith("✗")
    assert exit_code == 1


def test_a_missing_key_fails_and_names_the_variable(capsys, monkeypatch, replay_server):
    monkeypatch.setenv("MY_KEY", key_for("plain"))
    exit_code, output = check(capsys, monkeypatch, replay_server)
    assert line_with(output, "OPENROUTER_API_KEY is not set").startswith("✗")
    assert exit_code == 1
    exit_code, output = check(capsys, monkeypatch, replay_server, "--key-env", "MY_KEY")
    assert line_with(output, "accepted by").startswith("✓")
    assert exit_code == 0


def test_models_are_checked_against_the_model_list_and_probed(capsys, monkeypatch, replay_server):
    exit_code, output = check(capsys, monkeypatch, replay_server, "--model", "openai/gpt-4o-mini",
                              "--model", "openai/gpt-4o:nitro", "--model", "openai/text-embedding-3-small",
                              "--model", "acme/no-such-model", "--probe", key=key_for("plain"))
    assert line_with(output, "openai/gpt-4o-mini is listed").startswith("✓")
    assert line_with(output, "openai/gpt-4o:nitro is listed").startswith("✓")
    assert line_with(output, "openai/gpt-4o-mini answered").startswith("✓")
    assert line_with(output, "openai/text-embedding-3-small answered").startswith("✓")
    assert line_with(output, "acme/no-such-model: not a model").startswith("✗")
    assert "acme/no-such-model answered" not in output
    assert exit_code == 1


def test_a_probe_that_fails_is_a_failure(capsys, monkeypatch, replay_server):
    failing = "scenario/upstream_502"
    monkeypatch.setattr(account, "MODEL_CATALOGUE", (*account.MODEL_CATALOGUE, (failing, "fails", 1000, 0.0, 0.0)))
    exit_code, output = check(capsys, monkeypatch, replay_server, "--model", failing, "--probe", key=key_for("plain"))
    assert line_with(output, f"{failing}: /chat/completions answered HTTP 502").startswith("✗")
    assert exit_code == 1


def plant(tree: Path) -> dict[str, int]:
    """Writes one secret per family outside the skipped directories (returns each file's line) and
    the same secrets inside them."""
    lines = {}
    for index, (kind, (secret, _)) in enumerate(PLANTED.items()):
        lines[kind] = index + 3
        (tree / "src" / f"{kind.lower()}.py").write_text("import os\n\n" + "\n" * index + f'KEY = "{secret}"\n')
    for skipped in (".git", ".venv", "node_modules", "__pycache__", "env"):
        (tree / skipped).mkdir()
        (tree / skipped / "leak.py").write_text("\n".join(secret for secret, _ in PLANTED.values()))
    (tree / "env" / "pyvenv.cfg").write_text("home = /usr/bin\n")
    (tree / "src" / "blob.bin").write_bytes(b"\0\1\2" + PLANTED["OPENROUTER_API_KEY"][0].encode())
    (tree / "src" / "huge.txt").write_text("x" * (2 * 1024 * 1024) + PLANTED["GITHUB_TOKEN"][0])
    return lines


def test_the_scan_finds_each_family_with_file_and_line_redacted_and_skips_what_is_not_source(
        capsys, monkeypatch, replay_server, tmp_path):
    (tmp_path / "src").mkdir()
    lines = plant(tmp_path)
    (tmp_path / "src" / "clean.py").write_text('API_KEY = os.environ["OPENROUTER_API_KEY"]  # sk-or-v1-your-key\n')
    exit_code, output = check(capsys, monkeypatch, replay_server, "--skip", "key", "--scan", str(tmp_path))
    findings = [line for line in output.splitlines() if ".py:" in line]
    assert len(findings) == len(PLANTED), output
    for kind, (secret, shown) in PLANTED.items():
        where = f"{tmp_path / 'src' / kind.lower()}.py:{lines[kind]}"
        assert line_with(output, where) == f"✗ {where}: {kind} {shown}"
        assert secret not in output
    assert line_with(output, "5 hard-coded key(s)").startswith("✗")
    assert "skipped 1 binary, 1 over 2 MB" in output
    assert exit_code == 1


def test_a_clean_tree_passes_and_thousands_of_files_scan_quickly(capsys, monkeypatch, replay_server, tmp_path):
    body = "".join(f"def handler_{n}(request):\n    return request.get('sk-{n}')  # AKIA? no\n" for n in range(100))
    for index in range(3000):
        folder = tmp_path / f"pkg{index % 30}"
        folder.mkdir(exist_ok=True)
        (folder / f"module{index}.py").write_text(body)
    started = time.monotonic()
    exit_code, output = check(capsys, monkeypatch, replay_server, "--skip", "key", "--scan", str(tmp_path))
    elapsed = time.monotonic() - started
    assert line_with(output, "no hard-coded keys; 3000 files scanned").startswith("✓")
    assert exit_code == 0
    assert elapsed < 10, elapsed


def test_telemetry_setup_redaction_off_and_audit_events_off_fail(capsys, monkeypatch, replay_server):
    monkeypatch.setenv("OTEL_INSTRUMENTATION_OPENROUTER_REDACTION", "false")
    monkeypatch.setenv("OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT", "true")
    monkeypatch.setenv("OTEL_INSTRUMENTATION_OPENROUTER_AUDIT_EVENTS", "false")
    monkeypatch.setenv("OTEL_TRACES_EXPORTER", "otlp")
    monkeypatch.setenv("OTEL_LOGS_EXPORTER", "none")
    exit_code, output = check(capsys, monkeypatch, replay_server, "--skip", "key")
    assert line_with(output, "PII redaction off").startswith("✗")
    assert line_with(output, "capture on without redaction").startswith("✗")
    assert line_with(output, "audit events off").startswith("✗")
    assert line_with(output, "OTEL_LOGS_EXPORTER=none").startswith("⚠")
    assert line_with(output, "entry point opentelemetry_instrumentor:openrouter").startswith("✓")
    assert line_with(output, "openai ").startswith("✓")
    assert exit_code == 1


def test_the_default_telemetry_setup_passes_with_a_warning_for_no_exporter(capsys, monkeypatch, replay_server):
    exit_code, output = check(capsys, monkeypatch, replay_server, "--skip", "key")
    assert line_with(output, "PII redaction on").startswith("✓")
    assert line_with(output, "capture off").startswith("✓")
    assert line_with(output, "audit events (openrouter.audit) on").startswith("✓")
    assert line_with(output, "no exporter configured").startswith("⚠")
    assert exit_code == 0
    assert cli.main(["check", "--base-url", replay_server.base_url, "--skip", "key", "--strict"]) == 1


def test_collector_health_endpoint(capsys, monkeypatch, replay_server, free_port):
    exit_code, output = check(capsys, monkeypatch, replay_server, "--skip", "key",
                              "--collector-health", f"{replay_server.base_url}/models")
    assert line_with(output, "collector healthy").startswith("✓")
    assert exit_code == 0
    exit_code, output = check(capsys, monkeypatch, replay_server, "--skip", "key",
                              "--collector-health", f"http://127.0.0.1:{free_port}/")
    assert line_with(output, f"collector health: could not reach http://127.0.0.1:{free_port}/").startswith("✗")
    assert exit_code == 1


def test_approved_providers(capsys, monkeypatch, replay_server):
    exit_code, output = check(capsys, monkeypatch, replay_server, "--skip", "key")
    assert line_with(output, "no approved-provider list").startswith("⚠")
    exit_code, output = check(capsys, monkeypatch, replay_server, "--skip", "key",
                              "--approved-providers", "Anthropic, OpenAI")
    assert line_with(output, "approved: Anthropic, OpenAI").startswith("✓")
    assert exit_code == 0


def test_no_network_is_one_clear_failure_line_and_no_traceback(capsys, monkeypatch, free_port):
    monkeypatch.setenv("OPENROUTER_API_KEY", key_for("plain"))
    base = f"http://127.0.0.1:{free_port}/api/v1"
    exit_code = cli.main(["check", "--base-url", base, "--model", "openai/gpt-4o-mini", "--probe"])
    output = capsys.readouterr()
    failures = [line for line in output.out.splitlines() if line.strip().startswith("✗")]
    assert failures == [f"  ✗ could not reach {base}/key (Connection refused)"]
    assert "Traceback" not in output.out + output.err
    assert exit_code == 1


def test_a_base_url_that_is_not_http_is_one_line_user_error(capsys):
    assert cli.main(["check", "--base-url", "openrouter.ai"]) == 2
    assert capsys.readouterr().err.strip() == ("openrouter-otel: base URL (--base-url or $OPENROUTER_BASE_URL) "
                                               "'openrouter.ai' is not an http:// or https:// URL")


def test_json_for_ci_from_the_installed_command(replay_server, tmp_path):
    key = key_for("expired")
    (tmp_path / "app.py").write_text(f'KEY = "{PLANTED["GITHUB_TOKEN"][0]}"\n')
    completed = subprocess.run(
        [COMMAND, "check", "--json", "--model", "openai/gpt-4o", "--scan", str(tmp_path)],
        capture_output=True, text=True, timeout=120, check=False,
        env={**{k: v for k, v in os.environ.items() if not k.startswith("OTEL_")},
             "OPENROUTER_API_KEY": key, "OPENROUTER_BASE_URL": replay_server.base_url})
    assert key not in completed.stdout + completed.stderr
    assert PLANTED["GITHUB_TOKEN"][0] not in completed.stdout
    document = json.loads(completed.stdout)
    assert completed.returncode == document["exit_code"] == 1
    assert document["ok"] is False
    assert document["key_fingerprint"] == api_key_fingerprint(key)
    items = {item["check"]: item for section in document["sections"] for item in section["items"]}
    assert items["key.expiry"]["status"] == "fail"
    assert items["models.listed"]["status"] == "pass"
    assert items["scan.finding"]["details"]["line"] == 1
    assert items["scan.finding"]["details"]["redacted"] == "ghp_…[redacted]"
    assert document["counts"]["fail"] == 3  # expiry, the finding, the scan summary


def test_a_terminal_that_cannot_show_the_marks_gets_ascii_ones(replay_server):
    completed = subprocess.run([COMMAND, "check", "--skip", "key", "--approved-providers", "OpenAI"],
                               capture_output=True, text=True, timeout=120, check=False,
                               env={**{k: v for k, v in os.environ.items() if not k.startswith("OTEL_")},
                                    "PYTHONIOENCODING": "ascii"})
    assert "Traceback" not in completed.stderr
    assert "  ok PII redaction on" in completed.stdout
    assert "  !! no exporter configured" in completed.stdout
    assert completed.returncode == 0
