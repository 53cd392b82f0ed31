"""OpenRouterInstrumentor: wires providers, settings and redaction to the wrappers in patch.py."""

from __future__ import annotations

import importlib
import logging
import sys
import threading
from typing import Any, Callable, Collection, Mapping

import wrapt

from opentelemetry import trace
from opentelemetry._logs import get_logger_provider
from opentelemetry.instrumentation.instrumentor import BaseInstrumentor  # type: ignore[attr-defined]
from opentelemetry.instrumentation.utils import unwrap
from opentelemetry.metrics import get_meter_provider
from wrapt import wrap_function_wrapper

from openrouter_otel import audit, clients, patch, semconv
from openrouter_otel.call import Telemetry
from openrouter_otel.config import SETTING_KEYWORDS, Settings
from openrouter_otel.emitter import Emitter
from openrouter_otel.flush_hooks import hook_flushes, unhook_flushes
from openrouter_otel.instruments import Instruments
from openrouter_otel.labels import TeamLabels
from openrouter_otel.policy import checker_from_settings
from openrouter_otel.record import MetricAttributeSets
from openrouter_otel.package import _instruments
from openrouter_otel.version import __version__

logger = logging.getLogger(__name__)

SCOPE_NAME = semconv.INSTRUMENTATION_SCOPE

# Keyword -> the method a provider passed for it must have.
PROVIDER_KEYWORDS = {"tracer_provider": "get_tracer", "meter_provider": "get_meter", "logger_provider": "get_logger"}
# BaseInstrumentor.instrument() consumes these itself.
BASE_KEYWORDS = frozenset({"skip_dep_check", "raise_exception_on_conflict"})
KNOWN_KEYWORDS = SETTING_KEYWORDS | frozenset(PROVIDER_KEYWORDS) | BASE_KEYWORDS

# Resource methods other OpenAI instrumentations (opentelemetry-instrumentation-openai-v2, OpenLLMetry, OpenLIT)
# wrap with wrapt; ours wraps only the base client's request(), so a proxy here is someone else's.
OTHER_WRAP_POINTS = (
    ("openai.resources.chat.completions", "Completions", "create"),
    ("openai.resources.chat.completions", "AsyncCompletions", "create"),
    ("openai.resources.completions", "Completions", "create"),
    ("openai.resources.embeddings", "Embeddings", "create"),
    ("openai.resources.responses", "Responses", "create"),
)
# Modules of other OpenAI instrumentors, checked only when already imported.
OTHER_INSTRUMENTOR_MODULES = ("opentelemetry.instrumentation.openai_v2", "opentelemetry.instrumentation.openai")
_PROXY_TYPES = tuple({getattr(wrapt, "BaseObjectProxy", wrapt.ObjectProxy), wrapt.ObjectProxy})


class OpenRouterInstrumentor(BaseInstrumentor):  # type: ignore[misc]
    """Instruments the `openai` SDK: a span, metric points and an audit event for every LLM call.

    Keywords: `tracer_provider`, `meter_provider`, `logger_provider`, and every setting of `Settings`
    (`config.SETTING_KEYWORDS`), which override the environment. `redaction_patterns` also takes a mapping
    of name to regex; the comma-separated settings (`config.LIST_SETTINGS`) also take a list. An unknown or
    ill-typed keyword is warned about and ignored, never raised.
    """

    def __init__(self) -> None:
        # BaseInstrumentor is a singleton, but __init__ runs on every `OpenRouterInstrumentor()`: keep the state
        # of an instrumented instance (so `OpenRouterInstrumentor().uninstrument()` still knows what to undo).
        if getattr(self, "_initialised", False):
            return
        self._initialised = True
        super().__init__()
        self.settings: Settings | None = None
        self.redactor: Any = None
        self._redaction_installed: tuple[Any, Any] | None = None
        self._fetcher: Any = None
        self._key_poller: Any = None
        self._audit_store: Any = None
        self._emitter: Emitter | None = None
        self._flush_hooks: list[Any] = []
        self._own_logger_provider: Any = None
        self._first_call_seen = threading.Event()
        self._warned_about_others = False

    def instrumentation_dependencies(self) -> Collection[str]:
        return _instruments

    def _instrument(self, **kwargs: Any) -> None:
        kwargs = _valid_keywords(kwargs)
        settings = Settings.load(_setting_overrides(kwargs))
        self.settings = settings
        audit.configure(propagate=settings.audit_baggage_propagate)
        self._first_call_seen.clear()
        self._warned_about_others = False
        self._warn_if_other_openai_instrumentation()
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
        if settings.audit_db:
            audit_logger = self._attach_audit_store(settings, tracer_provider, logger_provider, audit_logger)
        if settings.fetch_generation:
            from openrouter_otel.generation import GenerationFetcher

            self._fetcher = GenerationFetcher()
        instruments = Instruments.create(meter)
        team_labels = TeamLabels.from_settings(settings)
        policy = checker_from_settings(settings, instruments, team_labels.label)
        self._emitter = Emitter(
            instruments,
            audit_logger,
            MetricAttributeSets(team_labels.label, settings.metrics_enduser),
            redact=self.redactor.redact if self.redactor is not None else None,
            redactor=self.redactor if settings.redaction and self._redaction_installed is not None else None,
            policy=policy,
            fetcher=self._fetcher,
            # A synchronous audit store promises the row is written before the call returns.
            synchronous=settings.synchronous or bool(settings.audit_db and settings.audit_db_sync),
        )
        self._flush_hooks = hook_flushes(self._emitter, tracer_provider, meter_provider, logger_provider)
        telemetry = Telemetry(tracer, self._emitter, settings, policy)
        if settings.key_metrics:
            from openrouter_otel.keys import KeyPoller

            telemetry.key_poller = self._key_poller = KeyPoller(meter, settings.key_metrics_interval)
        self._wrap(telemetry)

    def _uninstrument(self, **kwargs: Any) -> None:
        audit.configure(propagate=False)
        base_client = importlib.import_module(patch.BASE_CLIENT_MODULE)
        for class_name, method in patch.REQUEST_METHODS:
            cls = getattr(base_client, class_name, None)
            if cls is not None and hasattr(cls, method):
                unwrap(cls, method)
        clients.unwrap_all()
        emitter, self._emitter = self._emitter, None
        if emitter is not None:
            emitter.shutdown()  # what ended before this is recorded; calls still open record in the caller's thread
        unhook_flushes(self._flush_hooks)
        self._flush_hooks = []
        if self._redaction_installed is not None:
            self._uninstall_redaction()
        self._detach_audit_store()
        if self._fetcher is not None:
            self._fetcher.shutdown()
            self._fetcher = None
        poller, self._key_poller = self._key_poller, None
        if poller is not None:
            poller.shutdown()

    def _wrap(self, telemetry: Telemetry) -> None:
        base_client = importlib.import_module(patch.BASE_CLIENT_MODULE)
        sync_cls, async_cls = (class_name for class_name, _ in patch.REQUEST_METHODS)
        if patch.has_sdk_symbol(base_client, sync_cls, "request"):
            wrap_function_wrapper(base_client, f"{sync_cls}.request", self._checking(patch.sync_request_wrapper(telemetry)))
        if patch.has_sdk_symbol(base_client, async_cls, "request"):
            wrap_function_wrapper(base_client, f"{async_cls}.request", self._checking(patch.async_request_wrapper(telemetry)))
        clients.wrap_all(telemetry)  # the openrouter SDK, httpx, httpx2 and requests, where installed

    def _checking(self, wrapper: Callable[..., Any]) -> Callable[..., Any]:
        """The wrapper, checking once more on the first call, for OpenAI instrumentations instrumented after ours
        (opentelemetry-instrument loads instrumentors in no fixed order, all before the application's first call)."""
        first_call_seen = self._first_call_seen

        def checking_wrapper(wrapped: Any, instance: Any, args: Any, kwargs: Any) -> Any:
            if not first_call_seen.is_set():
                first_call_seen.set()
                self._warn_if_other_openai_instrumentation()
            return wrapper(wrapped, instance, args, kwargs)  # an async wrapper's coroutine goes back unawaited

        return checking_wrapper

    def _warn_if_other_openai_instrumentation(self) -> None:
        try:
            others = _other_openai_instrumentations()
        except Exception:
            logger.debug("openrouter-otel: could not look for other OpenAI instrumentations", exc_info=True)
            return
        if not others or self._warned_about_others:
            return
        self._warned_about_others = True
        logger.warning(
            "openrouter-otel: another OpenAI instrumentation is active (%s): every LLM call is then recorded twice, "
            "which doubles dashboard figures (calls, tokens, cost) unless queries select our instrumentation scope "
            "%r (otel_scope_name in Prometheus); uninstrument one of them",
            ", ".join(others),
            SCOPE_NAME,
        )

    def _attach_audit_store(self, settings: Settings, tracer_provider: Any, logger_provider: Any,
                            audit_logger: Any) -> Any:
        """Send the audit records to the embedded store too; returns the audit logger to use."""
        if audit_logger is None:
            logger.warning("openrouter-otel: %s is set but audit events are off (%s=false): the store stays empty",
                           semconv.ENV_AUDIT_DB, semconv.ENV_AUDIT_EVENTS)
            return None
        try:
            from openrouter_otel.audit_store.setup import attach_audit_store, own_logger_provider
        except ImportError:
            logger.warning("openrouter-otel: %s needs the OpenTelemetry SDK (pip install opentelemetry-sdk); "
                           "the audit store is off", semconv.ENV_AUDIT_DB)
            return audit_logger
        try:
            if not hasattr(logger_provider, "add_log_record_processor"):  # no SDK logs pipeline in the app
                logger_provider = self._own_logger_provider = own_logger_provider(tracer_provider)
                if settings.redaction and self.redactor is not None:
                    from openrouter_otel.redaction_processors import install_redaction

                    install_redaction(None, logger_provider, self.redactor)
                audit_logger = logger_provider.get_logger(SCOPE_NAME, __version__)
            self._audit_store = attach_audit_store(settings, logger_provider, audit_logger)
        except Exception:
            logger.warning("openrouter-otel: could not attach the audit store", exc_info=True)
        return audit_logger

    def _detach_audit_store(self) -> None:
        store, self._audit_store = self._audit_store, None
        if store is not None:
            store.detach()
        provider, self._own_logger_provider = self._own_logger_provider, None
        if provider is not None:
            try:
                provider.shutdown()
            except Exception:
                logger.debug("openrouter-otel: could not shut the audit logger provider down", exc_info=True)

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        """Record every call that has ended so far (the providers' own force_flush() does this too)."""
        return self._emitter.flush(timeout_millis / 1000) if self._emitter is not None else True

    def flush_audit_store(self) -> None:
        """Write the queued audit records to the store now and publish its head (tests, demo, before a report)."""
        self.force_flush()
        if self._audit_store is not None:
            self._audit_store.flush()

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
    """Keywords of instrument() as Settings values (Settings.load checks their types)."""
    overrides = {key: kwargs.get(key) for key in SETTING_KEYWORDS}
    if not isinstance(overrides.get("redaction_patterns"), str):
        overrides["redaction_patterns"] = None  # a mapping goes to the Redactor directly
    return overrides


def _valid_keywords(kwargs: dict[str, Any]) -> dict[str, Any]:
    """The keywords without those that are unknown or of the wrong kind, each warned about once."""
    unknown = sorted(set(kwargs) - KNOWN_KEYWORDS)
    if unknown:
        logger.warning(
            "openrouter-otel: instrument() ignores unknown keyword(s) %s; known keywords: %s",
            ", ".join(unknown),
            ", ".join(sorted(KNOWN_KEYWORDS)),
        )
    valid = {key: value for key, value in kwargs.items() if key in KNOWN_KEYWORDS}
    for key, method in PROVIDER_KEYWORDS.items():
        provider = valid.get(key)
        if provider is not None and not callable(getattr(provider, method, None)):
            logger.warning("openrouter-otel: keyword %r=%r has no %s(); using the global one", key, provider, method)
            del valid[key]
    patterns = valid.get("redaction_patterns")
    if patterns is not None and not isinstance(patterns, (str, Mapping)):
        logger.warning(
            "openrouter-otel: keyword 'redaction_patterns'=%r is not JSON text or a mapping of name to regex; "
            "using the default None",
            patterns,
        )
        del valid["redaction_patterns"]
    return valid


def _other_openai_instrumentations() -> list[str]:
    """What shows that another OpenAI instrumentation is active: its wrappers on resource methods, its instrumentor."""
    found = []
    for module_name, class_name, method in OTHER_WRAP_POINTS:
        cls = getattr(sys.modules.get(module_name), class_name, None)
        if isinstance(vars(cls).get(method) if cls is not None else None, _PROXY_TYPES):
            found.append(f"{module_name}.{class_name}.{method} is wrapped")
    for module_name in OTHER_INSTRUMENTOR_MODULES:
        instrumentor = getattr(getattr(sys.modules.get(module_name), "OpenAIInstrumentor", None), "_instance", None)
        if getattr(instrumentor, "_is_instrumented_by_opentelemetry", False):
            found.append(f"{module_name}.OpenAIInstrumentor is instrumented")
    return found
