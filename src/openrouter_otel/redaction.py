"""`Redactor`: finds PII and secrets in telemetry values and replaces them.

Built for the export path: a clean value costs one dictionary lookup when seen before and a few
C-speed gates when new; patterns run only for the families whose gate opens (see detectors.py).
Replacement is `[REDACTED:EMAIL]` by default, or `[EMAIL:3f9a1c2b]` (HMAC-SHA256 with `hash_key`,
first 8 hex digits) so that the same value stays joinable across records without being readable.

Nothing here raises into the caller: `redact_value` turns what it cannot process into a placeholder
rather than letting it through.
"""

from __future__ import annotations

import copy
import hashlib
import hmac
import json
import logging
import re
import threading
from collections import Counter
from typing import Any, Iterable, Mapping

from openrouter_otel import semconv as sc
from openrouter_otel.detectors import (
    ADDRESS_DETECTOR_NAMES,
    BUILTIN_DETECTORS,
    INFRASTRUCTURE_ADDRESS_KEYS,
    DIGIT_GATE,
    IPV6_GATE,
    NUMBER_GATE,
    NUMBER_RUN,
    TELEMETRY_ID,
    Detector,
)

logger = logging.getLogger(__name__)

_DIGIT = re.compile(r"[0-9]")

MIN_CANDIDATE_CHARS = 6  # the shortest value any built-in detector accepts ("a@b.io", "8.8.8.8")
DEFAULT_MAX_CHARS = 1 << 20
MAX_DEPTH = 32
CLEAN_CACHE_SIZE = 8192
CLEAN_CACHE_MAX_CHARS = 512

DEPTH_PLACEHOLDER = "[REDACTED:DEPTH]"
UNREADABLE_PLACEHOLDER = "[REDACTED:UNREADABLE]"

_INFRASTRUCTURE = frozenset(INFRASTRUCTURE_ADDRESS_KEYS)


class PreRedacted(threading.local):
    """A one-shot mark around emitting one log record whose body and attributes were already redacted by a
    Redactor: the redacting log record processor using that same Redactor takes the mark and does not scan
    the record again. Any other record, or a processor with another Redactor, is scanned as always."""

    def __init__(self) -> None:
        self.redactor: Any = None

    def take(self, redactor: Any) -> bool:
        marked, self.redactor = self.redactor, None
        return marked is not None and marked is redactor


PRE_REDACTED = PreRedacted()

# The names of the built-in detectors (several patterns may share one name, e.g. PHONE).
BUILTIN_NAMES: tuple[str, ...] = tuple(dict.fromkeys(detector.name for detector in BUILTIN_DETECTORS))

__all__ = ["BUILTIN_DETECTORS", "BUILTIN_NAMES", "Detector", "Redactor"]


class Redactor:
    """Finds and replaces PII and secrets.

    - `disable`: built-in detector names to turn off (e.g. `{"IPV4", "IPV6"}`).
    - `patterns`: extra detectors, `{"EMPLOYEE_ID": r"EMP-[0-9]{6}"}` (strings or compiled patterns).
    - `hash_key`: when set, replace with keyed hash tokens instead of `[REDACTED:TYPE]`.
    - `max_chars`: work cap per value; the rest of a longer value is dropped, never exported unscanned.
    - `meter_provider`: where the `openrouter.redactions` counter lives (the global one by default).
    """

    def __init__(
        self,
        *,
        disable: Iterable[str] = (),
        patterns: Mapping[str, str | re.Pattern[str]] | None = None,
        hash_key: str | bytes | None = None,
        max_chars: int = DEFAULT_MAX_CHARS,
        meter_provider: Any = None,
    ) -> None:
        disabled = {name.strip().upper() for name in disable if name and name.strip()}
        unknown = disabled - set(BUILTIN_NAMES)
        if unknown:
            logger.warning("openrouter-otel: unknown redaction detectors to disable: %s", ", ".join(sorted(unknown)))
        active = [detector for detector in BUILTIN_DETECTORS if detector.name not in disabled]
        self.detectors: tuple[Detector, ...] = (*active, *_custom_detectors(patterns or {}))
        self._gates = _gates(self.detectors)
        self._rank = {detector.name: rank for rank, detector in enumerate(self.detectors)}
        self._hash_key = hash_key.encode() if isinstance(hash_key, str) else hash_key
        self.max_chars = max(int(max_chars), 1024)
        self._clean: dict[str, None] = {}
        self._counter = _redactions_counter(meter_provider)
        self._infrastructure = self._without(ADDRESS_DETECTOR_NAMES)

    def _without(self, names: Iterable[str]) -> Redactor:
        """This redactor with the detectors `names` off (and a clean cache of its own): for the attributes
        that name infrastructure, whose IP addresses are kept (detectors.INFRASTRUCTURE_ADDRESS_KEYS)."""
        other = copy.copy(self)
        other.detectors = tuple(detector for detector in self.detectors if detector.name not in set(names))
        other._gates = _gates(other.detectors)
        other._clean = {}
        other._infrastructure = other
        return other

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(detector.name for detector in self.detectors))

    # --- text -----------------------------------------------------------------------------------

    def redact(self, text: str) -> str:
        """`text` with every finding replaced; the very same object when nothing was found."""
        if len(text) < MIN_CANDIDATE_CHARS or text in self._clean or TELEMETRY_ID.fullmatch(text) is not None:
            return text
        try:
            return self._redact_new(text)
        except Exception:  # a detector bug must not let the value through
            logger.debug("openrouter-otel: redaction failed; value withheld", exc_info=True)
            return UNREADABLE_PLACEHOLDER

    def _redact_new(self, text: str) -> str:
        scanned, dropped = (text, 0) if len(text) <= self.max_chars else _cut(text, self.max_chars)
        findings = self.find(scanned)
        if not findings and not dropped:
            self._remember_clean(text)
            return text
        result = self._replace(scanned, findings) if findings else scanned
        if dropped:
            result += f"[TRUNCATED:{dropped} chars]"
        return result

    def find(self, text: str) -> list[tuple[int, int, str]]:
        """Non-overlapping findings as `(start, end, type)`, in order."""
        found: list[tuple[int, int, str]] = []
        has_digit = None
        for triggers, detectors in self._gates:
            if triggers is DIGIT_GATE or triggers is NUMBER_GATE:
                if has_digit is None:
                    has_digit = _DIGIT.search(text) is not None
                if not has_digit or (triggers is NUMBER_GATE and NUMBER_RUN.search(text) is None):
                    continue
            elif triggers is IPV6_GATE:
                if "::" not in text and text.count(":") < 6:
                    continue
            elif triggers:
                for trigger in triggers:
                    if trigger in text:
                        break
                else:
                    continue
            _scan(detectors, text, found)
        return self._merge(found) if len(found) > 1 else found

    def _merge(self, found: list[tuple[int, int, str]]) -> list[tuple[int, int, str]]:
        # Overlapping findings become one (their union) so no piece of either is left readable.
        found.sort(key=lambda item: (item[0], -item[1]))
        merged = [found[0]]
        for start, end, name in found[1:]:
            last_start, last_end, last_name = merged[-1]
            if start < last_end:
                keep = last_name if self._rank[last_name] <= self._rank[name] else name
                merged[-1] = (last_start, max(end, last_end), keep)
            else:
                merged.append((start, end, name))
        return merged

    def _replace(self, text: str, findings: list[tuple[int, int, str]]) -> str:
        pieces, position, counts = [], 0, Counter()
        for start, end, name in findings:
            pieces.append(text[position:start])
            pieces.append(self._token(name, text[start:end]))
            position = end
            counts[name] += 1
        pieces.append(text[position:])
        for name, count in counts.items():
            self._counter.add(count, {sc.PII_TYPE: name})
        return "".join(pieces)

    def _token(self, name: str, value: str) -> str:
        if self._hash_key is None:
            return f"[REDACTED:{name}]"
        digest = hmac.new(self._hash_key, value.encode("utf-8", "surrogatepass"), hashlib.sha256).hexdigest()
        return f"[{name}:{digest[:8]}]"

    def _remember_clean(self, text: str) -> None:
        if len(text) > CLEAN_CACHE_MAX_CHARS:
            return
        if len(self._clean) >= CLEAN_CACHE_SIZE:
            self._clean.clear()
        self._clean[text] = None

    # --- any value ------------------------------------------------------------------------------

    def redact_value(self, value: Any, depth: int = 0) -> Any:
        """Redact a telemetry value of any shape: text, bytes, sequences, mappings (log bodies).

        Returns the same object when nothing changed. Values it cannot read are replaced, never passed on.
        """
        if isinstance(value, str):
            return self.redact(value)
        if value is None or isinstance(value, (bool, int, float)):
            return value
        if depth >= MAX_DEPTH:
            return DEPTH_PLACEHOLDER
        try:
            if isinstance(value, (bytes, bytearray)):
                return self._redact_bytes(bytes(value))
            if isinstance(value, (list, tuple)):
                return self._redact_sequence(value, depth)
            if isinstance(value, Mapping):
                return self._redact_mapping(value, depth)
            return self.redact(str(value))
        except Exception:
            logger.debug("openrouter-otel: could not redact a %s value", type(value).__name__, exc_info=True)
            return UNREADABLE_PLACEHOLDER

    def redact_attributes(self, attributes: Mapping[str, Any]) -> Mapping[str, Any]:
        """Span, event, link, resource or log attributes: the same mapping when clean, else a redacted copy.

        Attributes that name infrastructure (`server.address`, ...) keep their IP addresses."""
        clean, redact = self._clean, self.redact
        changed = None
        for key, value in attributes.items():
            kind = type(value)
            if kind is str:
                if len(value) < MIN_CANDIDATE_CHARS or value in clean:
                    continue
                new_value = redact(value) if key not in _INFRASTRUCTURE else self._infrastructure.redact(value)
            elif kind is int or kind is float or kind is bool:
                continue
            else:
                owner = self if key not in _INFRASTRUCTURE else self._infrastructure
                new_value = owner._redact_sequence(value, 0) if kind is tuple or kind is list else owner.redact_value(value)
            if new_value is not value:
                if changed is None:
                    changed = dict(attributes)
                changed[key] = new_value
        return attributes if changed is None else changed

    def _redact_bytes(self, value: bytes) -> bytes:
        # surrogateescape round-trips bytes that are not UTF-8 exactly while still scanning the text in them
        text = value.decode("utf-8", "surrogateescape")
        redacted = self.redact(text)
        return value if redacted is text else redacted.encode("utf-8", "surrogateescape")

    def _redact_sequence(self, value: list | tuple, depth: int) -> list | tuple:
        clean, redact_value = self._clean, self.redact_value
        items = [item if type(item) is str and item in clean else redact_value(item, depth + 1) for item in value]
        if all(new is old for new, old in zip(items, value)):
            return value
        return tuple(items) if isinstance(value, tuple) else items

    def _redact_mapping(self, value: Mapping, depth: int) -> Mapping:
        changed = False
        result = {}
        for key, item in value.items():
            new_key = self.redact(key) if isinstance(key, str) else key
            new_item = self.redact_value(item, depth + 1)
            changed = changed or new_key is not key or new_item is not item
            result[new_key] = new_item
        return result if changed else value

    @classmethod
    def from_settings(cls, settings: Any, meter_provider: Any = None,
                      patterns: Mapping[str, str | re.Pattern[str]] | None = None) -> Redactor:
        """The redactor `OpenRouterInstrumentor` builds from its settings (environment or keywords)."""
        disable = (settings.redaction_disable or "").split(",")
        merged = {**_patterns_from_json(settings.redaction_patterns), **(patterns or {})}
        return cls(disable=disable, patterns=merged, hash_key=settings.redaction_hash_key,
                   meter_provider=meter_provider)


def _gates(detectors: tuple[Detector, ...]) -> tuple[tuple[tuple[str, ...], tuple[Detector, ...]], ...]:
    """Detectors grouped by their gate, so each gate is checked once per value."""
    groups: dict[tuple[str, ...], list[Detector]] = {}
    for detector in detectors:
        groups.setdefault(detector.triggers, []).append(detector)
    # Keep the gate objects themselves (DIGIT_GATE, IPV6_GATE are compared by identity).
    return tuple((detectors_[0].triggers, tuple(detectors_)) for detectors_ in groups.values())


def _scan(detectors: tuple[Detector, ...], text: str, found: list[tuple[int, int, str]]) -> None:
    for detector in detectors:
        for match in detector.pattern.finditer(text):
            start, end = match.span(detector.group)
            if start < 0:
                continue
            if detector.validate is not None and not detector.validate(text[start:end]):
                continue
            if detector.measure is not None:
                length = detector.measure(text[start:end])
                if length is None:
                    continue
                end = start + length
            if detector.local_part is not None:
                start = _extend_left(text, start, detector.local_part)
                if start is None:
                    continue
            found.append((start, end, detector.name))


def _extend_left(text: str, start: int, allowed: frozenset[str]) -> int | None:
    """Start of the run of `allowed` characters (at most 64) ending at `start`, from its first alnum; None if empty."""
    begin = start
    while begin > 0 and start - begin < 64 and text[begin - 1] in allowed:
        begin -= 1
    if begin > 0 and text[begin - 1] in allowed:
        return None  # a local part longer than 64 characters is not an address
    while begin < start and not text[begin].isalnum():
        begin += 1
    return begin if begin < start else None


def _cut(text: str, limit: int) -> tuple[str, int]:
    # Cut at whitespace so that a value straddling the limit is not left half-readable.
    cut = text.rfind(" ", limit - 256, limit)
    cut = limit if cut < 0 else cut
    return text[:cut], len(text) - cut


def _custom_detectors(patterns: Mapping[str, str | re.Pattern[str]]) -> list[Detector]:
    result = []
    for name, pattern in patterns.items():
        try:
            compiled = pattern if isinstance(pattern, re.Pattern) else re.compile(pattern)
        except (re.error, TypeError) as error:
            logger.warning("openrouter-otel: redaction pattern %s is not a valid regex (%s); ignored", name, error)
            continue
        result.append(Detector(str(name).upper(), compiled))
    return result


def _patterns_from_json(raw: str | None) -> dict[str, str]:
    if not raw:
        return {}
    try:
        parsed = json.loads(raw)
        if isinstance(parsed, dict) and all(isinstance(v, str) for v in parsed.values()):
            return parsed
    except ValueError:
        pass
    logger.warning("openrouter-otel: %s is not a JSON object of name to regex; no custom patterns used",
                   sc.ENV_REDACTION_PATTERNS)
    return {}


class _NoCounter:
    def add(self, amount: int, attributes: Any = None) -> None:
        pass


def _redactions_counter(meter_provider: Any) -> Any:
    try:
        from opentelemetry.metrics import get_meter_provider

        from openrouter_otel.version import __version__

        provider = meter_provider or get_meter_provider()
        meter = provider.get_meter(sc.INSTRUMENTATION_SCOPE, __version__)
        return meter.create_counter(sc.METRIC_REDACTIONS, unit="{redaction}",
                                    description="PII and secrets replaced in exported telemetry, by pii.type")
    except Exception:
        logger.debug("openrouter-otel: no redactions counter", exc_info=True)
        return _NoCounter()
