"""`audit report`: the standing queries over the audit store, for a time window.

Each section is one SQL query over `audit_log`; `tests/test_audit_store.py` checks the figures against the
seed's own three queries run on the same rows.
"""

from __future__ import annotations

import csv
import io
import json
import re
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any, Sequence

from openrouter_otel.audit_store.rows import iso_timestamp
from openrouter_otel.audit_store.store import TABLE, AuditStore

TOP = 10


@dataclass(frozen=True)
class Section:
    name: str
    title: str
    columns: tuple[str, ...]
    rows: list[tuple[Any, ...]]


_WHERE = "ts >= :since AND ts < :until"
_QUERIES: tuple[tuple[str, str, tuple[str, ...], str], ...] = (
    ("daily_cost_by_model", "Daily cost by served model", ("day", "served_model", "calls", "cost_usd"),
     f"SELECT substr(ts, 1, 10) AS day, COALESCE(served_model, requested_model || ' (asked)'), COUNT(*), "
     f"ROUND(COALESCE(SUM(cost_usd), 0), 10) FROM {TABLE} WHERE {_WHERE} GROUP BY 1, 2 ORDER BY 1, 2"),
    ("error_rate_by_model", "Error rate by requested model", ("requested_model", "calls", "errors", "error_rate"),
     f"SELECT requested_model, COUNT(*), SUM(status = 'error'), ROUND(1.0 * SUM(status = 'error') / COUNT(*), 6) "
     f"FROM {TABLE} WHERE {_WHERE} GROUP BY 1 ORDER BY 4 DESC, 1"),
    ("top_users", "Top spenders by user", ("user_id", "calls", "cost_usd"),
     f"SELECT COALESCE(user_id, '(none)'), COUNT(*), ROUND(COALESCE(SUM(cost_usd), 0), 10) FROM {TABLE} "
     f"WHERE {_WHERE} GROUP BY 1 ORDER BY 3 DESC, 1 LIMIT {TOP}"),
    ("top_teams", "Top spenders by team", ("team", "calls", "cost_usd"),
     f"SELECT COALESCE(team, '(none)'), COUNT(*), ROUND(COALESCE(SUM(cost_usd), 0), 10) FROM {TABLE} "
     f"WHERE {_WHERE} GROUP BY 1 ORDER BY 3 DESC, 1 LIMIT {TOP}"),
    ("by_provider", "Calls and cost by upstream provider", ("upstream_provider", "calls", "cost_usd", "approved"),
     f"SELECT COALESCE(upstream_provider, '(none)'), COUNT(*), ROUND(COALESCE(SUM(cost_usd), 0), 10), NULL "
     f"FROM {TABLE} WHERE {_WHERE} GROUP BY 1 ORDER BY 3 DESC, 1"),
    ("byok", "BYOK share and upstream cost", ("calls", "byok_calls", "byok_share", "upstream_cost_usd"),
     f"SELECT COUNT(*), COALESCE(SUM(is_byok = 1), 0), ROUND(1.0 * COALESCE(SUM(is_byok = 1), 0) / MAX(COUNT(*), 1), 6), "
     f"ROUND(COALESCE(SUM(CASE WHEN is_byok = 1 THEN upstream_cost_usd END), 0), 10) FROM {TABLE} WHERE {_WHERE}"),
    ("cost_by_source", "Cost by source", ("cost_source", "calls", "cost_usd"),
     f"SELECT COALESCE(cost_source, 'unknown'), COUNT(*), ROUND(COALESCE(SUM(cost_usd), 0), 10) FROM {TABLE} "
     f"WHERE {_WHERE} GROUP BY 1 ORDER BY 1"),
    ("policy_violations", "Policy violations by rule", ("rule", "calls"),
     f"WITH RECURSIVE split(rule, rest) AS ("
     f"SELECT '', policy_violations || ',' FROM {TABLE} WHERE {_WHERE} AND policy_violations IS NOT NULL "
     f"UNION ALL SELECT substr(rest, 1, instr(rest, ',') - 1), substr(rest, instr(rest, ',') + 1) FROM split "
     f"WHERE rest != '') SELECT rule, COUNT(*) FROM split WHERE rule != '' GROUP BY 1 ORDER BY 2 DESC, 1"),
)


def build_report(store: AuditStore, since: datetime | None, until: datetime | None,
                 approved_providers: Sequence[str] = ()) -> list[Section]:
    window = {"since": _bound(since, "0000"), "until": _bound(until, "9999")}
    sections = [Section(name, title, columns, _run(store, sql, window))
                for name, title, columns, sql in _QUERIES]
    return [_flag_providers(section, approved_providers) for section in sections]


_PERIOD_STARTS = {"hour": "%Y-%m-%dT%H:00:00.000000Z", "day": "%Y-%m-%dT00:00:00.000000Z",
                  "month": "%Y-%m-01T00:00:00.000000Z"}


def budget_section(store: AuditStore, policy: Any, now: datetime | None = None) -> Section:
    """Spend in the current calendar hour / day / month (UTC) of every budget the policy sets, from the store.

    The SDK checks the same budgets per process as calls end; this is the figure across every process that
    wrote the store."""
    now = now or datetime.now(timezone.utc)
    starts = {period: now.strftime(pattern) for period, pattern in _PERIOD_STARTS.items()}
    rows: list[tuple[Any, ...]] = []
    for scope, column, name, budget in _budgets(store, policy):
        for period, limit in budget.limits:
            where = f"{column} = ?" if column else "1 = 1"
            parameters = (name, starts[period]) if column else (starts[period],)
            spent = store.query(f"SELECT ROUND(COALESCE(SUM(cost_usd), 0), 10) FROM {TABLE} "
                                f"WHERE {where} AND ts >= ?", parameters)[0][0]
            rows.append((scope, name or "(all)", period, spent, limit, round(spent / limit, 6) if limit else None))
    return Section("budget_use", "Budget use this period (policy)", ("scope", "name", "period", "spent_usd",
                                                                      "budget_usd", "share"), rows)


def _budgets(store: AuditStore, policy: Any) -> list[tuple[str, str | None, str | None, Any]]:
    teams = {team for (team,) in store.query(f"SELECT DISTINCT team FROM {TABLE} WHERE team IS NOT NULL")}
    users = {user for (user,) in store.query(f"SELECT DISTINCT user_id FROM {TABLE} WHERE user_id IS NOT NULL")}
    found: list[tuple[str, str | None, str | None, Any]] = [("total", None, None, policy.budget)]
    found += [("team", "team", team, policy.team(team).budget) for team in sorted(teams | set(policy.teams))]
    found += [("user", "user_id", user, policy.user(user).budget) for user in sorted(users | set(policy.users))]
    return [entry for entry in found if entry[3].limits]


def _run(store: AuditStore, sql: str, window: dict[str, str]) -> list[tuple[Any, ...]]:
    return store.query(sql, window)


def _bound(moment: datetime | None, default: str) -> str:
    return iso_timestamp(int(moment.timestamp() * 1e9)) if moment is not None else default


def _flag_providers(section: Section, approved: Sequence[str]) -> Section:
    if section.name != "by_provider":
        return section
    allowed = set(approved)
    rows = [(provider, calls, cost, _approval(provider, allowed)) for provider, calls, cost, _ in section.rows]
    return Section(section.name, section.title, section.columns, rows)


def _approval(provider: str, allowed: set[str]) -> str:
    if not allowed or provider == "(none)":
        return "-"
    return "yes" if provider in allowed else "NOT APPROVED"


_RELATIVE = re.compile(r"^(\d+)([hdw])$")


def parse_moment(text: str, now: datetime | None = None) -> datetime:
    """`2026-12-01`, `2026-12-01T12:00:00Z`, or relative to now: `24h`, `7d`, `2w`."""
    now = now or datetime.now(timezone.utc)
    relative = _RELATIVE.match(text.strip())
    if relative:
        amount, unit = int(relative.group(1)), relative.group(2)
        return now - timedelta(**{{"h": "hours", "d": "days", "w": "weeks"}[unit]: amount})
    moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def render(sections: list[Section], fmt: str, window: dict[str, str | None]) -> str:
    if fmt == "json":
        document = {"window": window, **{section.name: [dict(zip(section.columns, row)) for row in section.rows]
                                         for section in sections}}
        return json.dumps(document, indent=2) + "\n"
    if fmt == "csv":
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        for section in sections:
            writer.writerow(["section", *section.columns])
            writer.writerows([section.name, *row] for row in section.rows)
        return buffer.getvalue()
    return "".join(_table(section) for section in sections)


def _table(section: Section) -> str:
    cells = [list(section.columns)] + [[_cell(value) for value in row] for row in section.rows]
    widths = [max(len(row[index]) for row in cells) for index in range(len(section.columns))]
    numeric = [all(isinstance(row[index], (int, float)) or row[index] is None for row in section.rows)
               for index in range(len(section.columns))]
    lines = [section.title, *("  " + "  ".join(value.rjust(width) if is_number else value.ljust(width)
                                            for value, width, is_number in zip(row, widths, numeric)).rstrip()
                              for row in cells)]
    if not section.rows:
        lines.append("  (no calls in this window)")
    return "\n".join(lines) + "\n\n"


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.6f}"
    return str(value)
