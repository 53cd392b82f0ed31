"""`audit verify`: walk the chain, and hold it against checkpoints published elsewhere."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

from openrouter_otel import semconv as sc
from openrouter_otel.audit_store.chain import GENESIS, Checkpoint
from openrouter_otel.audit_store.store import AuditStore


@dataclass(frozen=True)
class Break:
    seq: int
    reason: str


@dataclass
class Verification:
    rows: int = 0
    head: Checkpoint = field(default_factory=lambda: Checkpoint(0, GENESIS))
    breaks: list[Break] = field(default_factory=list)
    checkpoints_checked: int = 0
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.breaks

    @property
    def first_break(self) -> Break | None:
        return self.breaks[0] if self.breaks else None


def verify(store: AuditStore, checkpoints: Iterable[Checkpoint] = ()) -> Verification:
    """Every row's hash recomputed; the first break (and what follows from it) reported, never repaired."""
    started = time.perf_counter()
    result = Verification()
    hash_row = store.chain.hasher()
    expected_seq, previous = 1, GENESIS
    seen: dict[int, str] = {}
    wanted = {checkpoint.seq: checkpoint.hash for checkpoint in checkpoints}
    for row in store.chained_rows():
        seq, columns, prev_hash, row_hash = row[0], row[1:-2], row[-2], row[-1]
        if not result.breaks:
            reason = _row_fault(seq, expected_seq, prev_hash, previous, row_hash, hash_row(seq, columns, prev_hash))
            if reason:
                result.breaks.append(Break(min(seq, expected_seq), reason))
        if seq in wanted:
            seen[seq] = row_hash
        expected_seq, previous = seq + 1, row_hash
        result.rows += 1
    result.head = Checkpoint(expected_seq - 1, previous)
    for seq, digest in sorted(wanted.items()):
        result.checkpoints_checked += 1
        if seq not in seen:
            result.breaks.append(Break(seq, f"checkpoint at row {seq} but the store ends at row {result.head.seq}: "
                                            "rows were removed from the end"))
        elif seen[seq] != digest:
            result.breaks.append(Break(seq, f"row {seq} does not match the checkpoint published for it"))
    result.breaks.sort(key=lambda item: item.seq)
    result.seconds = time.perf_counter() - started
    return result


def _row_fault(seq: int, expected_seq: int, prev_hash: str, previous: str, row_hash: str, computed: str) -> str | None:
    if seq != expected_seq:
        return f"row {expected_seq} is missing (the next row is {seq}): rows were deleted"
    if prev_hash != previous:
        return f"row {seq} does not follow row {seq - 1}: rows were deleted, inserted or reordered"
    if row_hash != computed:
        return f"row {seq} was changed after it was written (its hash does not match its content)"
    return None


def load_checkpoints(paths: Iterable[str | Path]) -> list[Checkpoint]:
    """Checkpoints from files: `seq:hash` lines, JSON objects, or the collector's OTLP/JSON lines."""
    found: list[Checkpoint] = []
    for path in paths:
        for line in Path(path).read_text(encoding="utf-8", errors="replace").splitlines():
            found.extend(_checkpoints_in(line.strip()))
    return found


def parse_checkpoint(text: str) -> Checkpoint:
    seq, _, digest = text.partition(":")
    return Checkpoint(int(seq), digest.strip().lower())


def _checkpoints_in(line: str) -> list[Checkpoint]:
    if not line:
        return []
    if not line.startswith("{"):
        return [parse_checkpoint(line)]
    try:
        document = json.loads(line)
    except ValueError:
        return []
    if "seq" in document and "hash" in document:
        return [Checkpoint(int(document["seq"]), str(document["hash"]))]
    from openrouter_otel.audit_store.importer import otlp_log_records

    return [Checkpoint(int(attributes[sc.AUDIT_CHECKPOINT_SEQ]), str(attributes[sc.AUDIT_CHECKPOINT_HASH]))
            for attributes in _checkpoint_attributes(otlp_log_records(document))]


def _checkpoint_attributes(records: Iterable[Any]) -> Iterable[dict[str, Any]]:
    for record in records:
        attributes = record.attributes
        if sc.AUDIT_CHECKPOINT_SEQ in attributes and sc.AUDIT_CHECKPOINT_HASH in attributes:
            yield attributes
