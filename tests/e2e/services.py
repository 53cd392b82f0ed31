"""Real processes for end-to-end tests: the built OpenTelemetry Collector and Prometheus, on 127.0.0.1.

Every class here is a context manager that stops what it started, also when the test fails. Binaries are
resolved from OTELCOL_BIN / PROMETHEUS_BIN, else built (scripts/build-collector.sh) or found on PATH; a
missing binary raises (the test fails), it never skips.
"""

from __future__ import annotations

import functools
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[2]
COLLECTOR_CONFIG = REPO_ROOT / "collector-config" / "otelcol.yaml"
BUILD_COLLECTOR = REPO_ROOT / "scripts" / "build-collector.sh"


class ServiceError(RuntimeError):
    """A binary is missing or a process did not come up: the test fails with the reason (and the log)."""


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def http_get(url: str, timeout: float = 5.0) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def wait_http(url: str, timeout: float = 30.0, process: subprocess.Popen | None = None) -> None:
    """Wait until `url` answers 200; give up early if `process` (the server behind it) has exited."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            if http_get(url, timeout=2.0)[0] == 200:
                return
        except (OSError, urllib.error.URLError):
            pass
        if process is not None and process.poll() is not None:
            raise ServiceError(f"the process serving {url} exited with {process.returncode}")
        if time.monotonic() > deadline:
            raise ServiceError(f"{url} did not answer 200 within {timeout} s")
        time.sleep(0.1)


def wait_until(check: Callable[[], Any], timeout: float, what: str, interval: float = 0.25) -> Any:
    """Poll `check` until it returns something truthy and return that; fail naming `what` otherwise."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(interval)


@functools.cache
def collector_binary() -> str:
    """OTELCOL_BIN, else the binary scripts/build-collector.sh builds (or reuses from its cache)."""
    if path := os.environ.get("OTELCOL_BIN"):
        return _executable(path, "OTELCOL_BIN")
    built = subprocess.run([str(BUILD_COLLECTOR)], capture_output=True, text=True, check=False)
    if built.returncode != 0:
        raise ServiceError(f"scripts/build-collector.sh failed:\n{built.stderr[-4000:]}")
    return _executable(built.stdout.strip().splitlines()[-1], "scripts/build-collector.sh output")


@functools.cache
def prometheus_binary() -> str:
    """PROMETHEUS_BIN, else `prometheus` on PATH (scripts/install-prometheus.sh installs it)."""
    if path := os.environ.get("PROMETHEUS_BIN"):
        return _executable(path, "PROMETHEUS_BIN")
    found = shutil.which("prometheus")
    if not found:
        raise ServiceError("prometheus is not on PATH and PROMETHEUS_BIN is unset: run scripts/install-prometheus.sh")
    return found


def _executable(path: str, source: str) -> str:
    if not (os.path.isfile(path) and os.access(path, os.X_OK)):
        raise ServiceError(f"{source} names {path!r}, which is not an executable file")
    return path


class Process:
    """One child process with its output in a log file; stopped by signal, killed if it will not stop."""

    def __init__(self, argv: list[str], log_path: Path, env: Mapping[str, str] | None = None) -> None:
        self.argv = argv
        self.log_path = log_path
        self.env = dict(env) if env is not None else None
        self.popen: subprocess.Popen | None = None

    def start(self) -> subprocess.Popen:
        with open(self.log_path, "ab") as log:
            self.popen = subprocess.Popen(self.argv, stdout=log, stderr=subprocess.STDOUT, env=self.env,
                                          stdin=subprocess.DEVNULL)
        return self.popen

    @property
    def running(self) -> bool:
        return self.popen is not None and self.popen.poll() is None

    def wait(self, timeout: float) -> int:
        assert self.popen is not None, "the process was never started"
        return self.popen.wait(timeout)

    def __enter__(self) -> Process:
        self.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.stop(signal.SIGKILL)

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 20.0) -> int | None:
        """Send `sig`, wait up to `timeout` s, then SIGKILL. Returns the exit code (None if never started)."""
        if self.popen is None:
            return None
        if self.popen.poll() is None:
            self.popen.send_signal(sig)
            try:
                self.popen.wait(timeout)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait(10)
        return self.popen.returncode

    def log_tail(self, chars: int = 4000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-chars:]
        except OSError:
            return ""


def start_until_ready(process: Process, ready_url: str, timeout: float = 60.0) -> None:
    """Start `process` and wait until `ready_url` answers; stopped again (its log tail in the error) if it does not."""
    popen = process.start()
    try:
        wait_http(ready_url, timeout=timeout, process=popen)
    except ServiceError as error:
        process.stop()
        raise ServiceError(f"{error}\n{process.log_tail()}") from None


class Prometheus:
    """`with Prometheus(["127.0.0.1:8889"], tmp_path) as prom:` scraping the targets every second."""

    def __init__(self, targets: Iterable[str], workdir: Path, scrape_interval: str = "1s",
                 binary: str | None = None, rule_files: Iterable[Path] = (), alertmanager: str | None = None,
                 external_labels: Mapping[str, str] | None = None) -> None:
        """`rule_files` are evaluated (every scrape interval unless a group sets its own), their alerts sent to the
        Alertmanager at `alertmanager` (host:port), each carrying `external_labels`."""
        self.rule_files = [str(path) for path in rule_files]
        self.alertmanager = alertmanager
        self.external_labels = dict(external_labels or {})
        self.targets = list(targets)
        self.workdir = Path(workdir)
        self.scrape_interval = scrape_interval
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.config_path = self.workdir / "prometheus.yml"
        self.process = Process(self._argv(binary or prometheus_binary()), self.workdir / "prometheus.log")

    def _argv(self, binary: str) -> list[str]:
        return [binary, f"--config.file={self.config_path}", f"--storage.tsdb.path={self.workdir / 'data'}",
                f"--web.listen-address=127.0.0.1:{self.port}", "--web.enable-lifecycle", "--log.level=warn"]

    def _write_config(self) -> None:
        # JSON is YAML: no dependency on a YAML writer here.
        config = {
            "global": {"scrape_interval": self.scrape_interval, "evaluation_interval": self.scrape_interval},
            # honor_labels: the collector's job/instance (service name and instance) win over the scrape's.
            "scrape_configs": [{"job_name": "otel-collector", "scrape_interval": self.scrape_interval,
                                "honor_labels": True, "static_configs": [{"targets": self.targets}]}],
        }
        if self.external_labels:
            config["global"]["external_labels"] = self.external_labels
        if self.rule_files:
            config["rule_files"] = self.rule_files
        if self.alertmanager:
            config["alerting"] = {"alertmanagers": [{"static_configs": [{"targets": [self.alertmanager]}]}]}
        self.config_path.write_text(json.dumps(config, indent=2))

    def start(self) -> Prometheus:
        self._write_config()
        start_until_ready(self.process, f"{self.url}/-/ready")
        return self

    def stop(self) -> None:
        self.process.stop()

    def __enter__(self) -> Prometheus:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    def api(self, path: str, **params: Any) -> Any:
        status, body = http_get(f"{self.url}/api/v1/{path}?{urllib.parse.urlencode(params)}", timeout=10)
        reply = json.loads(body)
        if status != 200 or reply.get("status") != "success":
            raise AssertionError(f"Prometheus {path} {params} answered {status}: {reply}")
        return reply["data"]

    def query(self, promql: str) -> list[dict]:
        """Instant query; the result vector (`[{"metric": {...}, "value": [ts, "v"]}, ...]`)."""
        return self.api("query", query=promql)["result"]

    def query_range(self, promql: str, start: float, end: float, step: str = "1s") -> list[dict]:
        """Range query; the result matrix (`[{"metric": {...}, "values": [[ts, "v"], ...]}, ...]`)."""
        return self.api("query_range", query=promql, start=start, end=end, step=step)["result"]

    def wait_for(self, promql: str, timeout: float = 30.0,
                 predicate: Callable[[list[dict]], bool] = bool) -> list[dict]:
        """Query until the result satisfies `predicate` (default: non-empty) and return it."""
        def satisfied() -> list[dict] | None:
            result = self.query(promql)
            return result if predicate(result) else None

        return wait_until(satisfied, timeout, f"Prometheus to answer {promql!r}")

    def targets_up(self) -> bool:
        active = self.api("targets")["activeTargets"]
        return bool(active) and all(target["health"] == "up" for target in active)


class Collector:
    """The built collector running the shipped collector-config/otelcol.yaml, every port and path in `workdir`.

    `env` adds to (or overrides) the OTELCOL_* settings this class chooses (free ports, tmp paths) and the
    process environment. `stop(sig)` and `start()` restart it on the same ports, paths and queues.
    """

    def __init__(self, workdir: Path, env: Mapping[str, str] | None = None, config: Path = COLLECTOR_CONFIG,
                 binary: str | None = None) -> None:
        self.workdir = Path(workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.config = Path(config)
        self.binary = binary or collector_binary()
        self.ports = {name: free_port() for name in ("otlp_grpc", "otlp_http", "prometheus", "health", "telemetry")}
        self.audit_dir = self.workdir / "audit"
        self.storage_dir = self.workdir / "storage"
        self.env = {**self.default_settings(), **(env or {})}
        self.process = Process([self.binary, f"--config={self.config}"], self.workdir / "collector.log",
                               env={**os.environ, **self.env})

    def default_settings(self) -> dict[str, str]:
        """Values for the OTELCOL_* variables of otelcol.yaml (collector-config/README.md lists them)."""
        unreachable = f"http://127.0.0.1:{free_port()}"  # nothing listens: exports there queue and retry
        return {
            "OTELCOL_OTLP_GRPC_ENDPOINT": f"127.0.0.1:{self.ports['otlp_grpc']}",
            "OTELCOL_OTLP_HTTP_ENDPOINT": f"127.0.0.1:{self.ports['otlp_http']}",
            "OTELCOL_PROMETHEUS_ENDPOINT": f"127.0.0.1:{self.ports['prometheus']}",
            "OTELCOL_HEALTH_CHECK_ENDPOINT": f"127.0.0.1:{self.ports['health']}",
            "OTELCOL_TELEMETRY_PORT": str(self.ports["telemetry"]),
            "OTELCOL_TELEMETRY_HOST": "127.0.0.1",
            "OTELCOL_AUDIT_FILE": str(self.audit_dir / "openrouter-audit.jsonl"),
            "OTELCOL_STORAGE_DIR": str(self.storage_dir),
            "OTELCOL_TEMPO_ENDPOINT": unreachable,
            "OTELCOL_LOKI_ENDPOINT": unreachable,
        }

    @property
    def otlp_http_endpoint(self) -> str:
        return f"http://{self.env['OTELCOL_OTLP_HTTP_ENDPOINT']}"

    @property
    def otlp_grpc_endpoint(self) -> str:
        return self.env["OTELCOL_OTLP_GRPC_ENDPOINT"]

    @property
    def prometheus_target(self) -> str:
        """host:port of the prometheus exporter, for a scrape config."""
        return self.env["OTELCOL_PROMETHEUS_ENDPOINT"]

    @property
    def metrics_url(self) -> str:
        return f"http://{self.prometheus_target}/metrics"

    @property
    def health_url(self) -> str:
        return f"http://{self.env['OTELCOL_HEALTH_CHECK_ENDPOINT']}/"

    @property
    def audit_file(self) -> Path:
        return Path(self.env["OTELCOL_AUDIT_FILE"])

    def audit_files(self) -> list[Path]:
        """The audit file and its rotated backups, oldest first."""
        current = self.audit_file
        backups = sorted(path for path in current.parent.glob(f"{current.stem}*") if path != current)
        return [*backups, *([current] if current.exists() else [])]

    def audit_lines(self) -> list[dict]:
        """Every JSON line of the audit files (each an OTLP/JSON ExportLogsServiceRequest)."""
        lines = []
        for path in self.audit_files():
            lines.extend(json.loads(line) for line in path.read_text().splitlines() if line.strip())
        return lines

    def start(self, timeout: float = 60.0) -> Collector:
        self.audit_dir.mkdir(parents=True, exist_ok=True)
        self.storage_dir.mkdir(parents=True, exist_ok=True)
        popen = self.process.start()
        try:
            wait_http(self.health_url, timeout=timeout, process=popen)
        except ServiceError as error:
            self.process.stop(signal.SIGKILL)
            raise ServiceError(f"{error}\n--- collector log ---\n{self.process.log_tail()}") from None
        return self

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 30.0) -> int | None:
        return self.process.stop(sig, timeout)

    def restart(self, sig: int = signal.SIGTERM) -> Collector:
        self.stop(sig)
        return self.start()

    def log_tail(self, chars: int = 4000) -> str:
        return self.process.log_tail(chars)

    def __enter__(self) -> Collector:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()


def instrumented_env(otlp_endpoint: str, service_name: str, extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """Environment for an app under `opentelemetry-instrument` exporting everything over OTLP/HTTP quickly."""
    python_path = os.pathsep.join(filter(None, [str(REPO_ROOT), os.environ.get("PYTHONPATH")]))
    return {
        **os.environ,
        "PYTHONPATH": python_path,
        "OTEL_SERVICE_NAME": service_name,
        "OTEL_TRACES_EXPORTER": "otlp",
        "OTEL_METRICS_EXPORTER": "otlp",
        "OTEL_LOGS_EXPORTER": "otlp",
        "OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf",
        "OTEL_EXPORTER_OTLP_ENDPOINT": otlp_endpoint,
        "OTEL_METRIC_EXPORT_INTERVAL": "500",
        "OTEL_BSP_SCHEDULE_DELAY": "200",
        "OTEL_BLRP_SCHEDULE_DELAY": "200",
        "OTEL_PYTHON_LOGGING_AUTO_INSTRUMENTATION_ENABLED": "true",
        **(extra or {}),
    }


def instrumented_argv(script: Path) -> list[str]:
    return [str(Path(sys.executable).parent / "opentelemetry-instrument"), sys.executable, str(script)]


def run_instrumented(script: Path, env: Mapping[str, str], timeout: float = 120.0) -> str:
    """Run `script` under `opentelemetry-instrument` to completion; its stdout, or a failure with its stderr."""
    completed = subprocess.run(instrumented_argv(script), env=dict(env), capture_output=True, text=True,
                               timeout=timeout, check=False)
    if completed.returncode != 0:
        raise AssertionError(f"{script.name} exited with {completed.returncode}:\n{completed.stderr[-4000:]}")
    return completed.stdout
