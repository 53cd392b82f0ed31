"""The command line as a user meets it: `serve`, `--version`, `--help`, and one line for every user error."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path
from typing import Iterator

import openai
import pytest

from openrouter_otel import __version__

COMMAND = str(Path(sys.executable).parent / "openrouter-otel")


def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([COMMAND, *args], capture_output=True, text=True, timeout=120, check=False,
                          env={**os.environ, **(env or {})})


def assert_one_line_error(completed: subprocess.CompletedProcess[str], *fragments: str) -> None:
    assert completed.returncode != 0
    assert "Traceback" not in completed.stderr
    lines = completed.stderr.strip().splitlines()
    assert len(lines) == 1, completed.stderr
    assert lines[0].startswith("openrouter-otel: ")
    for fragment in fragments:
        assert fragment in lines[0]


def test_version_prints_the_package_version():
    completed = run("--version")
    assert completed.returncode == 0
    assert completed.stdout.strip() == f"openrouter-otel {__version__}"


def test_help_says_what_running_with_no_command_does():
    completed = run("--help")
    assert completed.returncode == 0
    assert "With no command, runs the demo." in completed.stdout
    assert "serve" in completed.stdout


@pytest.mark.parametrize("args, fragments", [
    (("frobnicate",), ("invalid choice: 'frobnicate'",)),
    (("demo", "--metrics-port", "99999"), ("'99999' is not a port number",)),
    (("serve", "--port", "-1"), ("'-1' is not a port number",)),
    (("serve", "--port", "http"), ("'http' is not a port number",)),
    (("demo", "--serve", "soon"), ("'soon' is not a number of seconds",)),
])
def test_a_malformed_command_line_is_one_line_on_stderr(args, fragments):
    assert_one_line_error(run(*args), *fragments)


def test_a_busy_port_is_one_line_naming_the_option():
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = str(taken.getsockname()[1])
        assert_one_line_error(run("serve", "--port", port), f"port {port} is already in use", "--port")
        assert_one_line_error(run("demo", "--metrics-port", port), f"port {port} is already in use", "--metrics-port")


def test_live_demo_without_a_key_is_one_line():
    env = {key: value for key, value in os.environ.items() if key != "OPENROUTER_API_KEY"}
    completed = subprocess.run([COMMAND, "demo", "--live"], capture_output=True, text=True, timeout=60, env=env)
    assert_one_line_error(completed, "OPENROUTER_API_KEY")


def test_live_demo_without_network_is_one_line():
    # A proxy on a closed loopback port makes the real OpenRouter unreachable, as on a machine without network.
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed = probe.getsockname()[1]
    proxy = f"http://127.0.0.1:{closed}"
    completed = run("demo", "--live", env={"OPENROUTER_API_KEY": "sk-or-v1-x", "HTTPS_PROXY": proxy,
                                           "https_proxy": proxy, "ALL_PROXY": proxy, "NO_PROXY": ""})
    assert_one_line_error(completed, "could not reach https://openrouter.ai/api/v1")


def test_demo_without_openai_says_what_to_install(tmp_path: Path):
    blocker = tmp_path / "sitecustomize.py"
    blocker.write_text(
        "import sys\n"
        "class _Block:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name == 'openai' or name.startswith('openai.'):\n"
        "            raise ModuleNotFoundError(name)\n"
        "sys.meta_path.insert(0, _Block())\n"
    )
    completed = run("demo", env={"PYTHONPATH": str(tmp_path)})
    assert_one_line_error(completed, "the openai SDK", "pip install 'openrouter-otel[demo]'")


@pytest.fixture
def served(free_port: int) -> Iterator[tuple[subprocess.Popen[str], str]]:
    process = subprocess.Popen([COMMAND, "serve", "--port", str(free_port)], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    first = process.stdout.readline()  # type: ignore[union-attr]
    yield process, first
    if process.poll() is None:
        process.kill()
        process.wait(timeout=10)


def test_serve_prints_the_base_url_and_how_to_point_an_app_at_it(served, free_port: int):
    process, first = served
    base_url = f"http://127.0.0.1:{free_port}/api/v1"
    assert first.strip().endswith(f"base_url = {base_url}")
    rest = []
    for line in process.stdout:  # type: ignore[union-attr]
        rest.append(line)
        if line.startswith("Serving until Ctrl-C"):
            break
    text = "".join(rest)
    assert "opentelemetry-instrument python app.py" in text
    assert f'OpenAI(base_url="{base_url}"' in text


def test_serve_answers_what_apps_and_the_compliance_tooling_call(served, free_port: int):
    base_url = f"http://127.0.0.1:{free_port}/api/v1"
    client = openai.OpenAI(base_url=base_url, api_key="sk-or-v1-served", max_retries=0)
    messages = [{"role": "user", "content": "hi"}]
    chat = client.chat.completions.create(model="openai/gpt-4o-mini", messages=messages)
    assert chat.id.startswith("gen-") and chat.usage.cost > 0
    chunks = list(client.chat.completions.create(model="openai/gpt-4o-mini", messages=messages, stream=True))
    assert chunks[-1].usage is not None
    assert client.completions.create(model="openai/gpt-3.5-turbo-instruct", prompt="hi").choices[0].text
    assert client.embeddings.create(model="openai/text-embedding-3-small", input="hi").data[0].embedding
    assert client.responses.create(model="openai/gpt-4o-mini", input="hi").output_text
    assert any(model.id == "openai/gpt-4o-mini" for model in client.models.list().data)
    generation = get_json(f"{base_url}/generation?id={chat.id}", "sk-or-v1-served")
    assert generation["data"]["id"] == chat.id
    key = get_json(f"{base_url}/key", "sk-or-v1-served")["data"]
    assert key["usage"] > 0 and key["limit"] is None and "sk-or-v1-served" not in json.dumps(key)
    with pytest.raises(urllib.error.HTTPError) as refused:
        get_json(f"{base_url}/key", "sk-or-v1-invalid-0000")
    assert refused.value.code == 401
    client.close()


def test_serve_stops_cleanly_on_ctrl_c(served):
    process, _ = served
    process.send_signal(signal.SIGINT)
    assert process.wait(timeout=10) == 0
    assert "Traceback" not in process.stderr.read()  # type: ignore[union-attr]


def get_json(url: str, api_key: str) -> dict:
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {api_key}"})
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 - loopback
        return json.loads(response.read())


@pytest.mark.parametrize("module", ["openrouter_otel.server", "openrouter_otel.replay"])
def test_python_dash_m_runs_the_server_too(module: str):
    process = subprocess.Popen([sys.executable, "-m", module, "--port", "0"], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    try:
        first = process.stdout.readline()  # type: ignore[union-attr]
        assert "base_url = http://127.0.0.1:" in first
    finally:
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=10) == 0
