"""`openrouter-otel audit import | report | verify`: the auditor's side of the store."""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Any, TextIO

from openrouter_otel import semconv as sc
from openrouter_otel.errors import UserError


def add_arguments(parser: argparse.ArgumentParser) -> None:
    actions = parser.add_subparsers(dest="audit_command", metavar="ACTION", required=True,
                                    parser_class=type(parser))
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--db", default=os.environ.get(sc.ENV_AUDIT_DB),
                        help=f"the audit store (default: ${sc.ENV_AUDIT_DB})")
    common.add_argument("--key-env", default=sc.ENV_AUDIT_HMAC_KEY, metavar="NAME",
                        help=f"environment variable holding the store's HMAC key, if it has one (default {sc.ENV_AUDIT_HMAC_KEY})")

    importing = actions.add_parser("import", parents=[common], help="load the collector's JSON-lines audit trail "
                                                                    "(rotated files too) into the store, deduplicated")
    importing.add_argument("files", nargs="+", metavar="FILE")

    report = actions.add_parser("report", parents=[common], help="cost, errors, spenders, providers, BYOK, cost sources")
    report.add_argument("--since", help="start of the window: a date, an ISO time, or 24h / 7d / 2w ago")
    report.add_argument("--until", help="end of the window (exclusive), same forms")
    report.add_argument("--format", choices=("table", "csv", "json"), default="table")
    report.add_argument("--approved-providers", default="", metavar="A,B",
                        help="upstream providers that are approved; others are flagged (default: the policy's)")
    report.add_argument("--policy", default=os.environ.get(sc.ENV_POLICY),
                        help=f"the policy file, for budget use and approved providers (default: ${sc.ENV_POLICY})")

    check = actions.add_parser("verify", parents=[common], help="check the hash chain (and published checkpoints)")
    check.add_argument("--checkpoint", action="append", default=[], metavar="SEQ:HASH|FILE",
                       help="a published chain head, or a file of them (the collector's audit file works); repeatable")
    check.add_argument("--json", action="store_true", help="print the result as JSON")


def run(args: argparse.Namespace, out: TextIO | None = None) -> int:
    out = out or sys.stdout
    store = _open_store(args, create=args.audit_command == "import")
    try:
        return {"import": _import, "report": _report, "verify": _verify}[args.audit_command](store, args, out)
    finally:
        store.close()


def _open_store(args: argparse.Namespace, create: bool) -> Any:
    from openrouter_otel.audit_store.store import AuditStore, StoreError

    if not args.db:
        raise UserError(f"no audit store given: use --db PATH or set {sc.ENV_AUDIT_DB}", 2)
    key = os.environ.get(args.key_env)
    try:
        return AuditStore(args.db, key=key.encode() if key else None, create=create)
    except StoreError as error:
        raise UserError(str(error), 3) from None


def _import(store: Any, args: argparse.Namespace, out: TextIO) -> int:
    from openrouter_otel.audit_store.importer import import_files
    from openrouter_otel.audit_store.store import StoreError

    try:
        report = import_files(store, args.files)
    except StoreError as error:
        raise UserError(str(error), 3) from None
    out.write(f"imported {report.inserted} new audit records from {report.files} file(s) into {store.path} "
              f"({report.duplicates} already there, {report.records} audit records in {report.lines} lines)\n")
    for where in report.truncated_tails:
        out.write(f"note: {where}: the last line is cut short (a collector stopped mid-write); skipped\n")
    for problem in report.problems:
        sys.stderr.write(f"openrouter-otel: {problem}\n")
    return 1 if report.problems else 0


def _report(store: Any, args: argparse.Namespace, out: TextIO) -> int:
    from openrouter_otel.audit_store.report import build_report, parse_moment, render

    try:
        since = parse_moment(args.since) if args.since else None
        until = parse_moment(args.until) if args.until else None
    except ValueError as error:
        raise UserError(f"cannot read the time {error}; use e.g. 2026-12-01, 2026-12-01T12:00:00Z or 24h", 2) from None
    policy = _load_policy(args.policy)
    approved = [name.strip() for name in args.approved_providers.split(",") if name.strip()]
    if not approved and policy is not None and policy.approved_providers:
        approved = list(policy.approved_providers)
    sections = build_report(store, since, until, approved)
    if policy is not None:
        from openrouter_otel.audit_store.report import budget_section

        sections.append(budget_section(store, policy))
    window = {"since": since.isoformat() if since else None, "until": until.isoformat() if until else None}
    out.write(render(sections, args.format, window))
    return 0


def _load_policy(path: str | None) -> Any:
    if not path:
        return None
    from openrouter_otel.policy import PolicyError, load_policy

    try:
        return load_policy(path)
    except PolicyError as error:  # names the file and the line already
        raise UserError(str(error), 2) from None
    except OSError as error:
        raise UserError(f"--policy {path}: cannot read it ({error.strerror or error})", 2) from None


def _verify(store: Any, args: argparse.Namespace, out: TextIO) -> int:
    from openrouter_otel.audit_store.verify import load_checkpoints, parse_checkpoint, verify

    checkpoints = []
    for item in args.checkpoint:
        try:
            checkpoints.extend(load_checkpoints([item]) if os.path.exists(item) else [parse_checkpoint(item)])
        except (ValueError, OSError):
            raise UserError(f"--checkpoint {item!r} is neither SEQ:HASH nor a readable file", 2) from None
    result = verify(store, checkpoints)
    if args.json:
        out.write(json.dumps({"ok": result.ok, "rows": result.rows, "head": {"seq": result.head.seq,
                              "hash": result.head.hash}, "algorithm": store.chain.algorithm,
                              "checkpoints_checked": result.checkpoints_checked,
                              "breaks": [{"seq": b.seq, "reason": b.reason} for b in result.breaks]}) + "\n")
    elif result.ok:
        out.write(f"ok: {result.rows} rows, chain intact ({store.chain.algorithm}); head {result.head.seq}:"
                  f"{result.head.hash}; {result.checkpoints_checked} checkpoint(s) matched\n")
    else:
        out.write(f"BROKEN at row {result.first_break.seq}: {result.first_break.reason}\n")  # type: ignore[union-attr]
    return 0 if result.ok else 1
