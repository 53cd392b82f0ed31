"""The account side of the embedded server: `GET /api/v1/key` and `GET /api/v1/models`, in OpenRouter's shapes.

Each API key has a profile (its credit limit, free tier, expiry) and a ledger of what the server has charged
it, so the key endpoint reports usage that follows the calls made with that key. Keys are told apart by
their SHA-256 fingerprint; the key itself is never stored or echoed.

Unregistered keys get the default profile (no limit). A key whose text contains one of the `KEY_STATES`
markers gets that state, so programs that cannot call `register_key()` (a subprocess pointed at
`openrouter-otel serve`) can try every state: `sk-or-v1-low-credit-...`, `sk-or-v1-free-tier-...`,
`sk-or-v1-expired-...`, `sk-or-v1-invalid-...`.
"""

from __future__ import annotations

import hashlib
import threading
import time
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta, timezone
from typing import Any

__all__ = ["KEY_STATES", "KeyProfile", "Ledger", "key_body", "models_body", "MODEL_CATALOGUE"]


@dataclass(frozen=True)
class KeyProfile:
    """What OpenRouter knows about a key, before any usage."""

    limit: float | None = None
    is_free_tier: bool = False
    expires_at: datetime | None = None
    limit_reset: str | None = None
    include_byok_in_limit: bool = False
    valid: bool = True
    usage: float = 0.0  # spent before the server started


_NOW = datetime.now(timezone.utc)
KEY_STATES: dict[str, KeyProfile] = {
    "no-limit": KeyProfile(),
    "low-credit": KeyProfile(limit=5.0, usage=4.95, limit_reset="monthly"),
    "free-tier": KeyProfile(is_free_tier=True),
    "expired": KeyProfile(limit=10.0, expires_at=_NOW - timedelta(days=1)),
    "expiring": KeyProfile(limit=10.0, expires_at=_NOW + timedelta(hours=12)),
    "invalid": KeyProfile(valid=False),
}


@dataclass
class _Account:
    profile: KeyProfile
    charges: list[tuple[float, float, bool]] = field(default_factory=list)  # (time, usd, byok)


class Ledger:
    """Profiles and charges per key fingerprint; safe to use from the server's handler threads."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._accounts: dict[str, _Account] = {}

    def register(self, api_key: str, profile: KeyProfile) -> None:
        with self._lock:
            self._accounts[_fingerprint(api_key)] = _Account(profile)

    def profile(self, api_key: str) -> KeyProfile:
        with self._lock:
            return self._account(api_key).profile

    def charge(self, api_key: str, usd: float, *, byok: bool = False) -> None:
        with self._lock:
            self._account(api_key).charges.append((time.time(), usd, byok))

    def set_usage(self, api_key: str, usage: float) -> None:
        """Set the spend carried over from before (simulates a key whose credit drains elsewhere)."""
        with self._lock:
            account = self._account(api_key)
            account.profile = replace(account.profile, usage=usage)

    def key_info(self, api_key: str) -> dict[str, Any] | None:
        """The `data` object of `GET /key`, or None for a key the API refuses."""
        with self._lock:
            account = self._account(api_key)
            profile, charges = account.profile, list(account.charges)
        if not profile.valid:
            return None
        return key_body(api_key, profile, charges)

    def _account(self, api_key: str) -> _Account:
        fingerprint = _fingerprint(api_key)
        account = self._accounts.get(fingerprint)
        if account is None:
            account = self._accounts[fingerprint] = _Account(_profile_for(api_key))
        return account


def _profile_for(api_key: str) -> KeyProfile:
    for state, profile in KEY_STATES.items():
        if f"-{state}-" in api_key:
            return profile
    return KEY_STATES["no-limit"]


def _fingerprint(api_key: str) -> str:
    return hashlib.sha256(api_key.encode()).hexdigest()


def _label(api_key: str) -> str:
    # OpenRouter labels a key by a masked form of it; ours shows no character of the key at all.
    return f"key-{_fingerprint(api_key)[:12]}"


def key_body(api_key: str, profile: KeyProfile, charges: list[tuple[float, float, bool]]) -> dict[str, Any]:
    now = time.time()
    spent = _spent(charges, now)
    usage = round(profile.usage + spent["all"], 10)
    remaining = None if profile.limit is None else round(max(profile.limit - usage, 0.0), 10)
    return {
        "label": _label(api_key),
        "limit": profile.limit,
        "limit_remaining": remaining,
        "limit_reset": profile.limit_reset,
        "include_byok_in_limit": profile.include_byok_in_limit,
        "usage": usage,
        "usage_daily": spent["day"],
        "usage_weekly": spent["week"],
        "usage_monthly": spent["month"],
        "byok_usage": spent["byok"],
        "byok_usage_daily": spent["byok_day"],
        "byok_usage_weekly": spent["byok_week"],
        "byok_usage_monthly": spent["byok_month"],
        "is_free_tier": profile.is_free_tier,
        "is_provisioning_key": False,
        "rate_limit": {"requests": -1, "interval": "10s", "note": "This field is deprecated and safe to ignore."},
        "expires_at": profile.expires_at.isoformat().replace("+00:00", "Z") if profile.expires_at else None,
    }


_PERIODS = {"day": 86400, "week": 7 * 86400, "month": 30 * 86400}


def _spent(charges: list[tuple[float, float, bool]], now: float) -> dict[str, float]:
    totals = {"all": 0.0, "byok": 0.0, **{name: 0.0 for name in _PERIODS}, **{f"byok_{n}": 0.0 for n in _PERIODS}}
    for when, usd, byok in charges:
        prefix = "byok_" if byok else ""
        totals["byok" if byok else "all"] += usd
        for name, seconds in _PERIODS.items():
            if now - when < seconds:
                totals[prefix + name] += usd
    return {name: round(value, 10) for name, value in totals.items()}


# Models the embedded server lists: (id, name, context length, prompt and completion USD per token).
MODEL_CATALOGUE: tuple[tuple[str, str, int, float, float], ...] = (
    ("openai/gpt-4o-mini", "OpenAI: GPT-4o-mini", 128_000, 1.5e-7, 6e-7),
    ("openai/gpt-4o", "OpenAI: GPT-4o", 128_000, 2.5e-6, 1e-5),
    ("openai/gpt-3.5-turbo-instruct", "OpenAI: GPT-3.5 Turbo Instruct", 4_095, 1.5e-6, 2e-6),
    ("openai/text-embedding-3-small", "OpenAI: Text Embedding 3 Small", 8_192, 2e-8, 0.0),
    ("anthropic/claude-sonnet-4.6", "Anthropic: Claude Sonnet 4.6", 1_000_000, 3e-6, 1.5e-5),
    ("anthropic/claude-sonnet-4.5", "Anthropic: Claude Sonnet 4.5", 1_000_000, 3e-6, 1.5e-5),
    ("anthropic/claude-opus-4.1", "Anthropic: Claude Opus 4.1", 200_000, 1.5e-5, 7.5e-5),
    ("google/gemini-2.5-flash", "Google: Gemini 2.5 Flash", 1_048_576, 3e-7, 2.5e-6),
    ("google/gemini-2.0-flash-001", "Google: Gemini 2.0 Flash", 1_048_576, 1e-7, 4e-7),
    ("meta-llama/llama-3.3-70b-instruct", "Meta: Llama 3.3 70B Instruct", 131_072, 1.3e-7, 3.9e-7),
    ("meta-llama/llama-3.3-70b-instruct:free", "Meta: Llama 3.3 70B Instruct (free)", 65_536, 0.0, 0.0),
    ("mistralai/mistral-small-3.2-24b-instruct", "Mistral: Mistral Small 3.2 24B", 131_072, 5e-8, 1e-7),
    ("deepseek/deepseek-chat-v3.1", "DeepSeek: DeepSeek V3.1", 163_840, 2e-7, 8e-7),
)


def models_body() -> dict[str, Any]:
    return {"data": [_model(*entry) for entry in MODEL_CATALOGUE]}


def _model(model_id: str, name: str, context: int, prompt: float, completion: float) -> dict[str, Any]:
    modality = "text->embeddings" if "embedding" in model_id else "text->text"
    return {
        "id": model_id,
        "canonical_slug": model_id.split(":", 1)[0],
        "name": name,
        "created": 1767225600,
        "description": f"{name}, as listed by the openrouter-otel embedded server.",
        "context_length": context,
        "architecture": {"modality": modality, "input_modalities": ["text"],
                         "output_modalities": ["embeddings" if "embedding" in model_id else "text"],
                         "tokenizer": "Other", "instruct_type": None},
        "pricing": {"prompt": _price(prompt), "completion": _price(completion), "request": "0", "image": "0",
                    "web_search": "0", "internal_reasoning": "0"},
        "top_provider": {"context_length": context, "max_completion_tokens": None, "is_moderated": False},
        "per_request_limits": None,
        "supported_parameters": ["max_tokens", "temperature", "top_p", "stop", "seed", "tools", "tool_choice",
                                 "response_format", "stream"],
    }


def _price(usd_per_token: float) -> str:
    return f"{usd_per_token:.10f}".rstrip("0").rstrip(".") or "0"
