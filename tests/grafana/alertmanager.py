"""A real Alertmanager (Debian's `prometheus-alertmanager`) delivering to a webhook receiver in the test process.

The Prometheus alerting rules (grafana/prometheus/alerts.yaml, generated with the Grafana rules) are evaluated by
each environment's own Prometheus, which sends what fires to this Alertmanager; it groups nothing (one
notification per alert) and posts every notification to `Webhook`, which keeps them.
"""

from __future__ import annotations

import json
import shutil
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import yaml

from tests.e2e.services import Process, ServiceError, free_port, start_until_ready
from tests.grafana import grafana_files

PROMETHEUS_RULES_FILE = grafana_files.GRAFANA_DIR / "prometheus" / "alerts.yaml"
BINARIES = ("prometheus-alertmanager", "alertmanager")


def alertmanager_binary() -> str:
    for name in BINARIES:
        found = shutil.which(name)
        if found:
            return found
    raise ServiceError("Alertmanager is not installed: apt-get install prometheus-alertmanager "
                       "(scripts/install-prometheus.sh installs it with Prometheus)")


class Webhook:
    """An HTTP server keeping every alert Alertmanager posts: (labels, annotations, status) per alert."""

    def __init__(self) -> None:
        self.alerts: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        webhook = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))))
                with webhook._lock:
                    webhook.alerts.extend(body.get("alerts", []))
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/alerts"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def received(self) -> list[dict[str, Any]]:
        with self._lock:
            return list(self.alerts)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class Alertmanager:
    def __init__(self, workdir: Path, webhook_url: str) -> None:
        self.workdir = Path(workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.port, self.cluster_port = free_port(), free_port()
        self.address = f"127.0.0.1:{self.port}"
        config = {
            "route": {"receiver": "webhook", "group_by": ["..."], "group_wait": "1s", "group_interval": "1s",
                      "repeat_interval": "1h"},
            "receivers": [{"name": "webhook", "webhook_configs": [{"url": webhook_url, "send_resolved": False}]}],
        }
        self.config_path = self.workdir / "alertmanager.yml"
        self.config_path.write_text(yaml.safe_dump(config))
        argv = [alertmanager_binary(), f"--config.file={self.config_path}", f"--storage.path={self.workdir / 'data'}",
                f"--web.listen-address={self.address}", f"--cluster.listen-address=127.0.0.1:{self.cluster_port}",
                "--log.level=warn"]
        self.process = Process(argv, self.workdir / "alertmanager.log")

    def start(self) -> Alertmanager:
        start_until_ready(self.process, f"http://{self.address}/-/ready")
        return self

    def stop(self) -> None:
        self.process.stop()


def rule_file_for_tests(workdir: Path, interval: str) -> Path:
    """The generated Prometheus rule file as the tests run it: evaluated every `interval` and with no pending
    period (the rules' `for:` would make the test wait up to ten minutes); expressions, thresholds and labels as
    generated."""
    document = yaml.safe_load(PROMETHEUS_RULES_FILE.read_text(encoding="utf-8"))
    for group in document["groups"]:
        group["interval"] = interval
        for rule in group["rules"]:
            rule["for"] = "0s"
    path = Path(workdir) / "alerts.yaml"
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    return path
