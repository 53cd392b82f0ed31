"""Background lookup of OpenRouter's generation endpoint, for calls whose response carried no cost.

Off by default (OTEL_INSTRUMENTATION_OPENROUTER_FETCH_GENERATION). A lookup is a URL, a key and a callback:
one daemon thread does the HTTP, then calls the callback with the cost it found, or None. A full queue, a
failed lookup or process exit call it with None, never later than LOOKUP_BUDGET_S after the lookup starts.
"""

from __future__ import annotations

import atexit
import json
import logging
import queue
import threading
import time
import urllib.request
from typing import Any, Callable

from openrouter_otel import semconv as sc
from openrouter_otel.cost import Cost
from openrouter_otel.extract import as_bool, as_float, get

# Called once per lookup with the cost found, or None.
OnCost = Callable[["Cost | None"], None]

logger = logging.getLogger(__name__)

# The longest one lookup may hold a span open, all attempts and pauses included (README's FETCH_GENERATION row).
LOOKUP_BUDGET_S = 3.0


class GenerationFetcher:
    def __init__(
        self, *, max_queue: int = 1000, attempts: int = 4, first_delay: float = 0.5, timeout: float = 2.0,
        budget: float = LOOKUP_BUDGET_S,
    ):
        self._queue: queue.Queue[tuple[str, str, OnCost] | None] = queue.Queue(maxsize=max_queue)
        self._attempts = attempts
        self._first_delay = first_delay
        self._timeout = timeout
        self._budget = budget
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._stopped = False
        atexit.register(self.shutdown)

    def submit(self, url: str, api_key: str, on_cost: OnCost) -> None:
        if self._stopped:
            _call(on_cost, None)
            return
        try:
            self._ensure_thread()
            self._queue.put_nowait((url, api_key, on_cost))
        except queue.Full:
            _call(on_cost, None)

    def shutdown(self) -> None:
        """Answer every pending lookup now (with no cost) and stop the worker."""
        self._stopped = True
        atexit.unregister(self.shutdown)
        while True:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                break
            if item is not None:
                _call(item[2], None)
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
            url, api_key, on_cost = item
            cost = None
            try:
                cost = self._fetch(url, api_key)
            except Exception:
                logger.debug("openrouter-otel: generation lookup failed", exc_info=True)
            _call(on_cost, cost)

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


def _call(on_cost: OnCost, cost: Cost | None) -> None:
    try:
        on_cost(cost)
    except Exception:
        logger.debug("openrouter-otel: could not record a looked-up cost", exc_info=True)


def _get_json(url: str, api_key: str, timeout: float) -> Any:
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {api_key}"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 - the client's own base URL
            return json.loads(response.read())
    except Exception:
        return None
