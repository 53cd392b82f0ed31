"""A minimal OTLP/HTTP receiver on 127.0.0.1 for tests: keeps every request body it is sent.

Exporters (the SDK's OTLP/HTTP exporters, a collector's `otlphttp` exporter) post protobuf to
`/v1/traces`, `/v1/metrics` and `/v1/logs`; this answers 200 with an empty export response and keeps the
raw bytes, so tests can both decode them and search them for bytes that must never leave the process.
"""

from __future__ import annotations

import gzip
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import ExportMetricsServiceRequest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

SIGNALS = {"/v1/traces": ExportTraceServiceRequest, "/v1/metrics": ExportMetricsServiceRequest,
           "/v1/logs": ExportLogsServiceRequest}


class OtlpReceiver:
    """`with OtlpReceiver() as receiver:` then point exporters at `receiver.endpoint`."""

    def __init__(self, port: int = 0) -> None:
        """`port` 0 picks a free one; a fixed port lets a test bring a "backend" back where it was."""
        self.bodies: dict[str, list[bytes]] = {path: [] for path in SIGNALS}
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", port), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def __enter__(self) -> OtlpReceiver:
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._server.shutdown()
        self._server.server_close()

    def raw(self) -> bytes:
        """Everything received, concatenated: what must not contain a sensitive byte."""
        with self._lock:
            return b"".join(body for bodies in self.bodies.values() for body in bodies)

    def decoded(self, path: str) -> list[Any]:
        with self._lock:
            bodies = list(self.bodies[path])
        messages = []
        for body in bodies:
            message = SIGNALS[path]()
            message.ParseFromString(body)
            messages.append(message)
        return messages

    def spans(self) -> list[Any]:
        return [span for request in self.decoded("/v1/traces") for resource in request.resource_spans
                for scope in resource.scope_spans for span in scope.spans]

    def log_records(self) -> list[Any]:
        return [record for request in self.decoded("/v1/logs") for resource in request.resource_logs
                for scope in resource.scope_logs for record in scope.log_records]

    def wait_for(self, predicate: Any, timeout: float = 20.0) -> None:
        deadline = time.monotonic() + timeout
        while not predicate():
            if time.monotonic() > deadline:
                raise AssertionError("the OTLP receiver did not get the expected telemetry in time")
            time.sleep(0.05)

    def _keep(self, path: str, body: bytes) -> None:
        with self._lock:
            self.bodies[path].append(body)

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                if self.headers.get("Content-Encoding") == "gzip":
                    body = gzip.decompress(body)
                path = self.path.split("?", 1)[0]
                if path not in SIGNALS:
                    self.send_response(404)
                    self.end_headers()
                    return
                receiver._keep(path, body)
                reply = b""  # an empty export response, serialized
                self.send_response(200)
                self.send_header("Content-Type", "application/x-protobuf")
                self.send_header("Content-Length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

            def log_message(self, *args: Any) -> None:
                pass

        return Handler
