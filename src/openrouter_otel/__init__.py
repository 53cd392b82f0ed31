"""OpenTelemetry instrumentation for the OpenAI Python SDK against OpenRouter."""

from openrouter_otel.version import __version__

__all__ = ["__version__"]
