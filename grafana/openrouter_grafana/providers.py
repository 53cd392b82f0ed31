"""Upstream providers as OpenRouter's responses name them (the `provider` field, which the instrumentation
records as `openrouter.provider`): the names `approved_providers` in thresholds.yaml must be spelled in.

These are not always the names of OpenRouter's web pages: responses served by Google Vertex AI say `Google`,
and those of Google's Gemini API `Google AI Studio`. tests/grafana/test_provider_names.py checks this list
against the recorded OpenRouter responses in tests/fixtures/openrouter-recorded.
"""

from __future__ import annotations

OPENROUTER_PROVIDERS: tuple[str, ...] = (
    "AI21", "Alibaba", "Amazon Bedrock", "Anthropic", "Azure", "Baseten", "Cerebras", "Chutes", "Cohere",
    "DeepInfra", "DeepSeek", "Fireworks", "Friendli", "Google", "Google AI Studio", "Groq", "Hyperbolic",
    "Inception", "Lambda", "Mistral", "Moonshot AI", "Nebius", "Novita", "OpenAI", "Parasail", "Perplexity",
    "SambaNova", "Together", "xAI",
)
