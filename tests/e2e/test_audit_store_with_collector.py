"""The embedded audit store beside the collector's trail: an app under `opentelemetry-instrument` writes its
own store and ships the same records (and the store's checkpoints) to the real collector; `audit import` builds
a fleet store from the collector's file, and `audit verify` holds the app's store to the checkpoints in it."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest

from openrouter_otel import semconv as sc
from openrouter_otel.cli import main
from tests.conftest import TEST_API_KEY
from tests.e2e.otlp_json import log_records
from tests.e2e.services import Collector, instrumented_env, run_instrumented, wait_until
from tests.e2e.workload import APP, app_calls, chat_plan, write_plan

pytestmark = pytest.mark.e2e

CALLS = 12


def test_import_and_checkpoints_through_the_real_collector(tmp_path: Path, replay_server: Any, capsys: Any):
    app_db, fleet_db = tmp_path / "app.db", tmp_path / "fleet.db"
    with Collector(tmp_path / "collector") as collector:
        env = instrumented_env(collector.otlp_http_endpoint, "store-app", {
            "APP_BASE_URL": replay_server.base_url, "APP_API_KEY": TEST_API_KEY,
            "APP_PLAN": str(write_plan(tmp_path / "plan.json", chat_plan(CALLS))),
            sc.ENV_AUDIT_DB: str(app_db), sc.ENV_AUDIT_CHECKPOINT_EVERY: "5",
        })
        assert len(app_calls(run_instrumented(APP, env))) == CALLS

        def shipped() -> list[Any]:
            records = log_records(collector.audit_lines())
            done = [r for r in records if r.event_name == sc.AUDIT_CHECKPOINT_EVENT_NAME
                    and r.attributes.get(sc.AUDIT_CHECKPOINT_SEQ) == CALLS]
            return records if done else []

        records = wait_until(shipped, 30, "the audit records and the final checkpoint in the collector's file")
    audit = [r for r in records if r.event_name == sc.AUDIT_EVENT_NAME]
    assert len(audit) == CALLS

    files = [str(path) for path in collector.audit_files()]
    assert main(["audit", "import", "--db", str(fleet_db), *files]) == 0
    assert f"imported {CALLS} new audit records" in capsys.readouterr().out
    with sqlite3.connect(app_db) as ours, sqlite3.connect(fleet_db) as fleet:
        query = "SELECT record_id, generation_id, cost_usd, served_model, user_id FROM audit_log ORDER BY record_id"
        assert ours.execute(query).fetchall() == fleet.execute(query).fetchall()
    assert main(["audit", "verify", "--db", str(fleet_db)]) == 0

    assert main(["audit", "verify", "--db", str(app_db), *[f"--checkpoint={path}" for path in files]]) == 0
    assert "checkpoint(s) matched" in capsys.readouterr().out
    with sqlite3.connect(app_db) as db:  # someone removes the last rows, triggers and all
        db.execute("DROP TRIGGER audit_log_no_delete")
        db.execute(f"DELETE FROM audit_log WHERE seq > {CALLS - 2}")
    assert main(["audit", "verify", "--db", str(app_db), *[f"--checkpoint={path}" for path in files]]) == 1
    assert "rows were removed from the end" in capsys.readouterr().out
