"""The `openai` versions this instrumentation supports (checked by opentelemetry-instrument)."""

_instruments = ("openai >= 2.0.0, < 4",)
