"""The embedded audit store: one row per call, append-only, tamper-evident, deduplicated, shared by processes."""

from __future__ import annotations

import json
import multiprocessing
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import openai
import pytest

from openrouter_otel import semconv as sc

from openrouter_otel.audit_store.chain import Checkpoint
from openrouter_otel.audit_store.exporter import AuditStoreExporter
from openrouter_otel.audit_store.rows import AuditRecord
from openrouter_otel.audit_store.store import AuditStore, StoreError
from openrouter_otel.audit_store.verify import verify
from openrouter_otel.cli import main

from .conftest import TEST_API_KEY

MESSAGES = [{"role": "user", "content": "Summarise the audit policy."}]
SCENARIOS = ("dated_model", "byok", "fallback", "no_cost", "credits_402", "rate_limit_429", "chat", "cached_prompt")


def make_calls(client: openai.OpenAI, count: int = len(SCENARIOS)) -> None:
    from openrouter_otel import audit_context

    for index in range(count):
        scenario = SCENARIOS[index % len(SCENARIOS)]
        with audit_context(user_id=f"user-{index % 3}", team=("research", "support")[index % 2]):
            try:
                client.chat.completions.create(model="anthropic/claude-sonnet-4.6", messages=MESSAGES + [
                    {"role": "user", "content": str(index)}], extra_headers={"X-Replay-Scenario": scenario})
            except openai.APIStatusError:
                pass


@pytest.fixture
def audit_db(tmp_path: Path) -> Path:
    return tmp_path / "audit.db"


@pytest.fixture
def stored(instrument, client, audit_db) -> Any:
    pipelines = instrument(audit_db=str(audit_db), audit_db_sync=True, audit_checkpoint_every=3)
    make_calls(client)
    return pipelines


def rows(path: Path) -> list[sqlite3.Row]:
    with sqlite3.connect(path) as db:
        db.row_factory = sqlite3.Row
        return db.execute("SELECT * FROM audit_log ORDER BY seq").fetchall()


def cli(*args: str, capsys: Any) -> tuple[int, str, str]:
    code = main(list(args))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_every_call_is_one_row_with_the_audit_fields_and_its_span_ids(stored, audit_db):
    spans = {span.context.span_id: span for span in stored.spans()}
    table = rows(audit_db)
    assert len(table) == len(SCENARIOS) == len(spans)
    for row in table:
        span = spans[int(row["span_id"], 16)]
        attributes = span.attributes
        assert row["trace_id"] == f"{span.context.trace_id:032x}"
        assert row["requested_model"] == "anthropic/claude-sonnet-4.6"
        assert row["served_model"] == attributes.get("gen_ai.response.model")
        assert row["generation_id"] == attributes.get("gen_ai.response.id")
        assert row["cost_usd"] == attributes.get("gen_ai.usage.cost")
        assert row["prompt_tokens"] == attributes.get("gen_ai.usage.input_tokens")
        assert row["upstream_provider"] == attributes.get("openrouter.provider")
        assert row["key_fingerprint"] == attributes["openrouter.api_key.fingerprint"]
        assert row["prompt_hash"].startswith("sha256:")
        assert row["status"] == ("error" if attributes.get("error.type") else "ok")
        assert row["user_id"].startswith("user-") and row["team"] in ("research", "support")
    byok = next(row for row in table if row["is_byok"] == 1)
    assert byok["upstream_cost_usd"] > 0
    assert {row["cost_source"] for row in table} >= {"response"}
    assert TEST_API_KEY not in audit_db.read_bytes().decode("latin-1")
    assert verify(AuditStore(audit_db, create=False)).ok


def test_the_chain_head_is_published_as_a_checkpoint_log_record(stored, audit_db, instrument):
    from openrouter_otel import OpenRouterInstrumentor

    OpenRouterInstrumentor().flush_audit_store()
    checkpoints = [record for record in stored.audit_records() if record.event_name == sc.AUDIT_CHECKPOINT_EVENT_NAME]
    assert checkpoints, "no checkpoint published"
    last = checkpoints[-1].attributes
    head = AuditStore(audit_db, create=False).head()
    assert (last[sc.AUDIT_CHECKPOINT_SEQ], last[sc.AUDIT_CHECKPOINT_HASH]) == (head.seq, head.hash)
    assert len(checkpoints) >= len(SCENARIOS) // 3


def test_a_retried_export_of_the_same_record_is_stored_once(stored, audit_db):
    exporter = AuditStoreExporter(lambda: AuditStore(audit_db))
    batch = [data for data in stored.log_exporter.get_finished_logs()]
    exporter.export(batch)
    exporter.export(batch)
    exporter.shutdown()
    assert len(rows(audit_db)) == len(SCENARIOS)


@pytest.mark.parametrize("statement", ["UPDATE audit_log SET cost_usd = 0", "DELETE FROM audit_log WHERE seq = 2",
                                       "UPDATE audit_meta SET value = 'x'", "DELETE FROM audit_meta"])
def test_the_database_refuses_updates_and_deletes(stored, audit_db, statement):
    with sqlite3.connect(audit_db) as db, pytest.raises(sqlite3.IntegrityError, match="append-only"):
        db.execute(statement)


def tamper(path: Path, *statements: str) -> None:
    """What someone with write access to the file can do: drop the triggers, then rewrite rows."""
    with sqlite3.connect(path) as db:
        for trigger in ("audit_log_no_update", "audit_log_no_delete"):
            db.execute(f"DROP TRIGGER {trigger}")
        for statement in statements:
            db.execute(statement)


@pytest.mark.parametrize("statements, broken_row, words", [
    (("UPDATE audit_log SET cost_usd = 0.000001 WHERE seq = 3",), 3, "changed"),
    (("UPDATE audit_log SET user_id = 'someone-else' WHERE seq = 5",), 5, "changed"),
    (("DELETE FROM audit_log WHERE seq = 4",), 4, "missing"),
    (("UPDATE audit_log SET seq = -2 WHERE seq = 2", "UPDATE audit_log SET seq = 2 WHERE seq = 6",
      "UPDATE audit_log SET seq = 6 WHERE seq = -2"), 2, "does not follow"),
    (("INSERT INTO audit_log SELECT 100, ts, 'forged', generation_id, operation, requested_model, served_model, "
      "provider_name, upstream_provider, server_address, prompt_tokens, completion_tokens, cache_read_tokens, "
      "reasoning_tokens, cost_usd, cost_source, is_byok, upstream_cost_usd, latency_s, status, error_type, "
      "error_code, user_id, team, classification, prompt_hash, key_fingerprint, routing, policy_violations, "
      "trace_id, span_id, service_name, prev_hash, row_hash FROM audit_log WHERE seq = 8",), 9, "missing"),
])
def test_verify_names_the_first_edited_deleted_reordered_or_inserted_row(stored, audit_db, capsys, statements,
                                                                        broken_row, words):
    assert cli("audit", "verify", "--db", str(audit_db), capsys=capsys)[0] == 0
    tamper(audit_db, *statements)
    code, out, _ = cli("audit", "verify", "--db", str(audit_db), capsys=capsys)
    assert code == 1
    assert out.startswith(f"BROKEN at row {broken_row}: ") and words in out


def test_truncating_the_tail_after_a_published_checkpoint_is_detected(stored, audit_db, capsys):
    head = AuditStore(audit_db, create=False).head()
    tamper(audit_db, f"DELETE FROM audit_log WHERE seq > {head.seq - 2}")
    assert cli("audit", "verify", "--db", str(audit_db), capsys=capsys)[0] == 0  # the chain alone cannot tell
    code, out, _ = cli("audit", "verify", "--db", str(audit_db), "--checkpoint", f"{head.seq}:{head.hash}",
                       capsys=capsys)
    assert code == 1 and "rows were removed from the end" in out


def test_checkpoints_are_read_from_the_log_records_a_collector_wrote(stored, audit_db, capsys, tmp_path):
    from openrouter_otel import OpenRouterInstrumentor

    OpenRouterInstrumentor().flush_audit_store()
    head = AuditStore(audit_db, create=False).head()
    trail = tmp_path / "audit.jsonl"
    trail.write_text(json.dumps(otlp_line([checkpoint_record(head)])) + "\n")
    assert cli("audit", "verify", "--db", str(audit_db), "--checkpoint", str(trail), capsys=capsys)[0] == 0
    tamper(audit_db, f"DELETE FROM audit_log WHERE seq = {head.seq}")
    code, out, _ = cli("audit", "verify", "--db", str(audit_db), "--checkpoint", str(trail), capsys=capsys)
    assert code == 1 and f"row {head.seq}" in out


def test_with_an_hmac_key_a_rewritten_chain_does_not_verify(instrument, client, audit_db, capsys, monkeypatch):
    instrument(audit_db=str(audit_db), audit_db_sync=True, audit_hmac_key="s3cret-audit-key")
    make_calls(client, 3)
    # Rewrite row 2 and recompute every hash after it with plain SHA-256, as a forger without the key would.
    from openrouter_otel.audit_store.chain import Chain

    tamper(audit_db, "UPDATE audit_log SET cost_usd = 0 WHERE seq = 2")
    hasher, previous = Chain(None).hasher(), None
    with sqlite3.connect(audit_db) as db:
        table = db.execute("SELECT * FROM audit_log ORDER BY seq").fetchall()
        for row in table:
            seq, columns = row[0], row[1:-2]
            previous = previous or row[-2]
            digest = hasher(seq, columns, previous)
            db.execute("UPDATE audit_log SET prev_hash = ?, row_hash = ? WHERE seq = ?", (previous, digest, seq))
            previous = digest
    monkeypatch.setenv("OTEL_INSTRUMENTATION_OPENROUTER_AUDIT_HMAC_KEY", "s3cret-audit-key")
    code, out, _ = cli("audit", "verify", "--db", str(audit_db), capsys=capsys)
    assert code == 1 and out.startswith("BROKEN at row 1")
    monkeypatch.delenv("OTEL_INSTRUMENTATION_OPENROUTER_AUDIT_HMAC_KEY")
    code, _, err = cli("audit", "verify", "--db", str(audit_db), capsys=capsys)
    assert code == 3 and "hmac-sha256" in err  # without the key the store says which key it needs


def _append_records(path: str, worker: int, count: int) -> None:
    store = AuditStore(path)
    for index in range(count):
        store.append([record(f"{worker:02d}{index:06d}", worker * 1000 + index)])
    store.close()


def record(suffix: str, when: int, **attributes: Any) -> AuditRecord:
    base = {"gen_ai.request.model": "openai/gpt-4o", "gen_ai.response.model": "openai/gpt-4o",
            "gen_ai.usage.cost": 0.001, "openrouter.status": "ok", "enduser.id": "u", "openrouter.team": "t"}
    return AuditRecord({**base, **attributes}, 1_767_225_600_000_000_000 + when * 1_000_000,
                       f"{suffix:0>32}"[-32:], f"{suffix:0>16}"[-16:], "svc")


def test_several_processes_append_to_one_file_and_the_chain_holds(audit_db):
    AuditStore(audit_db).close()
    context = multiprocessing.get_context("spawn")
    workers = [context.Process(target=_append_records, args=(str(audit_db), worker, 150)) for worker in range(4)]
    for process in workers:
        process.start()
    for process in workers:
        process.join(timeout=120)
        assert process.exitcode == 0
    result = verify(AuditStore(audit_db, create=False))
    assert result.ok and result.rows == 600


def test_a_locked_or_full_database_loses_no_record(audit_db, monkeypatch):
    exporter = AuditStoreExporter(lambda: AuditStore(audit_db))
    failing = {"on": True}
    original = AuditStore.append

    def append(self: AuditStore, records: Any) -> Any:
        if failing["on"]:
            raise StoreError(f"{self.path}: could not write audit rows (database or disk is full)")
        return original(self, records)

    monkeypatch.setattr(AuditStore, "append", append)
    from opentelemetry._logs import LogRecord

    def log(suffix: str) -> Any:
        item = record(suffix, int(suffix))
        return LogRecord(timestamp=item.timestamp_ns, attributes=dict(item.attributes), event_name=sc.AUDIT_EVENT_NAME)

    exporter.export([log("1"), log("2")])
    failing["on"] = False
    exporter.export([log("3")])
    exporter.shutdown()
    assert len(rows(audit_db)) == 3


def test_the_application_never_sees_a_broken_store(instrument, client, tmp_path, caplog):
    corrupt = tmp_path / "corrupt.db"
    corrupt.write_bytes(b"this is not a database" * 100)
    instrument(audit_db=str(corrupt))
    client.chat.completions.create(model="openai/gpt-4o", messages=MESSAGES)
    assert any("the audit store is off" in message for message in caplog.messages)
    assert corrupt.read_bytes() == b"this is not a database" * 100


def test_the_cli_says_one_line_for_a_corrupt_store(tmp_path, capsys):
    corrupt = tmp_path / "corrupt.db"
    corrupt.write_bytes(b"garbage" * 1000)
    for action in ("verify", "report"):
        code, _, err = cli("audit", action, "--db", str(corrupt), capsys=capsys)
        assert code == 3 and len(err.strip().splitlines()) == 1 and str(corrupt) in err


# ---- import ------------------------------------------------------------------------------------------------


def otlp_value(value: Any) -> dict[str, Any]:
    if isinstance(value, bool):
        return {"boolValue": value}
    if isinstance(value, int):
        return {"intValue": str(value)}
    if isinstance(value, float):
        return {"doubleValue": value}
    if isinstance(value, (list, tuple)):
        return {"arrayValue": {"values": [otlp_value(item) for item in value]}}
    return {"stringValue": str(value)}


def otlp_record(item: AuditRecord, event_name: str = sc.AUDIT_EVENT_NAME) -> dict[str, Any]:
    return {"timeUnixNano": str(item.timestamp_ns), "eventName": event_name, "traceId": item.trace_id,
            "spanId": item.span_id, "attributes": [{"key": k, "value": otlp_value(v)} for k, v in item.attributes.items()]}


def checkpoint_record(head: Checkpoint) -> dict[str, Any]:
    item = AuditRecord(head.to_attributes("sha256", None, "x"), 1, None, None, None)
    record = otlp_record(item, sc.AUDIT_CHECKPOINT_EVENT_NAME)
    del record["traceId"], record["spanId"]
    return record


def otlp_line(records: list[dict[str, Any]]) -> dict[str, Any]:
    return {"resourceLogs": [{"resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "svc"}}]},
                              "scopeLogs": [{"scope": {"name": "openrouter_otel"}, "logRecords": records}]}]}


def test_import_loads_rotated_collector_files_once_and_keeps_the_chain(tmp_path, audit_db, capsys):
    items = [record(f"{index}", index, **{"gen_ai.response.id": f"gen-{index}"}) for index in range(30)]
    older, newer = tmp_path / "audit-2026-11-30.jsonl", tmp_path / "audit.jsonl"
    older.write_text("".join(json.dumps(otlp_line([otlp_record(item) for item in items[i:i + 5]])) + "\n"
                             for i in range(0, 20, 5)))
    newer.write_text("".join(json.dumps(otlp_line([otlp_record(item)])) + "\n" for item in items[15:]))
    code, out, _ = cli("audit", "import", "--db", str(audit_db), str(older), str(newer), capsys=capsys)
    assert code == 0 and "imported 30 new audit records" in out
    code, out, _ = cli("audit", "import", "--db", str(audit_db), str(newer), capsys=capsys)
    assert code == 0 and "imported 0 new" in out and "15 already there" in out
    assert [row["generation_id"] for row in rows(audit_db)] == [f"gen-{index}" for index in range(30)]
    assert cli("audit", "verify", "--db", str(audit_db), capsys=capsys)[0] == 0


def test_import_notes_a_truncated_last_line_and_fails_on_a_broken_middle_line(tmp_path, audit_db, capsys):
    good = json.dumps(otlp_line([otlp_record(record("1", 1))]))
    cut = tmp_path / "cut.jsonl"
    cut.write_text(good + "\n" + good[: len(good) // 2])
    code, out, _ = cli("audit", "import", "--db", str(audit_db), str(cut), capsys=capsys)
    assert code == 0 and "imported 1 new" in out and f"{cut}:2: the last line is cut short" in out
    broken = tmp_path / "broken.jsonl"
    broken.write_text("{not json\n" + json.dumps(otlp_line([otlp_record(record("2", 2))])) + "\n")
    code, out, err = cli("audit", "import", "--db", str(audit_db), str(broken), capsys=capsys)
    assert code == 1 and "imported 1 new" in out and f"{broken}:1: not an OTLP/JSON logs line" in err


# ---- report ------------------------------------------------------------------------------------------------

# The seed's three standing queries, as its operators run them on the table.
SEED_DAILY_COST = ("SELECT substr(ts, 1, 10) AS day, served_model, SUM(cost_usd) FROM audit_log "
                   "WHERE served_model IS NOT NULL GROUP BY day, served_model ORDER BY day, served_model")
SEED_ERROR_RATE = ("SELECT requested_model, COUNT(*), SUM(CASE WHEN status = 'error' THEN 1 ELSE 0 END) * 1.0 / COUNT(*) "
                   "FROM audit_log WHERE ts >= strftime('%Y-%m-%dT%H:%M:%fZ', 'now', '-1 day') "
                   "GROUP BY requested_model ORDER BY requested_model")
SEED_TOP_SPENDERS = ("SELECT user_id, SUM(cost_usd) AS spent FROM audit_log WHERE user_id IS NOT NULL "
                     "GROUP BY user_id ORDER BY spent DESC LIMIT 10")


def test_the_report_equals_the_seeds_queries_on_the_same_rows(instrument, client, audit_db, capsys):
    instrument(audit_db=str(audit_db), audit_db_sync=True)
    make_calls(client, 24)
    with sqlite3.connect(audit_db) as db:
        daily = db.execute(SEED_DAILY_COST).fetchall()
        errors = db.execute(SEED_ERROR_RATE).fetchall()
        spenders = db.execute(SEED_TOP_SPENDERS).fetchall()
    code, out, _ = cli("audit", "report", "--db", str(audit_db), "--format", "json", "--since", "24h", capsys=capsys)
    assert code == 0
    report = json.loads(out)
    ours_daily = {(row["day"], row["served_model"]): row["cost_usd"] for row in report["daily_cost_by_model"]
                  if not row["served_model"].endswith("(asked)")}
    assert ours_daily == pytest.approx({(day, model): cost for day, model, cost in daily}, rel=1e-9, abs=1e-12)
    ours_errors = {row["requested_model"]: (row["calls"], row["error_rate"]) for row in report["error_rate_by_model"]}
    assert ours_errors == {model: (calls, pytest.approx(rate, abs=1e-6)) for model, calls, rate in errors}
    ours_spenders = {row["user_id"]: row["cost_usd"] for row in report["top_users"] if row["user_id"] != "(none)"}
    assert ours_spenders == {user: pytest.approx(spent, rel=1e-9) for user, spent in spenders}
    assert {row["cost_source"] for row in report["cost_by_source"]} <= {"response", "generation", "estimate", "unknown"}
    assert report["byok"][0]["byok_calls"] == 3 and report["byok"][0]["upstream_cost_usd"] > 0


def test_the_report_flags_unapproved_providers_and_renders_as_table_and_csv(stored, audit_db, capsys):
    code, out, _ = cli("audit", "report", "--db", str(audit_db), "--approved-providers", "Anthropic", capsys=capsys)
    assert code == 0 and "Calls and cost by upstream provider" in out and "NOT APPROVED" in out
    code, out, _ = cli("audit", "report", "--db", str(audit_db), "--format", "csv", capsys=capsys)
    assert code == 0 and out.splitlines()[0] == "section,day,served_model,calls,cost_usd"
    code, out, _ = cli("audit", "report", "--db", str(audit_db), "--since", "2999-01-01", capsys=capsys)
    assert "(no calls in this window)" in out
    code, _, err = cli("audit", "report", "--db", str(audit_db), "--since", "last tuesday", capsys=capsys)
    assert code == 2 and "cannot read the time" in err


def test_zero_code_users_get_the_store_from_the_environment(replay_server, tmp_path):
    audit_db = tmp_path / "zero-code.db"
    env = {"OPENROUTER_BASE_URL": replay_server.base_url, "OPENROUTER_API_KEY": "sk-or-v1-zero",
           "OTEL_INSTRUMENTATION_OPENROUTER_AUDIT_DB": str(audit_db), "OTEL_TRACES_EXPORTER": "none",
           "OTEL_METRICS_EXPORTER": "none", "OTEL_LOGS_EXPORTER": "none", "PATH": str(Path(sys.executable).parent)}
    app = Path(__file__).resolve().parents[1] / "examples" / "zero-code" / "app.py"
    completed = subprocess.run([str(Path(sys.executable).parent / "opentelemetry-instrument"), sys.executable, str(app)],
                               capture_output=True, text=True, timeout=60, env=env)
    assert completed.returncode == 0, completed.stderr
    table = rows(audit_db)
    assert len(table) == 1 and table[0]["served_model"] == "openai/gpt-4o-mini" and table[0]["trace_id"]


def test_the_report_shows_budget_use_this_period_from_the_policy(instrument, client, audit_db, capsys, tmp_path):
    instrument(audit_db=str(audit_db), audit_db_sync=True)
    make_calls(client, 6)
    policy = tmp_path / "policy.yaml"
    policy.write_text("version: 1\napproved_providers: [Anthropic]\nteams:\n  research:\n    budget: {day: 0.001}\n"
                      "budget: {month: 10}\n")
    code, out, _ = cli("audit", "report", "--db", str(audit_db), "--policy", str(policy), "--format", "json",
                       capsys=capsys)
    assert code == 0
    use = {(row["scope"], row["name"], row["period"]): row for row in json.loads(out)["budget_use"]}
    with sqlite3.connect(audit_db) as db:
        research, total = db.execute("SELECT SUM(CASE WHEN team = 'research' THEN cost_usd END), SUM(cost_usd) "
                                     "FROM audit_log").fetchone()
    assert use[("team", "research", "day")]["spent_usd"] == pytest.approx(research)
    assert use[("team", "research", "day")]["share"] == pytest.approx(research / 0.001, rel=1e-5)
    assert use[("total", "(all)", "month")]["spent_usd"] == pytest.approx(total)
    assert not any(key[1] == "support" for key in use)  # no budget set for it
    assert any(row["approved"] == "NOT APPROVED" for row in json.loads(out)["by_provider"])  # the policy's list
    policy.write_text("version: 1\nbudget: {day: -5}\n")
    code, _, err = cli("audit", "report", "--db", str(audit_db), "--policy", str(policy), capsys=capsys)
    assert code == 2 and len(err.strip().splitlines()) == 1 and f"{policy}:2" in err
