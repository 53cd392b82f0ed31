"""Key credit telemetry: OpenRouter's `GET /key`, polled in the background, as observable gauges.

Opt-in (OTEL_INSTRUMENTATION_OPENROUTER_KEY_METRICS). The request path only notes which (base URL, key) a call
used (a dictionary look-up); one daemon thread asks `{base_url}/key` about each key right after it is first
seen and then every OTEL_INSTRUMENTATION_OPENROUTER_KEY_METRICS_INTERVAL seconds (60). The gauges are labelled
with the key's fingerprint (`openrouter.api_key.fingerprint`), never the key. A refusal (401, 429, 5xx), no
answer or an answer that is not the key object is one warning per key and kind of failure, and that key's
gauges report nothing until the endpoint answers again: no value is invented or left standing stale.
"""

from __future__ import annotations

import logging
import threading
import time
import urllib.request
from datetime import datetime
from typing import Any, Callable, Iterable

from opentelemetry.metrics import CallbackOptions, Meter, Observation

from openrouter_otel import semconv as sc
from openrouter_otel.extract import api_key_fingerprint

logger = logging.getLogger(__name__)

TIMEOUT_S = 10.0
# Gauge -> the `GET /key` field it reports (USD).
USD_GAUGES = {
    sc.METRIC_KEY_LIMIT: "limit",
    sc.METRIC_KEY_LIMIT_REMAINING: "limit_remaining",
    sc.METRIC_KEY_USAGE_DAILY: "usage_daily",
    sc.METRIC_KEY_USAGE_WEEKLY: "usage_weekly",
    sc.METRIC_KEY_USAGE_MONTHLY: "usage_monthly",
    sc.METRIC_KEY_BYOK_USAGE: "byok_usage",
}
EXPIRES_AT = "expires_at"


class KeyPoller:
    """The keys this process used, what `GET /key` last said about each, and the gauges reporting it."""

    def __init__(self, meter: Meter, interval_s: float, clock: Callable[[], float] = time.time) -> None:
        self.interval_s = max(float(interval_s), 1.0)
        self._clock = clock
        self._keys: dict[str, tuple[str, str]] = {}  # api key -> (its /key URL, fingerprint)
        self._known: dict[tuple[str, str], None] = {}  # (base URL, api key) seen, for the request path
        self._values: dict[str, dict[str, Any]] = {}  # fingerprint -> the key object's fields
        self._warned: set[tuple[str, str]] = set()
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stopped = threading.Event()
        self._thread: threading.Thread | None = None
        for name, field in USD_GAUGES.items():
            meter.create_observable_gauge(name, callbacks=[self._observer(field)], unit="USD",
                                          description=f"OpenRouter key's {field} in USD, from GET /key")
        meter.create_observable_gauge(sc.METRIC_KEY_EXPIRES_IN, callbacks=[self._observe_expiry], unit="s",
                                      description="Seconds until the OpenRouter key expires, from GET /key")

    # --- the request path: note the key, nothing else ---

    def learn(self, client: Any) -> None:
        try:
            base_url, api_key = str(getattr(client, "base_url", "")), getattr(client, "api_key", None)
            if (base_url, api_key) in self._known or not isinstance(api_key, str) or not api_key or not base_url:
                return
            with self._lock:
                self._known[(base_url, api_key)] = None
                self._keys[api_key] = (base_url.rstrip("/") + "/key", api_key_fingerprint(api_key))
            self._ensure_thread()
            self._wake.set()
        except Exception:
            logger.debug("openrouter-otel: could not note a key for the key metrics", exc_info=True)

    # --- the background thread ---

    def _ensure_thread(self) -> None:
        if self._thread is None and not self._stopped.is_set():
            self._thread = threading.Thread(target=self._run, name="openrouter-otel-key-metrics", daemon=True)
            self._thread.start()

    def _run(self) -> None:
        while not self._stopped.is_set():
            self._wake.clear()
            self.poll_now()
            self._wake.wait(self.interval_s)

    def poll_now(self) -> None:
        """Ask `GET /key` about every key now (the thread does this; tests and `flush`-style callers may too)."""
        with self._lock:
            keys = list(self._keys.items())
        for api_key, (url, fingerprint) in keys:
            if self._stopped.is_set():
                return
            data, problem = self._fetch(url, api_key)
            with self._lock:
                if data is None:
                    self._values.pop(fingerprint, None)
                else:
                    self._values[fingerprint] = data
            if problem is not None:
                self._warn_once(fingerprint, *problem)

    def _fetch(self, url: str, api_key: str) -> tuple[dict[str, Any] | None, tuple[str, str] | None]:
        from openrouter_otel.check import Unreachable, http_json

        request = urllib.request.Request(url)
        # Unredirected: urllib would otherwise send the key on to wherever a redirect points.
        request.add_unredirected_header("Authorization", f"Bearer {api_key}")
        try:
            status, body = http_json(request, TIMEOUT_S)
        except Unreachable as error:
            return None, ("unreachable", f"could not reach {url} ({error})")
        if status != 200:
            return None, (f"http-{status}", f"{url} answered HTTP {status}")
        data = body.get("data") if isinstance(body, dict) else None
        if not isinstance(data, dict) or not any(_usd(data.get(field)) is not None for field in USD_GAUGES.values()):
            return None, ("garbage", f"{url} did not answer with OpenRouter's key object")
        return data, None

    def _warn_once(self, fingerprint: str, kind: str, message: str) -> None:
        if (fingerprint, kind) in self._warned:
            return
        self._warned.add((fingerprint, kind))
        logger.warning("openrouter-otel: key metrics for key %s: %s; its gauges report nothing until it answers",
                       fingerprint, message)

    def shutdown(self) -> None:
        self._stopped.set()
        self._wake.set()
        thread, self._thread = self._thread, None
        if thread is not None:
            thread.join(timeout=TIMEOUT_S + 1)
        with self._lock:
            self._values.clear()

    # --- the gauges ---

    def _observer(self, field: str) -> Callable[[CallbackOptions], Iterable[Observation]]:
        def observe(options: CallbackOptions) -> Iterable[Observation]:
            return [Observation(value, {sc.OPENROUTER_API_KEY_FINGERPRINT: fingerprint})
                    for fingerprint, data in self._snapshot() if (value := _usd(data.get(field))) is not None]
        return observe

    def _observe_expiry(self, options: CallbackOptions) -> Iterable[Observation]:
        now = self._clock()
        return [Observation(expires - now, {sc.OPENROUTER_API_KEY_FINGERPRINT: fingerprint})
                for fingerprint, data in self._snapshot() if (expires := _timestamp(data.get(EXPIRES_AT))) is not None]

    def _snapshot(self) -> list[tuple[str, dict[str, Any]]]:
        with self._lock:
            return list(self._values.items())


def _usd(value: Any) -> float | None:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def _timestamp(value: Any) -> float | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None
