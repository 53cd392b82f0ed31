"""What the end-to-end tests send: a plan of calls (recorded OpenRouter exchanges and synthesised scenarios,
two teams, streams and errors) and PII of every kind the redaction rules know, prompts and leaks included."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from openrouter_otel.server.replay import SCENARIO_HEADER, load_corpus
from tests.conftest import CORPUS_DIR, TEST_API_KEY

APP = Path(__file__).resolve().parents[1] / "apps" / "collector_app.py"
TEAMS = ("search", "support")

# Recorded exchanges: several models, providers (Google, Anthropic, Google AI Studio, Amazon Bedrock), streams,
# and a 400. (The corpus's truncated streams are left out: they carry no final usage.)
CORPUS_EXCHANGES = ("3u9jN7ced3f", "7buJmKWfmK3", "IcAxzM4Kgpg", "i2VRzTzhjbW", "jon0olHf2dh", "2Hns20Jrj6g")
# Synthesised scenarios: (scenario, requested model, stream).
SCENARIO_CALLS = (
    ("chat", "anthropic/claude-sonnet-4.5", False),
    ("chat_stream", "google/gemini-2.5-flash", True),
    ("fallback", "openai/gpt-4o", False),
    ("dated_model", "anthropic/claude-sonnet-4.6", True),
    ("byok", "anthropic/claude-sonnet-4.5", False),
    ("credits_402", "openai/gpt-4o-mini", False),
    ("rate_limit_429", "google/gemini-2.5-flash", False),
)

PII = {
    "email": "alice.jones@example.com",
    "phone": "+44 20 7946 0958",
    "card": "4111 1111 1111 1111",
    "ssn": "219-09-9999",
    "iban": "DE89 3704 0044 0532 0130 00",
    "ipv4": "8.8.4.4",
    "ipv6": "2001:db8::7",
    "openrouter_key": TEST_API_KEY,
    "openai_key": "sk-proj-Ab3dE5gH7jK9mN1pQ3sT5vW7yZ9bC1",
    "anthropic_key": "sk-ant-api03-Zx9Yw8Vu7Ts6Rq5Po4Nm3Lk2",
    "aws_key": "AKIAIOSFODNN7EXAMPLE",
    "github_token": "ghp_" + "a1B2c3D4e5" * 4,
    "slack_token": "xoxb-1234567890-abcdefghijkl",
    "jwt": "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2lnbmF0dXJlLXNpZ25hdHVyZQ",
    "bearer": "Bearer tok3n5ecretvalue0123",
    "private_key": "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n-----END PRIVATE KEY-----",
}
# Pieces of the values above that must not survive either (a partly redacted value still leaks).
PII_FRAGMENTS = ("4111111111111111", "7946 0958", "0532 0130", "tok3n5ecretvalue0123",
                 "MIIEvQIBADANBgkqhkiG9w0BAQEFAASC")


def pii_prompt(seq: int) -> str:
    """A prompt carrying every kind of PII (in several languages' framing), unique per call."""
    values = "; ".join(f"{name}: {value}" for name, value in PII.items())
    return f"Call {seq}. Bitte prüfen / merci de vérifier: {values}"


def scenario_step(seq: int, scenario: str, model: str, stream: bool) -> dict[str, Any]:
    kwargs: dict[str, Any] = {
        "model": model,
        "messages": [{"role": "user", "content": pii_prompt(seq)}],
        "extra_headers": {SCENARIO_HEADER: scenario},
    }
    if stream:
        kwargs.update(stream=True, stream_options={"include_usage": True})
    return {"team": TEAMS[seq % 2], "kwargs": kwargs}


def corpus_step(seq: int, exchange: Any) -> dict[str, Any]:
    return {"team": TEAMS[seq % 2], "kwargs": exchange.sdk_kwargs()}


def mixed_plan(start: int = 0) -> list[dict[str, Any]]:
    """The recorded exchanges and the scenarios, alternating teams; `start` keeps prompts unique across apps."""
    exchanges = {exchange.id: exchange for exchange in load_corpus(CORPUS_DIR)}
    steps = [corpus_step(start + index, exchanges[exchange_id]) for index, exchange_id in enumerate(CORPUS_EXCHANGES)]
    offset = start + len(steps)
    steps += [scenario_step(offset + index, *call) for index, call in enumerate(SCENARIO_CALLS)]
    return steps


def chat_plan(count: int, start: int = 0) -> list[dict[str, Any]]:
    """`count` plain calls, each with a unique prompt (and so a unique generation id)."""
    return [scenario_step(start + seq, "chat", "anthropic/claude-sonnet-4.5", False) for seq in range(count)]


@dataclass(frozen=True)
class AppCall:
    """One call as the application saw the response (not as the instrumentation recorded it)."""

    seq: int
    team: str
    id: str | None = None
    model: str | None = None
    provider: str | None = None
    cost: float | None = None
    input_tokens: int | None = None
    output_tokens: int | None = None
    error: str | None = None


def app_calls(stdout: str) -> list[AppCall]:
    assert "APP-DONE" in stdout, stdout[-2000:]
    return [AppCall(**json.loads(line.split(" ", 1)[1])) for line in stdout.splitlines()
            if line.startswith("APP-CALL ")]


def write_plan(path: Path, plan: list[dict[str, Any]]) -> Path:
    path.write_text(json.dumps(plan))
    return path
