"""One background thread that does the recording work of ended calls, off the caller's path.

Like the SDK's batch processors: items wait in a bounded queue and are handled in batches; `flush()` handles
what is left in the calling thread and waits for the batch in progress, and the process's exit and a fork are
handled. Unlike them nothing is dropped: when the queue is full the item is handled in the caller's thread.
"""

from __future__ import annotations

import atexit
import collections
import logging
import os
import threading
import time
import weakref
from typing import Any, Callable

logger = logging.getLogger(__name__)

# How long the recorder works before it lets other threads in (the interpreter's own switch interval is 5 ms).
YIELD_EVERY_S = 0.001


class Worker:
    def __init__(self, handle: Callable[[Any], None], *, max_pending: int = 4096, batch_delay: float = 0.02) -> None:
        self._handle = handle
        self._max_pending = max_pending
        self._batch_delay = batch_delay  # let a burst of calls gather into one batch
        self._stopped = False
        self._reset()
        _live.add(self)

    def _reset(self) -> None:
        self._pending: collections.deque[Any] = collections.deque()
        self._wake = threading.Event()
        self._busy = threading.RLock()  # held while items are handled: flush() waits on it
        self._thread: threading.Thread | None = None
        self._thread_lock = threading.Lock()

    def submit(self, item: Any) -> None:
        """Hand an item over; returns at once (or, with the queue full or the worker stopped, after handling it)."""
        if self._stopped or len(self._pending) >= self._max_pending:
            self._handle_one(item)
            return
        self._pending.append(item)
        if not self._wake.is_set():
            self._wake.set()
        if self._thread is None:
            self._start_thread()

    def flush(self, timeout: float | None = None) -> bool:
        """Handle everything submitted so far; False if the batch in progress did not finish within `timeout`."""
        if not self._busy.acquire(timeout=-1 if timeout is None else max(timeout, 0)):
            return False
        try:
            self._drain()
        finally:
            self._busy.release()
        return True

    def shutdown(self) -> None:
        self._stopped = True
        _live.discard(self)
        if self._thread is not None:  # its exit hook was registered with it
            atexit.unregister(self.shutdown)
        self.flush(timeout=5.0)
        self._wake.set()

    def _start_thread(self) -> None:
        with self._thread_lock:
            if self._thread is None:
                # Registered now, not at import: exit hooks run last-registered first, so this one runs before
                # the shutdown hooks of the providers the application set up before its first call.
                atexit.register(self.shutdown)
                self._thread = threading.Thread(target=self._run, name="openrouter-otel-recorder", daemon=True)
                self._thread.start()

    def _run(self) -> None:
        while not self._stopped:
            self._wake.wait()
            if self._batch_delay:
                time.sleep(self._batch_delay)
            self._wake.clear()
            with self._busy:
                self._drain()

    def _drain(self) -> None:
        pending = self._pending
        yielded = time.perf_counter()
        while pending:
            try:
                item = pending.popleft()
            except IndexError:  # taken by a concurrent flush
                return
            self._handle_one(item)
            if time.perf_counter() - yielded >= YIELD_EVERY_S:
                # Let a thread waiting for the GIL (a caller back from its I/O) in. Not after every call: each
                # yield to a waiting thread is a context switch, which costs more than recording a call.
                time.sleep(0)
                yielded = time.perf_counter()

    def _handle_one(self, item: Any) -> None:
        try:
            self._handle(item)
        except Exception:
            logger.debug("openrouter-otel: could not record an ended call", exc_info=True)


# One fork hook for all workers, registered once (instrumenting again adds none).
_live: weakref.WeakSet[Worker] = weakref.WeakSet()


def _reset_all_in_child() -> None:
    for worker in list(_live):
        worker._reset()  # the thread did not survive the fork; pending items are the parent's to record


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_reset_all_in_child)
