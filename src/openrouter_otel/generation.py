"""Background lookup of OpenRouter's generation endpoint, for calls whose response carried no cost.

Off by default (OTEL_INSTRUMENTATION_OPENROUTER_FETCH_GENERATION). The request path only enqueues:
one daemon thread does the HTTP, then ends the call's span with its original end time. A full queue,
a failed lookup or process exit end the call without the fetched cost, never later than LOOKUP_BUDGET_S
after the lookup starts.
"""

from __future__ import annotations

import atexit
import json
import logging
import queue
import threading
import time
import urllib.parse
import urllib.request
from typing import TYPE_CHECKING, Any

from openrouter_otel import semconv as sc
from openrouter_otel.cost import Cost
from openrouter_otel.extract import as_bool, as_float, get

if TYPE_CHECKING:
    from openrouter_otel.call import Call

logger = logging.getLogger(__name__)

# The longest one lookup may hold a span open, all attempts and pauses included (README's FETCH_GENERATION row).
LOOKUP_BUDGET_S = 3.0


class GenerationFetcher:
    def __init__(
        self, *, max_queue: int = 1000, attempts: int = 4, first_delay: float = 0.5, timeout: float = 2.0,
        budget: float = LOOKUP_BUDGET_S,
    ):
        self._queue: queue.Queue[tuple[Call, int, float, str, str] | None] = queue.Queue(maxsize=max_queue)
        self._attempts = attempts
        self._first_delay = first_delay
        self._timeout = timeout
        self._budget = budget
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._stopped = False
        atexit.register(self.shutdown)

    def submit(self, call: Call, end_ns: int, duration: float) -> None:
        target = _generation_url(call)
        if target is None or self._stopped:
            call.complete(end_ns, duration, None)
            return
        url, api_key = target
        try:
            self._ensure_thread()
            self._queue.put_nowait((call, end_ns, duration, url, api_key))
        except queue.Full:
            call.complete(end_ns, duration, None)

    def shutdown(self) -> None:
        """End every pending call now (without the fetched cost) and stop the worker."""
        self._stopped = True
        atexit.unregister(self.shutdown)
        while True:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                break
            if item is not None:
                call, end_ns, duration, _, _ = item
                call.complete(end_ns, duration, None)
        try:
            self._queue.put_nowait(None)
        except queue.Full:
            pass

    def _ensure_thread(self) -> None:
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="openrouter-otel-generation", daemon=True)
                self._thread.start()

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            if item is None:
                return
            call, end_ns, duration, url, api_key = item
            cost = None
            try:
                cost = self._fetch(url, api_key)
            except Exception:
                logger.debug("openrouter-otel: generation lookup failed", exc_info=True)
            call.complete(end_ns, duration, cost)

    def _fetch(self, url: str, api_key: str) -> Cost | None:
        deadline = time.monotonic() + self._budget
        delay = self._first_delay
        for attempt in range(self._attempts):
            remaining = deadline - time.monotonic()
            if self._stopped or remaining <= 0:
                return None
            data = _get_json(url, api_key, min(self._timeout, remaining))
            if data is not None:
                return cost_from_generation(data)
            if attempt + 1 == self._attempts or time.monotonic() + delay >= deadline:
                return None  # no pause that no attempt follows
            time.sleep(delay)  # the generation record appears a moment after the response
            delay *= 2
        return None


def cost_from_generation(payload: Any) -> Cost | None:
    data = get(payload, "data")
    total = as_float(get(data, "total_cost"))
    if total is None or total < 0:
        return None
    upstream = as_float(get(data, "upstream_inference_cost"))
    return Cost(total, sc.COST_SOURCE_GENERATION, upstream, as_bool(get(data, "is_byok")))


def _generation_url(call: Call) -> tuple[str, str] | None:
    base_url, api_key = call.client_base_url, call.client_api_key
    response_id = call.result.get(sc.GEN_AI_RESPONSE_ID)
    if not base_url or not api_key or not isinstance(response_id, str):
        return None
    query = urllib.parse.urlencode({"id": response_id})
    return f"{base_url.rstrip('/')}/generation?{query}", api_key


def _get_json(url: str, api_key: str, timeout: float) -> Any:
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {api_key}"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 - the client's own base URL
            return json.loads(response.read())
    except Exception:
        return None
