"""How fast the audit store writes and verifies, against plain SQLite measured in the same run.

- writes: records per second through `AuditStore.append` (dedupe, hash chain, append-only triggers, one
  transaction per batch) against a plain `executemany` INSERT of the same rows into a table without any of it;
- verify: rows per second through `verify()` over a store of `--rows` rows (default 1,000,000) against a
  plain scan that reads every column of every row.
Rounds alternate ours and the baseline; the figures are medians.

    .venv/bin/python benchmarks/audit_store.py [--rounds 5] [--rows 1000000] [--batch 512]
"""

from __future__ import annotations

import argparse
import sqlite3
import statistics
import tempfile
import time
from pathlib import Path

from openrouter_otel.audit_store.rows import COLUMNS, AuditRecord, to_row
from openrouter_otel.audit_store.store import AuditStore
from openrouter_otel.audit_store.verify import verify

BASE_NS = 1_767_225_600_000_000_000


def make_record(index: int) -> AuditRecord:
    attributes = {
        "gen_ai.operation.name": "chat", "gen_ai.provider.name": "openrouter", "server.address": "openrouter.ai",
        "gen_ai.response.id": f"gen-{1767225600 + index}-{index:020d}", "gen_ai.request.model": "anthropic/claude-sonnet-4.6",
        "gen_ai.response.model": "anthropic/claude-4.6-sonnet-20260217", "openrouter.provider": "Anthropic",
        "gen_ai.usage.input_tokens": 812 + index % 50, "gen_ai.usage.output_tokens": 120 + index % 30,
        "gen_ai.usage.cost": 0.0042 + (index % 7) * 1e-5, "openrouter.cost.source": "response",
        "openrouter.is_byok": False, "openrouter.latency": 1.25, "openrouter.status": "ok",
        "enduser.id": f"user-{index % 200}", "openrouter.team": f"team-{index % 12}",
        "openrouter.prompt.hash": f"sha256:{index:064x}", "openrouter.api_key.fingerprint": "3f9a1c2b4d5e",
    }
    return AuditRecord(attributes, BASE_NS + index * 1_000_000, f"{index:032x}", f"{index:016x}", "bench")


def plain_table(path: Path) -> sqlite3.Connection:
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=NORMAL")
    db.execute(f"CREATE TABLE plain ({', '.join(f'{name} {kind}' for name, kind, _ in COLUMNS)})")
    return db


def time_ours_writes(directory: Path, records: list[AuditRecord], batch: int) -> float:
    store = AuditStore(directory / f"ours-{time.perf_counter_ns()}.db")
    started = time.perf_counter()
    for start in range(0, len(records), batch):
        store.append(records[start:start + batch])
    elapsed = time.perf_counter() - started
    store.close()
    return len(records) / elapsed


def time_plain_writes(directory: Path, records: list[AuditRecord], batch: int) -> float:
    db = plain_table(directory / f"plain-{time.perf_counter_ns()}.db")
    insert = f"INSERT INTO plain VALUES ({', '.join('?' for _ in COLUMNS)})"
    started = time.perf_counter()
    for start in range(0, len(records), batch):
        db.execute("BEGIN")
        db.executemany(insert, [to_row(record) for record in records[start:start + batch]])
        db.execute("COMMIT")
    elapsed = time.perf_counter() - started
    db.close()
    return len(records) / elapsed


def build_store(path: Path, rows: int) -> None:
    store = AuditStore(path)
    for start in range(0, rows, 10_000):
        store.append([make_record(index) for index in range(start, min(start + 10_000, rows))])
    store.close()


def time_verify(path: Path) -> tuple[float, int]:
    store = AuditStore(path, create=False)
    result = verify(store)
    store.close()
    assert result.ok
    return result.seconds, result.rows


def time_scan(path: Path) -> float:
    db = sqlite3.connect(path)
    started = time.perf_counter()
    for _ in db.execute("SELECT * FROM audit_log ORDER BY seq"):
        pass
    elapsed = time.perf_counter() - started
    db.close()
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--writes", type=int, default=20_000, help="records written per round")
    parser.add_argument("--batch", type=int, default=512, help="records per transaction (the batch processor's size)")
    args = parser.parse_args()
    records = [make_record(index) for index in range(args.writes)]
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        ours, plain = [], []
        for _ in range(args.rounds):
            ours.append(time_ours_writes(directory, records, args.batch))
            plain.append(time_plain_writes(directory, records, args.batch))
        ours_rate, plain_rate = statistics.median(ours), statistics.median(plain)
        print(f"writes, {args.batch} records a transaction: ours {ours_rate:,.0f} records/s, plain INSERT "
              f"{plain_rate:,.0f} records/s: ours takes {plain_rate / ours_rate:.2f}x the time")
        store_path = directory / "million.db"
        started = time.perf_counter()
        build_store(store_path, args.rows)
        print(f"built a store of {args.rows:,} rows in {time.perf_counter() - started:.1f} s")
        verifies, scans = [], []
        for _ in range(args.rounds):
            seconds, rows = time_verify(store_path)
            verifies.append(seconds)
            scans.append(time_scan(store_path))
        verify_s, scan_s = statistics.median(verifies), statistics.median(scans)
        print(f"verify {rows:,} rows: {verify_s:.2f} s ({rows / verify_s:,.0f} rows/s); plain scan of the same rows "
              f"{scan_s:.2f} s: verify takes {verify_s / scan_s:.2f}x the scan")


if __name__ == "__main__":
    main()
