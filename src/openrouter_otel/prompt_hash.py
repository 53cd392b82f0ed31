"""A hash of a request's input that proves what was asked without recording it.

The hash is over a canonical JSON form of the input fields only (messages, prompt, input, instructions,
tools...), so it is stable under key order and formatting and does not change with sampling parameters.
With a key configured it is an HMAC, so nobody without the key can test guesses against it.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any, Mapping

# The request fields that make up "the prompt", per API.
INPUT_FIELDS = ("messages", "prompt", "input", "instructions", "system", "tools", "functions")


def canonical_input(body: Any) -> bytes | None:
    if not isinstance(body, Mapping):
        return None
    selected = {key: body[key] for key in INPUT_FIELDS if key in body}
    if not selected:
        return None
    return _CANONICAL.encode(selected).encode("utf-8", "surrogatepass")


def prompt_hash(body: Any, key: bytes | None = None) -> str | None:
    """`sha256:<hex>`, or `hmac-sha256:<hex>` with a key; None when the body has no input."""
    data = canonical_input(body)
    if data is None:
        return None
    if key:
        return "hmac-sha256:" + hmac.new(key, data, hashlib.sha256).hexdigest()
    return "sha256:" + hashlib.sha256(data).hexdigest()


def _fallback(value: Any) -> Any:
    if isinstance(value, (bytes, bytearray)):
        return hashlib.sha256(bytes(value)).hexdigest()
    dump = getattr(value, "model_dump", None)
    if callable(dump):
        return dump(mode="json")
    if isinstance(value, (set, frozenset, tuple)):
        return list(value)
    return repr(type(value))


# Made once: json.dumps() with options builds a new encoder on every call, a third of the hash's cost.
_CANONICAL = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=_fallback)
