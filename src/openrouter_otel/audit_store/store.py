"""The embedded audit store: an append-only, hash-chained SQLite table, one row per call.

Append-only in the database itself (triggers refuse UPDATE and DELETE), tamper-evident by the chain
(`chain.py`), deduplicated by record id so a retried export is stored once. Several processes may write one
file: every append takes SQLite's write lock (`BEGIN IMMEDIATE`) before it reads the chain head, so rows from
different processes interleave without breaking the chain. WAL mode lets readers (reports, verify) run
while writers write.
"""

from __future__ import annotations

import sqlite3
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Iterator

from openrouter_otel.audit_store.chain import GENESIS, Chain, Checkpoint
from openrouter_otel.audit_store.rows import COLUMN_NAMES, COLUMNS, AuditRecord, to_row

TABLE = "audit_log"
META = "audit_meta"
SCHEMA_VERSION = "1"
BUSY_TIMEOUT_S = 30.0


class StoreError(Exception):
    """The store cannot be used as asked: one line for the user, naming the file."""


@dataclass(frozen=True)
class AppendResult:
    inserted: int
    duplicates: int
    head: Checkpoint


def _schema() -> list[str]:
    columns = ",\n  ".join(f"{name} {kind}" for name, kind, _ in COLUMNS)
    refuse = "SELECT RAISE(ABORT, '{table} is append-only: {verb} refused')"
    statements = [
        f"CREATE TABLE IF NOT EXISTS {TABLE} (\n  seq INTEGER PRIMARY KEY,\n  {columns},\n"
        f"  prev_hash TEXT NOT NULL,\n  row_hash TEXT NOT NULL,\n  UNIQUE (record_id)\n)",
        f"CREATE INDEX IF NOT EXISTS {TABLE}_ts ON {TABLE} (ts)",
        f"CREATE INDEX IF NOT EXISTS {TABLE}_generation_id ON {TABLE} (generation_id)",
        f"CREATE TABLE IF NOT EXISTS {META} (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
    ]
    for table in (TABLE, META):
        for verb in ("UPDATE", "DELETE"):
            statements.append(f"CREATE TRIGGER IF NOT EXISTS {table}_no_{verb.lower()} BEFORE {verb} ON {table} "
                              f"BEGIN {refuse.format(table=table, verb=verb)}; END")
    return statements


class AuditStore:
    """One SQLite file of audit rows. Not thread-safe: give each thread its own, or use one worker (the exporter)."""

    def __init__(self, path: str | Path, *, key: bytes | None = None, create: bool = True) -> None:
        self.path = Path(path)
        self.chain = Chain(key)
        self._hash = self.chain.hasher()
        self._db = self._connect(create)
        try:
            self.store_id = self._prepare(create)
        except BaseException:
            self._db.close()
            raise

    # ---- opening -------------------------------------------------------------------------------

    def _connect(self, create: bool) -> sqlite3.Connection:
        if not create and not self.path.is_file():
            raise StoreError(f"{self.path}: no audit store there")
        try:
            if create:
                self.path.parent.mkdir(parents=True, exist_ok=True)
            db = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_S, isolation_level=None, check_same_thread=False)
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")
            return db
        except (sqlite3.Error, OSError) as error:
            raise StoreError(f"{self.path}: cannot open the audit store ({_reason(error)})") from None

    def _prepare(self, create: bool) -> str:
        try:
            if create:
                self._create_schema()
            meta = self._meta()
        except sqlite3.DatabaseError as error:
            raise StoreError(f"{self.path}: not a usable audit store ({_reason(error)})") from None
        self._check_key(meta)
        return meta.get("store_id", "")

    def _create_schema(self) -> None:
        self._db.execute("BEGIN IMMEDIATE")
        try:
            for statement in _schema():
                self._db.execute(statement)
            if not self._meta():
                meta = {"schema_version": SCHEMA_VERSION, "store_id": uuid.uuid4().hex,
                        "algorithm": self.chain.algorithm, "key_id": self.chain.key_id or ""}
                self._db.executemany(f"INSERT INTO {META} (key, value) VALUES (?, ?)", meta.items())
            self._db.execute("COMMIT")
        except BaseException:
            self._db.execute("ROLLBACK")
            raise

    def _meta(self) -> dict[str, str]:
        try:
            return dict(self._db.execute(f"SELECT key, value FROM {META}").fetchall())
        except sqlite3.OperationalError:
            return {}

    def _check_key(self, meta: dict[str, str]) -> None:
        if not meta:
            raise StoreError(f"{self.path}: not an openrouter-otel audit store")
        if meta.get("algorithm") != self.chain.algorithm or (meta.get("key_id") or None) != self.chain.key_id:
            wanted = "the HMAC key it was created with" if meta.get("algorithm") != "sha256" else "no HMAC key"
            raise StoreError(f"{self.path}: this store is chained with {meta.get('algorithm')}; open it with {wanted}")

    # ---- writing -------------------------------------------------------------------------------

    def append(self, records: Iterable[AuditRecord]) -> AppendResult:
        """Store each record not stored yet, chained after the current head, in one transaction."""
        rows = [to_row(record) for record in records]
        placeholders = ", ".join("?" for _ in range(len(COLUMN_NAMES) + 3))
        insert = (f"INSERT OR IGNORE INTO {TABLE} (seq, {', '.join(COLUMN_NAMES)}, prev_hash, row_hash) "
                  f"VALUES ({placeholders})")
        inserted = 0
        try:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                head = self._head()
                seq, previous = head.seq, head.hash
                for row in rows:
                    row_hash = self._hash(seq + 1, row, previous)
                    if self._db.execute(insert, (seq + 1, *row, previous, row_hash)).rowcount:
                        seq, previous, inserted = seq + 1, row_hash, inserted + 1
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
        except sqlite3.Error as error:
            raise StoreError(f"{self.path}: could not write audit rows ({_reason(error)})") from None
        return AppendResult(inserted, len(rows) - inserted, Checkpoint(seq, previous))

    # ---- reading -------------------------------------------------------------------------------

    def head(self) -> Checkpoint:
        return self._head()

    def _head(self) -> Checkpoint:
        row = self._db.execute(f"SELECT seq, row_hash FROM {TABLE} ORDER BY seq DESC LIMIT 1").fetchone()
        return Checkpoint(int(row[0]), str(row[1])) if row else Checkpoint(0, GENESIS)

    def query(self, sql: str, parameters: Iterable[Any] | dict[str, Any] = ()) -> list[tuple[Any, ...]]:
        try:
            return self._db.execute(sql, parameters if isinstance(parameters, dict) else tuple(parameters)).fetchall()
        except sqlite3.Error as error:
            raise StoreError(f"{self.path}: query failed ({_reason(error)})") from None

    def chained_rows(self) -> Iterator[tuple[Any, ...]]:
        """(seq, *columns, prev_hash, row_hash) in chain order, streamed."""
        cursor = self._db.execute(f"SELECT seq, {', '.join(COLUMN_NAMES)}, prev_hash, row_hash FROM {TABLE} ORDER BY seq")
        while batch := cursor.fetchmany(10_000):
            yield from batch

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> AuditStore:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def _reason(error: BaseException) -> str:
    text = str(error) or type(error).__name__
    return "the disk is full" if "full" in text.lower() else text
