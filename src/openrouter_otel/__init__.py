"""OpenTelemetry instrumentation for the OpenAI Python SDK against OpenRouter.

Every LLM call becomes a span, metric points and an `openrouter.audit` log record carrying latency,
tokens, cost in USD, the served model and upstream provider, the generation id and a prompt hash.
"""

from typing import Any

from openrouter_otel.audit import audit_context
from openrouter_otel.instrumentor import OpenRouterInstrumentor
from openrouter_otel.policy import PolicyViolation
from openrouter_otel.version import __version__

__all__ = [
    "OpenRouterInstrumentor",
    "PolicyViolation",
    "RedactingLogRecordProcessor",
    "RedactingSpanProcessor",
    "Redactor",
    "__version__",
    "audit_context",
]

_REDACTION_EXPORTS = {
    "Redactor": "openrouter_otel.redaction",
    "RedactingSpanProcessor": "openrouter_otel.redaction_processors",
    "RedactingLogRecordProcessor": "openrouter_otel.redaction_processors",
}


def __getattr__(name: str) -> Any:
    # Redaction is imported on first use so that `import openrouter_otel` stays cheap.
    module_name = _REDACTION_EXPORTS.get(name)
    if module_name is None:
        raise AttributeError(f"module 'openrouter_otel' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(module_name), name)
