"""The hash chain that makes the audit table tamper-evident.

Row n's hash covers row n's sequence number, every column in `rows.COLUMN_NAMES` order, and row n-1's hash,
so editing, deleting, inserting or reordering any row changes every hash after it. Without a key the hash
is SHA-256: it proves the rows are as they were chained, but someone who can write the file can also
recompute a whole new chain, which only a checkpoint held elsewhere (`openrouter.audit.checkpoint`)
exposes. With a key (HMAC-SHA256) nobody without the key can make a chain that verifies.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass
from typing import Any, Callable, Iterable

from openrouter_otel import semconv as sc

GENESIS = "0" * 64
ALGORITHM_SHA256 = "sha256"
ALGORITHM_HMAC = "hmac-sha256"


@dataclass(frozen=True)
class Chain:
    """How rows are hashed: plain SHA-256, or HMAC-SHA256 with a key."""

    key: bytes | None = None

    @property
    def algorithm(self) -> str:
        return ALGORITHM_HMAC if self.key else ALGORITHM_SHA256

    @property
    def key_id(self) -> str | None:
        """Names the key without revealing it, so verify can tell a wrong key from a tampered row."""
        return hashlib.sha256(b"openrouter-otel audit key id:" + self.key).hexdigest()[:16] if self.key else None

    def hasher(self) -> Callable[[int, Iterable[Any], str], str]:
        key = self.key
        if key is None:
            return lambda seq, row, previous: hashlib.sha256(_payload(seq, row, previous)).hexdigest()
        return lambda seq, row, previous: hmac.new(key, _payload(seq, row, previous), hashlib.sha256).hexdigest()


_encode = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode  # one encoder: a third faster than dumps


def _payload(seq: int, row: Iterable[Any], previous: str) -> bytes:
    return _encode([seq, previous, *row]).encode()


@dataclass(frozen=True)
class Checkpoint:
    """The chain's head at one moment: the last row's sequence number and hash."""

    seq: int
    hash: str

    def to_attributes(self, algorithm: str, key_id: str | None, store_id: str) -> dict[str, Any]:
        attributes: dict[str, Any] = {sc.AUDIT_CHECKPOINT_SEQ: self.seq, sc.AUDIT_CHECKPOINT_HASH: self.hash,
                                      sc.AUDIT_CHECKPOINT_ALGORITHM: algorithm, sc.AUDIT_CHECKPOINT_STORE_ID: store_id}
        if key_id:
            attributes[sc.AUDIT_CHECKPOINT_KEY_ID] = key_id
        return attributes
