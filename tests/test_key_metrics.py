"""Key credit telemetry: `GET /key` polled in the background for each key the process uses, as gauges."""

from __future__ import annotations

import json
import logging
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import SimpleNamespace
from typing import Any, Iterator

import openai
import pytest

from openrouter_otel import OpenRouterInstrumentor
from openrouter_otel import semconv as sc
from openrouter_otel.extract import api_key_fingerprint
from openrouter_otel.keys import KeyPoller
from openrouter_otel.server.replay import KeyProfile

DRAINING_KEY = "sk-or-v1-draining-" + "7" * 46
MESSAGES = [{"role": "user", "content": "How much credit is left?"}]


def gauge(pipelines: Any, name: str, key: str = DRAINING_KEY) -> float | None:
    values = [point.value for point in pipelines.points(name)
              if point.attributes == {sc.OPENROUTER_API_KEY_FINGERPRINT: api_key_fingerprint(key)}]
    return values[-1] if values else None


def wait_for(predicate: Any, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


@pytest.fixture
def draining_client(replay_server: Any) -> Iterator[openai.OpenAI]:
    expires = KeyProfile(limit=10.0, usage=2.0, limit_reset="monthly")
    replay_server.register_key(DRAINING_KEY, expires)
    client = openai.OpenAI(base_url=replay_server.base_url, api_key=DRAINING_KEY, max_retries=0)
    yield client
    client.close()


def poller() -> KeyPoller:
    found = OpenRouterInstrumentor()._key_poller
    assert found is not None
    return found


def test_the_gauges_follow_a_key_whose_credit_drains(instrument, draining_client, replay_server):
    pipelines = instrument(key_metrics=True)
    draining_client.chat.completions.create(model="openai/gpt-4o-mini", messages=MESSAGES)
    wait_for(lambda: gauge(pipelines, sc.METRIC_KEY_LIMIT_REMAINING) is not None)
    # The thread's first poll follows the key's first call at once, possibly before the server charged it.
    poller().poll_now()
    assert gauge(pipelines, sc.METRIC_KEY_LIMIT) == 10.0
    first = gauge(pipelines, sc.METRIC_KEY_LIMIT_REMAINING)
    spent_today = gauge(pipelines, sc.METRIC_KEY_USAGE_DAILY)
    assert spent_today > 0 and first == pytest.approx(10.0 - 2.0 - spent_today)  # the call itself was charged
    for usage, remaining in ((6.0, 4.0), (9.5, 0.5), (12.0, 0.0)):
        replay_server.ledger.set_usage(DRAINING_KEY, usage)
        poller().poll_now()
        assert gauge(pipelines, sc.METRIC_KEY_LIMIT_REMAINING) == pytest.approx(max(remaining - spent_today, 0))
    draining_client.chat.completions.create(model="openai/gpt-4o-mini", messages=MESSAGES + MESSAGES)
    poller().poll_now()
    assert gauge(pipelines, sc.METRIC_KEY_USAGE_DAILY) > spent_today
    for name in (sc.METRIC_KEY_USAGE_WEEKLY, sc.METRIC_KEY_USAGE_MONTHLY, sc.METRIC_KEY_BYOK_USAGE):
        assert gauge(pipelines, name) is not None, name
    assert gauge(pipelines, sc.METRIC_KEY_EXPIRES_IN) is None  # the key does not expire


def test_expiry_is_seconds_from_now(instrument, replay_server):
    key = "sk-or-v1-expiring-" + "8" * 46
    replay_server.register_key(key, KeyProfile(limit=10.0, expires_at=_in_hours(12)))
    pipelines = instrument(key_metrics=True)
    with openai.OpenAI(base_url=replay_server.base_url, api_key=key, max_retries=0) as client:
        client.chat.completions.create(model="openai/gpt-4o-mini", messages=MESSAGES)
    wait_for(lambda: gauge(pipelines, sc.METRIC_KEY_EXPIRES_IN, key) is not None)
    assert gauge(pipelines, sc.METRIC_KEY_EXPIRES_IN, key) == pytest.approx(12 * 3600, abs=60)


def test_labels_carry_the_fingerprint_never_the_key(instrument, draining_client):
    pipelines = instrument(key_metrics=True)
    draining_client.chat.completions.create(model="openai/gpt-4o-mini", messages=MESSAGES)
    wait_for(lambda: gauge(pipelines, sc.METRIC_KEY_LIMIT) is not None)
    data = pipelines.metric_reader.get_metrics_data().to_json()
    assert DRAINING_KEY not in data and DRAINING_KEY[9:30] not in data
    assert api_key_fingerprint(DRAINING_KEY) in data


def test_off_by_default(instrument, draining_client, replay_server):
    pipelines = instrument()
    replay_server.clear_requests()
    draining_client.chat.completions.create(model="openai/gpt-4o-mini", messages=MESSAGES)
    time.sleep(0.2)
    assert [request.route for request in replay_server.requests] == ["/chat/completions"]
    assert pipelines.points(sc.METRIC_KEY_LIMIT) == []


def test_polling_never_holds_up_a_call(instrument, draining_client, monkeypatch):
    release = threading.Event()
    monkeypatch.setattr(KeyPoller, "_fetch", lambda self, url, key: (release.wait(10), (None, None))[1])
    instrument(key_metrics=True)
    try:
        started = time.perf_counter()
        draining_client.chat.completions.create(model="openai/gpt-4o-mini", messages=MESSAGES)
        assert time.perf_counter() - started < 2.0
    finally:
        release.set()


# --- a key endpoint that refuses or answers garbage ------------------------------------------------------

class _KeyEndpoint(BaseHTTPRequestHandler):
    answer: tuple[int, bytes] = (200, b"{}")

    def do_GET(self) -> None:  # noqa: N802
        status, body = self.server.answer  # type: ignore[attr-defined]
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def key_endpoint() -> Iterator[Any]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _KeyEndpoint)
    server.answer = (200, b"{}")  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


GOOD = json.dumps({"data": {"limit": 20.0, "limit_remaining": 15.0, "usage_daily": 1.0, "usage_weekly": 2.0,
                            "usage_monthly": 5.0, "byok_usage": 0.0, "expires_at": None}}).encode()


@pytest.mark.parametrize(("status", "body", "words"), [
    (401, b'{"error": {"code": 401, "message": "User not found."}}', "HTTP 401"),
    (429, b'{"error": {"code": 429}}', "HTTP 429"),
    (502, b"<html>bad gateway</html>", "HTTP 502"),
    (200, b"not json at all", "did not answer with OpenRouter's key object"),
    (200, b'{"data": {"limit": "lots"}}', "did not answer with OpenRouter's key object"),
])
def test_a_refusing_or_garbled_endpoint_is_one_warning_and_no_value(pipelines, key_endpoint, caplog, status, body,
                                                                    words):
    poller = KeyPoller(pipelines.meter_provider.get_meter("test"), 60)
    key = "sk-or-v1-refused-" + "9" * 47
    key_endpoint.answer = (200, GOOD)
    poller.learn(SimpleNamespace(base_url=f"http://127.0.0.1:{key_endpoint.server_port}/api/v1", api_key=key))
    try:
        poller.poll_now()
        assert gauge(pipelines, sc.METRIC_KEY_LIMIT_REMAINING, key) == 15.0
        key_endpoint.answer = (status, body)
        with caplog.at_level(logging.WARNING, logger="openrouter_otel"):
            poller.poll_now()
            poller.poll_now()
        warnings = [record.getMessage() for record in caplog.records if record.levelno >= logging.WARNING]
        assert len(warnings) == 1 and words in warnings[0] and key not in warnings[0]
        assert api_key_fingerprint(key) in warnings[0]
        assert gauge(pipelines, sc.METRIC_KEY_LIMIT_REMAINING, key) is None  # nothing invented, nothing stale
        key_endpoint.answer = (200, GOOD)
        poller.poll_now()
        assert gauge(pipelines, sc.METRIC_KEY_LIMIT_REMAINING, key) == 15.0
    finally:
        poller.shutdown()


def test_an_unreachable_endpoint_is_one_warning(pipelines, free_port, caplog):
    poller = KeyPoller(pipelines.meter_provider.get_meter("test"), 60)
    poller.learn(SimpleNamespace(base_url=f"http://127.0.0.1:{free_port}/api/v1", api_key="sk-or-v1-nowhere"))
    with caplog.at_level(logging.WARNING, logger="openrouter_otel"):
        poller.poll_now()
        poller.poll_now()
    poller.shutdown()
    warnings = [record.getMessage() for record in caplog.records if record.levelno >= logging.WARNING]
    assert len(warnings) == 1 and "could not reach" in warnings[0]
    assert gauge(pipelines, sc.METRIC_KEY_LIMIT, "sk-or-v1-nowhere") is None


def _in_hours(hours: float) -> Any:
    from datetime import datetime, timedelta, timezone

    return datetime.now(timezone.utc) + timedelta(hours=hours)
