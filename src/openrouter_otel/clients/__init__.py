"""Clients other than the `openai` SDK: the official `openrouter` SDK, plain httpx, httpx2 and requests, and
DSPy's vendored lm15 transport.

Each adapter module names its wrap points, `WRAPS` = (module, class, method, is_async), and makes a wrapper
for each (`wrapper(telemetry, is_async)`); a module that is not installed is skipped. The shared HTTP-level
core is clients/http.py.
"""

from __future__ import annotations

import importlib
import logging
from typing import Any

from opentelemetry.instrumentation.utils import unwrap
from wrapt import wrap_function_wrapper

from openrouter_otel.call import Telemetry

logger = logging.getLogger(__name__)

ADAPTERS = (
    "openrouter_otel.clients.openrouter_sdk",
    "openrouter_otel.clients.httpx_clients",
    "openrouter_otel.clients.requests_client",
    "openrouter_otel.clients.lm15",
)


def _targets() -> Any:
    for adapter_name in ADAPTERS:
        adapter = importlib.import_module(adapter_name)
        for module_name, class_name, method, is_async in adapter.WRAPS:
            try:
                module = importlib.import_module(module_name)
            except ImportError:  # the client is not installed: nothing to record
                continue
            if hasattr(getattr(module, class_name, None), method):
                yield adapter, module, class_name, method, is_async
            else:
                logger.warning("openrouter-otel: %s has no %s.%s; its calls are not recorded",
                               module_name, class_name, method)


def wrap_all(telemetry: Telemetry) -> None:
    for adapter, module, class_name, method, is_async in _targets():
        try:
            wrap_function_wrapper(module, f"{class_name}.{method}", adapter.wrapper(telemetry, is_async))
        except Exception:
            logger.warning("openrouter-otel: could not wrap %s.%s.%s", module.__name__, class_name, method,
                           exc_info=True)


def unwrap_all() -> None:
    for _, module, class_name, method, _ in _targets():
        unwrap(getattr(module, class_name), method)
