"""OpenRouterInstrumentor: wires providers, settings and redaction to the wrappers in patch.py."""

from __future__ import annotations

import importlib
import logging
from typing import Any, Collection

from opentelemetry import trace
from opentelemetry._logs import get_logger_provider
from opentelemetry.instrumentation.instrumentor import BaseInstrumentor  # type: ignore[attr-defined]
from opentelemetry.instrumentation.utils import unwrap
from opentelemetry.metrics import get_meter_provider
from wrapt import wrap_function_wrapper

from openrouter_otel import patch, semconv
from openrouter_otel.call import Telemetry
from openrouter_otel.config import SETTING_KEYWORDS, Settings
from openrouter_otel.instruments import Instruments
from openrouter_otel.package import _instruments
from openrouter_otel.version import __version__

logger = logging.getLogger(__name__)

SCOPE_NAME = semconv.INSTRUMENTATION_SCOPE


class OpenRouterInstrumentor(BaseInstrumentor):  # type: ignore[misc]
    """Instruments the `openai` SDK: a span, metric points and an audit event for every LLM call.

    Keywords: `tracer_provider`, `meter_provider`, `logger_provider`, and every setting of
    `Settings` (`capture_message_content`, `redaction`, `prompt_hash_key`, `metrics_enduser`,
    `audit_events`, `fetch_generation`, `redaction_disable`, `redaction_patterns`, `redaction_hash_key`),
    which override the environment. `redaction_patterns` also takes a mapping of name to regex.
    """

    def __init__(self) -> None:
        super().__init__()
        self.settings: Settings | None = None
        self.redactor: Any = None
        self._redaction_installed: tuple[Any, Any] | None = None
        self._fetcher: Any = None

    def instrumentation_dependencies(self) -> Collection[str]:
        return _instruments

    def _instrument(self, **kwargs: Any) -> None:
        settings = Settings.load(_setting_overrides(kwargs))
        self.settings = settings
        tracer_provider = kwargs.get("tracer_provider") or trace.get_tracer_provider()
        meter_provider = kwargs.get("meter_provider") or get_meter_provider()
        logger_provider = kwargs.get("logger_provider") or get_logger_provider()
        tracer = trace.get_tracer(SCOPE_NAME, __version__, tracer_provider)
        meter = meter_provider.get_meter(SCOPE_NAME, __version__)
        audit_logger = logger_provider.get_logger(SCOPE_NAME, __version__) if settings.audit_events else None
        patterns = kwargs.get("redaction_patterns")
        self.redactor = self._make_redactor(settings, meter_provider, None if isinstance(patterns, str) else patterns)
        if settings.redaction and self.redactor is not None:
            self._install_redaction(tracer_provider, logger_provider)
        if settings.fetch_generation:
            from openrouter_otel.generation import GenerationFetcher

            self._fetcher = GenerationFetcher()
        telemetry = Telemetry(
            tracer,
            Instruments.create(meter),
            audit_logger,
            settings,
            redact=self.redactor.redact if self.redactor is not None else None,
            fetcher=self._fetcher,
        )
        self._wrap(telemetry)

    def _uninstrument(self, **kwargs: Any) -> None:
        base_client = importlib.import_module(patch.BASE_CLIENT_MODULE)
        for class_name, method in (*patch.REQUEST_METHODS, *patch.SEND_METHODS):
            cls = getattr(base_client, class_name, None)
            if cls is not None and hasattr(cls, method):
                unwrap(cls, method)
        if self._redaction_installed is not None:
            self._uninstall_redaction()
        if self._fetcher is not None:
            self._fetcher.shutdown()
            self._fetcher = None

    def _wrap(self, telemetry: Telemetry) -> None:
        base_client = importlib.import_module(patch.BASE_CLIENT_MODULE)
        sync_cls, async_cls = (class_name for class_name, _ in patch.REQUEST_METHODS)
        wrap_function_wrapper(base_client, f"{sync_cls}.request", patch.sync_request_wrapper(telemetry))
        wrap_function_wrapper(base_client, f"{async_cls}.request", patch.async_request_wrapper(telemetry))
        for class_name, method in patch.SEND_METHODS:
            if hasattr(getattr(base_client, class_name, None), method):
                wrap_function_wrapper(base_client, f"{class_name}.{method}", patch.send_wrapper)

    @staticmethod
    def _make_redactor(settings: Settings, meter_provider: Any, patterns: Any) -> Any:
        try:
            from openrouter_otel.redaction import Redactor
        except ImportError:
            return None
        try:
            return Redactor.from_settings(settings, meter_provider, patterns)
        except Exception:
            logger.warning("openrouter-otel: could not create the PII redactor; redaction is off", exc_info=True)
            return None

    def _install_redaction(self, tracer_provider: Any, logger_provider: Any) -> None:
        try:
            from openrouter_otel.redaction_processors import install_redaction
        except ImportError:
            return
        try:
            install_redaction(tracer_provider, logger_provider, self.redactor)
            self._redaction_installed = (tracer_provider, logger_provider)
        except Exception:
            logger.warning("openrouter-otel: could not install PII redaction", exc_info=True)

    def _uninstall_redaction(self) -> None:
        try:
            from openrouter_otel.redaction_processors import uninstall_redaction

            uninstall_redaction(*self._redaction_installed)  # type: ignore[misc]
        except Exception:
            logger.debug("openrouter-otel: could not uninstall PII redaction", exc_info=True)
        self._redaction_installed = None


def _setting_overrides(kwargs: dict[str, Any]) -> dict[str, Any]:
    """Keywords of instrument() as Settings values (which are text, like the environment)."""
    overrides = {key: kwargs.get(key) for key in SETTING_KEYWORDS}
    disable = overrides.get("redaction_disable")
    if disable is not None and not isinstance(disable, str):
        overrides["redaction_disable"] = ",".join(str(name) for name in disable)
    if not isinstance(overrides.get("redaction_patterns"), str):
        overrides["redaction_patterns"] = None  # a mapping goes to the Redactor directly
    return overrides
