"""The examples and the README's snippets, run as a user runs them, against the embedded server."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = REPO_ROOT / "examples"
BIN = Path(sys.executable).parent


def python_blocks(markdown: str) -> list[str]:
    return re.findall(r"```python\n(.*?)```", markdown, re.DOTALL)


@pytest.mark.parametrize("example", ["zero-code", "manual"])
def test_the_readme_shows_each_example_as_written(example: str):
    readme = (REPO_ROOT / "README.md").read_text()
    assert (EXAMPLES / example / "app.py").read_text() in python_blocks(readme)


@pytest.mark.parametrize("example", ["zero-code", "manual"])
def test_each_example_has_a_three_line_readme(example: str):
    lines = (EXAMPLES / example / "README.md").read_text().strip().splitlines()
    assert len(lines) == 3


def example_env(replay_server, **extra: str) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("OTEL_")}
    env.update(OPENROUTER_BASE_URL=replay_server.base_url, OPENROUTER_API_KEY="sk-or-v1-example", **extra)
    return env


def test_manual_example_prints_the_span_metrics_and_audit_record(replay_server):
    completed = subprocess.run([sys.executable, "app.py"], cwd=EXAMPLES / "manual", capture_output=True, text=True,
                               timeout=60, env=example_env(replay_server))
    assert completed.returncode == 0, completed.stderr
    out = completed.stdout
    assert '"name": "chat anthropic/claude-sonnet-4.5"' in out
    assert '"event_name": "openrouter.audit"' in out
    assert '"enduser.id": "user-42"' in out and '"openrouter.feature": "ticket-summary"' in out
    assert re.search(r'"gen_ai.usage.cost": 0\.\d+', out)
    assert '"name": "gen_ai.client.operation.duration"' in out
    assert "sk-or-v1-example" not in out
    assert "Traceback" not in completed.stderr


def test_zero_code_example_is_instrumented_by_opentelemetry_instrument(replay_server):
    env = example_env(replay_server, OTEL_SERVICE_NAME="zero-code-example", OTEL_TRACES_EXPORTER="console",
                      OTEL_METRICS_EXPORTER="console", OTEL_LOGS_EXPORTER="console")
    completed = subprocess.run([str(BIN / "opentelemetry-instrument"), sys.executable, "app.py"],
                               cwd=EXAMPLES / "zero-code", capture_output=True, text=True, timeout=60, env=env)
    assert completed.returncode == 0, completed.stderr
    out = completed.stdout
    assert out.startswith("This is a synthesised reply")
    assert '"name": "chat openai/gpt-4o-mini"' in out
    assert '"event_name": "openrouter.audit"' in out
    assert re.search(r'"gen_ai.usage.cost": 0\.\d+', out)
    assert '"service.name": "zero-code-example"' in out


def test_the_instrumentation_works_with_the_opentelemetry_api_alone(replay_server, tmp_path: Path):
    """The core depends on the API only: without the SDK installed, instrument() and a call still work."""
    (tmp_path / "sitecustomize.py").write_text(
        "import sys\n"
        "class _Block:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name == 'opentelemetry.sdk' or name.startswith('opentelemetry.sdk.'):\n"
        "            raise ModuleNotFoundError(name)\n"
        "sys.meta_path.insert(0, _Block())\n"
    )
    script = (
        "import os, openai, logging\n"
        "logging.basicConfig(level=logging.WARNING)\n"
        "from openrouter_otel import OpenRouterInstrumentor\n"
        "OpenRouterInstrumentor().instrument()\n"
        "client = openai.OpenAI(base_url=os.environ['OPENROUTER_BASE_URL'], api_key='sk-or-v1-x')\n"
        "print(client.chat.completions.create(model='openai/gpt-4o-mini', messages=[{'role': 'user', 'content': 'hi'}]).id)\n"
        "import sys; assert not any(name.startswith('opentelemetry.sdk') for name in sys.modules)\n"
    )
    completed = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60,
                               env=example_env(replay_server, PYTHONPATH=str(tmp_path)))
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout.startswith("gen-")
    assert "Traceback" not in completed.stderr


def test_the_wheel_holds_the_product_and_declares_its_dependencies(tmp_path: Path):
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "-w", str(tmp_path), str(REPO_ROOT)],
                   check=True, capture_output=True, timeout=300)
    (wheel,) = tmp_path.glob("openrouter_otel-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        metadata = next(archive.read(name).decode() for name in names if name.endswith(".dist-info/METADATA"))
        entry_points = next(archive.read(name).decode() for name in names if name.endswith("entry_points.txt"))
    assert "openrouter_otel/py.typed" in names
    assert "openrouter_otel/server/replay.py" in names and "openrouter_otel/replay.py" in names
    assert not any(name.startswith(("tests/", "examples/")) for name in names)
    from openrouter_otel import __version__

    assert f"Version: {__version__}" in metadata
    core = [line for line in metadata.splitlines() if line.startswith("Requires-Dist:") and "extra ==" not in line]
    assert not any("opentelemetry-sdk" in line or "semantic-conventions" in line or "prometheus" in line
                   for line in core), core
    assert any("openai" in line and re.search(r"extra == ['\"]demo['\"]", line) for line in metadata.splitlines())
    assert "Classifier: Typing :: Typed" in metadata and "Project-URL:" in metadata
    assert "openrouter = openrouter_otel:OpenRouterInstrumentor" in entry_points
