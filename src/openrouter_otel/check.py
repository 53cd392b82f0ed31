"""`openrouter-otel check`: the compliance and pre-launch review as one command.

Checks the API key (limit, credit, free tier, expiry) on OpenRouter's key endpoint, that the configured
models exist (and, with --probe, answer), that a source tree holds no hard-coded keys, the telemetry setup
of this environment, and the approved-provider list. Prints a checklist (or, with --json, one JSON document)
and exits 1 when any item fails. The key is only ever shown as its fingerprint.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta, timezone
from importlib import metadata
from typing import Any, Callable, TextIO

from openrouter_otel import semconv
from openrouter_otel.config import Settings, items
from openrouter_otel.errors import UserError
from openrouter_otel.extract import api_key_fingerprint
from openrouter_otel.package import _instruments

DEFAULT_BASE_URL = semconv.OPENROUTER_BASE_URL
ENV_BASE_URL = "OPENROUTER_BASE_URL"
ENV_API_KEY = "OPENROUTER_API_KEY"
ENTRY_POINT_GROUP, ENTRY_POINT_NAME = "opentelemetry_instrumentor", "openrouter"
EXPORTER_ENV = ("OTEL_TRACES_EXPORTER", "OTEL_LOGS_EXPORTER", "OTEL_METRICS_EXPORTER", "OTEL_EXPORTER_OTLP_ENDPOINT")
EXPIRY_WARNING = timedelta(days=7)
LOW_CREDIT_SHARE = 0.10  # of the limit
# Suffixes OpenRouter accepts on any listed model (routing variants), which /models does not list.
MODEL_VARIANTS = ("nitro", "floor", "online", "exacto")
PROBE_MESSAGES = [{"role": "user", "content": "Reply with the word OK."}]
SECTIONS = ("key", "models", "scan", "telemetry", "providers")

PASS, WARN, FAIL, SKIP = "pass", "warn", "fail", "skip"
MARKS = {PASS: "✓", WARN: "⚠", FAIL: "✗", SKIP: "-"}
ASCII_MARKS = {PASS: "ok", WARN: "!!", FAIL: "XX", SKIP: "--"}


@dataclass(frozen=True)
class Item:
    status: str
    check: str
    message: str
    details: dict[str, Any] = field(default_factory=dict)


@dataclass
class Section:
    name: str
    title: str
    items: list[Item] = field(default_factory=list)

    def add(self, status: str, check: str, message: str, **details: Any) -> None:
        self.items.append(Item(status, check, message, details))


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of `openrouter-otel check`."""
    from openrouter_otel.cli import _seconds

    parser.add_argument("--base-url", help=f"API base URL (default: ${ENV_BASE_URL} or {DEFAULT_BASE_URL})")
    parser.add_argument("--key-env", default=ENV_API_KEY, metavar="NAME",
                        help=f"environment variable holding the API key (default {ENV_API_KEY})")
    parser.add_argument("--min-credit", type=float, default=0.0, metavar="USD",
                        help="fail when the key's remaining credit is below this")
    parser.add_argument("--regulated", action="store_true",
                        help="the key serves regulated data: a free-tier key fails instead of warning")
    parser.add_argument("--model", action="append", default=[], metavar="MODEL",
                        help="a model the application uses, checked against GET /models (repeatable)")
    parser.add_argument("--probe", action="store_true",
                        help="make one tiny call per --model to prove it answers (costs a few tokens)")
    parser.add_argument("--scan", action="append", default=[], metavar="PATH",
                        help="scan a source tree or file for hard-coded API keys and tokens (repeatable)")
    parser.add_argument("--collector-health", metavar="URL",
                        help="the collector's health endpoint, e.g. http://127.0.0.1:13133/")
    parser.add_argument("--approved-providers", metavar="NAMES",
                        help='upstream providers calls may be served by, e.g. "Anthropic,OpenAI"')
    parser.add_argument("--skip", action="append", default=[], choices=SECTIONS,
                        help="leave out a section (repeatable)")
    parser.add_argument("--timeout", type=_seconds, default=10.0, metavar="SECONDS",
                        help="timeout of each network request (default 10)")
    parser.add_argument("--strict", action="store_true", help="exit non-zero on warnings too")
    parser.add_argument("--json", action="store_true", help="print one JSON document (for CI) instead of a checklist")


def run(args: argparse.Namespace) -> int:
    if not args.min_credit >= 0:
        raise UserError(f"--min-credit {args.min_credit} is not an amount of 0 or more", 2)
    missing = [path for path in args.scan if not os.path.exists(path)]
    if missing:
        raise UserError(f"--scan {missing[0]}: no such file or directory", 2)
    base_url = args.base_url or os.environ.get(ENV_BASE_URL) or DEFAULT_BASE_URL
    urls = ((f"base URL (--base-url or ${ENV_BASE_URL})", base_url), ("--collector-health", args.collector_health))
    for option, url in urls:
        if url is not None and urllib.parse.urlsplit(url).scheme not in ("http", "https"):
            raise UserError(f"{option} {url!r} is not an http:// or https:// URL", 2)
    key = os.environ.get(args.key_env, "").strip() or None
    api = Api(base_url, key, args.timeout)
    sections = [build(args, api) for name, build in _BUILDERS if name not in args.skip]
    code = exit_code(sections, strict=args.strict)
    text = render_json(sections, api, code) if args.json else render_text(sections, api, code, sys.stdout)
    if key:  # nothing above prints the key; this makes sure of it
        text = text.replace(key, "[redacted]")
    sys.stdout.write(text)
    return code


def exit_code(sections: list[Section], *, strict: bool = False) -> int:
    statuses = {item.status for section in sections for item in section.items}
    return 1 if FAIL in statuses or (strict and WARN in statuses) else 0


# --- HTTP --------------------------------------------------------------------------------------

class Unreachable(Exception):
    """No HTTP answer at all (refused, DNS, timeout, TLS)."""


@dataclass
class Api:
    base_url: str
    key: str | None
    timeout: float
    unreachable: str | None = None  # why the base URL could not be reached, once it could not

    def __post_init__(self) -> None:
        self.base_url = self.base_url.rstrip("/")

    @property
    def fingerprint(self) -> str | None:
        return api_key_fingerprint(self.key) if self.key else None

    def get(self, path: str, *, auth: bool = True) -> tuple[int, Any]:
        return self._call(urllib.request.Request(self.base_url + path), auth)

    def post(self, path: str, body: dict[str, Any]) -> tuple[int, Any]:
        request = urllib.request.Request(self.base_url + path, data=json.dumps(body).encode(), method="POST",
                                         headers={"Content-Type": "application/json"})
        return self._call(request, True)

    def _call(self, request: urllib.request.Request, auth: bool) -> tuple[int, Any]:
        if auth and self.key:
            # Unredirected: urllib would otherwise send the key on to wherever a redirect points.
            request.add_unredirected_header("Authorization", f"Bearer {self.key}")
        try:
            status, body = http_json(request, self.timeout)
        except Unreachable as error:
            self.unreachable = f"could not reach {request.full_url} ({error})"
            raise
        return status, body


def http_json(request: urllib.request.Request, timeout: float) -> tuple[int, Any]:
    """Status and parsed JSON body (None when not JSON) of a request; Unreachable when there is no answer."""
    request.add_header("Accept", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, _json(response.read())
    except urllib.error.HTTPError as error:
        with error:
            return error.code, _json(error.read())
    except urllib.error.URLError as error:
        raise Unreachable(_reason(error.reason)) from None
    except (OSError, ValueError) as error:  # timeouts while reading, a malformed URL
        raise Unreachable(_reason(error)) from None


def _json(raw: bytes) -> Any:
    try:
        return json.loads(raw)
    except ValueError:
        return None


def _reason(reason: Any) -> str:
    if isinstance(reason, TimeoutError) or "timed out" in str(reason):
        return "timed out"
    return getattr(reason, "strerror", None) or str(reason) or type(reason).__name__


def _error_code(body: Any) -> str:
    error = body.get("error") if isinstance(body, dict) else None
    return str(error.get("code")) if isinstance(error, dict) and error.get("code") is not None else ""


# --- 1. the key ----------------------------------------------------------------------------------

def key_section(args: argparse.Namespace, api: Api) -> Section:
    section = Section("key", f"API key (${args.key_env}"
                             + (f", fingerprint {api.fingerprint})" if api.key else ")"))
    if not api.key:
        section.add(FAIL, "key.present", f"{args.key_env} is not set (or leave this out with --skip key)")
        return section
    url = f"{api.base_url}/key"
    try:
        status, body = api.get("/key")
    except Unreachable:
        section.add(FAIL, "key.reachable", str(api.unreachable))
        return section
    data = body.get("data") if isinstance(body, dict) else None
    if status == 401:
        section.add(FAIL, "key.accepted", f"{url} refused the key in {args.key_env} (HTTP 401): revoked, "
                                          "mistyped, or a key of another service")
    elif status != 200 or not isinstance(data, dict):
        section.add(FAIL, "key.accepted", f"{url} answered HTTP {status}"
                                          + (" without key information" if status == 200 else ""))
    else:
        section.add(PASS, "key.accepted", f"accepted by {url}", label=data.get("label"))
        _key_limit(section, data, args.min_credit)
        _key_free_tier(section, data, args.regulated)
        _key_expiry(section, data)
    return section


def _key_limit(section: Section, data: dict[str, Any], min_credit: float) -> None:
    limit, remaining = _number(data.get("limit")), _number(data.get("limit_remaining"))
    usage = _number(data.get("usage"))
    used = f"; used {_dollars(usage)}" if usage is not None else ""
    if limit is None:
        section.add(WARN, "key.limit", f"no credit limit on this key{used}: a leak or a runaway loop can spend "
                                       "the whole account (set one in OpenRouter's key settings)", usage=usage)
        return
    reset = f", resets {data['limit_reset']}" if data.get("limit_reset") else ""
    section.add(PASS, "key.limit", f"credit limit {_dollars(limit)}{reset}{used}", limit=limit, usage=usage)
    if remaining is None:
        return
    details = {"limit_remaining": remaining, "min_credit": min_credit}
    if remaining <= 0 or remaining < min_credit:
        floor = f" (--min-credit {_dollars(min_credit)})" if min_credit else ""
        section.add(FAIL, "key.credit", f"{_dollars(remaining)} credit left of {_dollars(limit)}{floor}: calls "
                                        "will fail with HTTP 402", **details)
    elif remaining < limit * LOW_CREDIT_SHARE:
        section.add(WARN, "key.credit", f"low credit: {_dollars(remaining)} left of {_dollars(limit)}", **details)
    else:
        section.add(PASS, "key.credit", f"{_dollars(remaining)} credit left", **details)


def _key_free_tier(section: Section, data: dict[str, Any], regulated: bool) -> None:
    if not data.get("is_free_tier"):
        section.add(PASS, "key.free_tier", "paid account (not free tier)")
    elif regulated:
        section.add(FAIL, "key.free_tier", "free-tier key: not for regulated data (--regulated)")
    else:
        section.add(WARN, "key.free_tier", "free-tier key: tight rate limits, and free models' providers may "
                                           "keep prompts; not for regulated data")


def _key_expiry(section: Section, data: dict[str, Any], now: datetime | None = None) -> None:
    raw = data.get("expires_at")
    if not raw:
        section.add(PASS, "key.expiry", "does not expire")
        return
    try:
        expires = datetime.fromisoformat(str(raw)).astimezone(timezone.utc)
    except ValueError:
        section.add(WARN, "key.expiry", f"expiry {raw!r} is not a date")
        return
    left = expires - (now or datetime.now(timezone.utc))
    when = expires.strftime("%Y-%m-%d %H:%M UTC")
    if left <= timedelta(0):
        section.add(FAIL, "key.expiry", f"expired {when}", expires_at=str(raw))
    elif left < EXPIRY_WARNING:
        section.add(WARN, "key.expiry", f"expires in {_duration(left)} ({when})", expires_at=str(raw))
    else:
        section.add(PASS, "key.expiry", f"expires {when}", expires_at=str(raw))


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def _dollars(value: float | None) -> str:
    return "unknown" if value is None else f"${value:,.2f}" if value >= 0.01 or value == 0 else f"${value:.4f}"


def _duration(left: timedelta) -> str:
    hours = left.total_seconds() / 3600
    return f"{hours:.0f} hours" if hours < 48 else f"{left.days} days"


# --- 2. the models -------------------------------------------------------------------------------

def models_section(args: argparse.Namespace, api: Api) -> Section:
    section = Section("models", "Models")
    if not args.model:
        section.add(SKIP, "models.listed", "no --model given")
        return section
    if api.unreachable:
        section.add(SKIP, "models.listed", f"not checked: {api.base_url} could not be reached (above)")
        return section
    try:
        status, body = api.get("/models", auth=False)
    except Unreachable:
        section.add(FAIL, "models.listed", str(api.unreachable))
        return section
    listing = body.get("data") if isinstance(body, dict) else None
    if status != 200 or not isinstance(listing, list):
        section.add(FAIL, "models.listed", f"{api.base_url}/models answered HTTP {status} without a model list")
        return section
    known = {entry["id"]: entry for entry in listing if isinstance(entry, dict) and isinstance(entry.get("id"), str)}
    for model in args.model:
        entry = _listed(model, known)
        if entry is None:
            section.add(FAIL, "models.listed", f"{model}: not a model {api.base_url}/models lists", model=model)
            continue
        section.add(PASS, "models.listed", f"{model} is listed", model=model)
        if args.probe:
            _probe(section, api, model, entry)
    return section


def _listed(model: str, known: dict[str, dict[str, Any]]) -> dict[str, Any] | None:
    base, _, variant = model.rpartition(":")
    return known.get(model) or (known.get(base) if variant in MODEL_VARIANTS else None)


def _probe(section: Section, api: Api, model: str, entry: dict[str, Any]) -> None:
    embeddings = "embeddings" in ((entry.get("architecture") or {}).get("output_modalities") or ())
    path, body = (("/embeddings", {"model": model, "input": "OK"}) if embeddings else
                  ("/chat/completions", {"model": model, "messages": PROBE_MESSAGES, "max_tokens": 16}))
    started = time.monotonic()
    try:
        status, answer = api.post(path, body)
    except Unreachable as error:
        section.add(FAIL, "models.probe", f"{model}: could not reach {api.base_url}{path} ({error})", model=model)
        return
    seconds = round(time.monotonic() - started, 3)
    if status == 200 and isinstance(answer, dict) and not answer.get("error"):
        served = answer.get("provider") or answer.get("model") or "?"
        section.add(PASS, "models.probe", f"{model} answered in {seconds:.2f} s (served by {served})",
                    model=model, seconds=seconds, provider=answer.get("provider"))
    else:
        code = _error_code(answer)
        section.add(FAIL, "models.probe", f"{model}: {path} answered HTTP {status}"
                    + (f" ({code})" if code and code != str(status) else ""), model=model, http_status=status)


# --- 3. hard-coded secrets -----------------------------------------------------------------------

def scan_section(args: argparse.Namespace, api: Api) -> Section:
    from openrouter_otel.secrets_scan import ScanStats, scan

    section = Section("scan", "Hard-coded keys")
    if not args.scan:
        section.add(SKIP, "scan.findings", "no --scan path given")
        return section
    stats, started, found = ScanStats(), time.monotonic(), 0
    for finding in scan(args.scan, stats):
        found += 1
        section.add(FAIL, "scan.finding", f"{finding.path}:{finding.line}: {finding.kind} {finding.redacted}",
                    **asdict(finding))
    seconds = round(time.monotonic() - started, 3)
    skipped = [f"{count} {what}" for count, what in ((stats.skipped_binary, "binary"),
                                                     (stats.skipped_large, "over 2 MB"),
                                                     (stats.unreadable, "unreadable")) if count]
    summary = f"{stats.files} files scanned in {seconds:.2f} s"
    summary += f" (skipped {', '.join(skipped)})" if skipped else ""
    section.add(FAIL if found else PASS, "scan.summary", f"{found} hard-coded key(s); {summary}" if found
                else f"no hard-coded keys; {summary}", findings=found, seconds=seconds, **asdict(stats))
    return section


# --- 4. the telemetry setup ----------------------------------------------------------------------

def telemetry_section(args: argparse.Namespace, api: Api) -> Section:
    section = Section("telemetry", "Telemetry setup")
    _openai_version(section)
    _entry_point(section)
    _exporters(section)
    _settings(section, Settings.load())
    if args.collector_health:
        _collector_health(section, args.collector_health, args.timeout)
    return section


def _openai_version(section: Section) -> None:
    supported = ", ".join(_instruments)
    try:
        version = metadata.version("openai")
    except metadata.PackageNotFoundError:
        section.add(FAIL, "telemetry.openai", f"the openai SDK is not installed (supported: {supported})")
        return
    from opentelemetry.instrumentation.dependencies import get_dependency_conflicts

    if get_dependency_conflicts(list(_instruments)) is not None:
        section.add(FAIL, "telemetry.openai", f"openai {version} is outside the supported range ({supported}): "
                                              "opentelemetry-instrument will skip this instrumentation",
                    version=version)
    else:
        section.add(PASS, "telemetry.openai", f"openai {version} (supported: {supported})", version=version)


def _entry_point(section: Section) -> None:
    found = [ep for ep in metadata.entry_points(group=ENTRY_POINT_GROUP) if ep.name == ENTRY_POINT_NAME]
    if found:
        section.add(PASS, "telemetry.entry_point", f"entry point {ENTRY_POINT_GROUP}:{ENTRY_POINT_NAME} -> "
                                                   f"{found[0].value}", value=found[0].value)
    else:
        section.add(FAIL, "telemetry.entry_point", f"no {ENTRY_POINT_NAME!r} entry point in group "
                                                   f"{ENTRY_POINT_GROUP}: opentelemetry-instrument will not load "
                                                   "the instrumentation (reinstall openrouter-otel)")


def _exporters(section: Section) -> None:
    configured = {name: os.environ[name] for name in EXPORTER_ENV if os.environ.get(name, "").strip()}
    off = [name for name, value in configured.items() if value.strip().lower() == "none"]
    if not configured:
        section.add(WARN, "telemetry.exporters", f"no exporter configured ({', '.join(EXPORTER_ENV[:2])}, "
                                                 f"{EXPORTER_ENV[3]}): telemetry goes to SDK defaults or nowhere")
    elif off:
        section.add(WARN, "telemetry.exporters", f"{', '.join(off)}=none: that signal is not exported"
                    + (" (audit records travel as logs)" if "OTEL_LOGS_EXPORTER" in off else ""), **configured)
    else:
        section.add(PASS, "telemetry.exporters", ", ".join(f"{k}={v}" for k, v in configured.items()), **configured)


def _settings(section: Section, settings: Settings) -> None:
    if settings.redaction:
        section.add(PASS, "telemetry.redaction", "PII redaction on")
    else:
        section.add(FAIL, "telemetry.redaction", f"PII redaction off ({semconv.ENV_REDACTION}=false): spans and "
                                                 "logs are exported unredacted")
    if not settings.capture_message_content:
        section.add(PASS, "telemetry.content", "prompt and completion capture off")
    elif settings.redaction:
        section.add(PASS, "telemetry.content", "prompt and completion capture on, redacted")
    else:
        section.add(FAIL, "telemetry.content", f"prompt and completion capture on without redaction "
                                               f"({semconv.ENV_CAPTURE_MESSAGE_CONTENT})")
    if settings.audit_events:
        section.add(PASS, "telemetry.audit_events", "audit events (openrouter.audit) on")
    else:
        section.add(FAIL, "telemetry.audit_events", f"audit events off ({semconv.ENV_AUDIT_EVENTS}=false): "
                                                    "calls leave no audit record")


def _collector_health(section: Section, url: str, timeout: float) -> None:
    try:
        status, _ = http_json(urllib.request.Request(url), timeout)
    except Unreachable as error:
        section.add(FAIL, "telemetry.collector", f"collector health: could not reach {url} ({error})", url=url)
        return
    if 200 <= status < 300:
        section.add(PASS, "telemetry.collector", f"collector healthy ({url} answered HTTP {status})", url=url)
    else:
        section.add(FAIL, "telemetry.collector", f"collector unhealthy: {url} answered HTTP {status}", url=url)


# --- 5. approved providers -----------------------------------------------------------------------

def providers_section(args: argparse.Namespace, api: Api) -> Section:
    section = Section("providers", "Approved providers")
    approved = items(args.approved_providers)
    if approved:
        section.add(PASS, "providers.approved", f"approved: {', '.join(approved)}", providers=list(approved))
    else:
        section.add(WARN, "providers.approved", "no approved-provider list (--approved-providers): any upstream "
                                                "may serve the calls, and an audit cannot show what was allowed")
    return section


_BUILDERS: tuple[tuple[str, Callable[[argparse.Namespace, Api], Section]], ...] = (
    ("key", key_section), ("models", models_section), ("scan", scan_section),
    ("telemetry", telemetry_section), ("providers", providers_section),
)


# --- output --------------------------------------------------------------------------------------

def render_text(sections: list[Section], api: Api, code: int, stream: TextIO) -> str:
    marks = MARKS if _can_encode(stream, "".join(MARKS.values()) + "…") else ASCII_MARKS
    lines = [f"openrouter-otel check against {api.base_url}"]
    for section in sections:
        lines += ["", section.title]
        lines += [f"  {marks[item.status]} {item.message}" for item in section.items]
    counts = _counts(sections)
    lines += ["", f"{counts[FAIL]} failed, {counts[WARN]} warning(s), {counts[PASS]} passed"
                  + (" - not ready" if code else "")]
    text = "\n".join(lines) + "\n"
    return text if marks is MARKS else text.replace("…", "...")


def render_json(sections: list[Section], api: Api, code: int) -> str:
    document = {
        "ok": code == 0, "exit_code": code, "base_url": api.base_url, "key_fingerprint": api.fingerprint,
        "counts": _counts(sections),
        "sections": [{"name": s.name, "title": s.title, "items": [asdict(i) for i in s.items]} for s in sections],
    }
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def _counts(sections: list[Section]) -> dict[str, int]:
    counts = dict.fromkeys(MARKS, 0)
    for section in sections:
        for item in section.items:
            counts[item.status] += 1
    return counts


def _can_encode(stream: TextIO, text: str) -> bool:
    try:
        text.encode(getattr(stream, "encoding", None) or "ascii")
    except (UnicodeEncodeError, LookupError):
        return False
    return True
