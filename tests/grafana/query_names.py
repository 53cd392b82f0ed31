"""Names a PromQL or LogQL expression refers to: metrics, labels, functions and range durations.

A small lexer, not a parser (promtool parses): strings are blanked out first, so values never look like
names, then matchers, groupings and selectors are picked out by their shape.
"""

from __future__ import annotations

import re

_STRING = re.compile(r'"(?:[^"\\]|\\.)*"|`[^`]*`')
_MATCHER = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)\s*(=~|!~|!=|=)\s*(?=\")")
_GROUPING = re.compile(r"\b(by|without|on|ignoring|group_left|group_right)\s*\(([^)]*)\)")
_UNWRAP = re.compile(r"\bunwrap\s+([A-Za-z_][A-Za-z0-9_]*)")
_RANGE = re.compile(r"\[([^\]]*)\]")
_OFFSET = re.compile(r"\boffset\s+(\S+?)(?=[\s)]|$)")
_BRACES = re.compile(r"\{[^}]*\}")
_IDENTIFIER = re.compile(r"(?<![\w.$])([A-Za-z_:][A-Za-z0-9_:]*)")

PROMQL_KEYWORDS = {"and", "or", "unless", "by", "without", "on", "ignoring", "group_left", "group_right", "offset",
                   "bool", "inf", "nan"}


def blank_strings(expr: str) -> str:
    """The expression with every string literal replaced by an empty one (`""`), positions kept apart."""
    return _STRING.sub('""', expr)


def matcher_labels(expr: str) -> set[str]:
    """Label names of `{name="..."}` matchers and of LogQL label filters (`| name="..."`)."""
    return {match.group(1) for match in _MATCHER.finditer(blank_strings(expr))}


def grouping_labels(expr: str) -> set[str]:
    """Label names in by(...), without(...), on(...), ignoring(...), group_left/right(...)."""
    names: set[str] = set()
    for _, inside in _GROUPING.findall(blank_strings(expr)):
        names.update(name.strip() for name in inside.split(",") if name.strip())
    return names


def unwrapped_labels(expr: str) -> set[str]:
    return set(_UNWRAP.findall(blank_strings(expr)))


def range_durations(expr: str) -> list[str]:
    """What stands in every `[...]` range and after every `offset`."""
    text = blank_strings(expr)
    return [inside.strip() for inside in _RANGE.findall(text)] + _OFFSET.findall(text)


def functions(expr: str) -> set[str]:
    """Names called like functions (aggregations included)."""
    text = _strip_structure(blank_strings(expr))
    return {match.group(1) for match in _IDENTIFIER.finditer(text) if text[match.end():].lstrip().startswith("(")}


def metric_names(expr: str) -> set[str]:
    """Metric names of a PromQL expression's selectors."""
    text = _strip_structure(blank_strings(expr))
    names = set()
    for match in _IDENTIFIER.finditer(text):
        name = match.group(1)
        if name in PROMQL_KEYWORDS or text[match.end():].lstrip().startswith("("):
            continue
        names.add(name)
    return names


def _strip_structure(text: str) -> str:
    """Without matchers, groupings, ranges and offsets: what is left is metrics, functions, operators, numbers."""
    text = _BRACES.sub(" ", text)
    text = _GROUPING.sub(" ", text)
    text = _RANGE.sub(" ", text)
    return _OFFSET.sub(" offset ", text)


def unscoped_selectors(expr: str, metrics: set[str], scope_matcher: str) -> list[str]:
    """Selectors of `metrics` in `expr` without the matcher `scope_matcher` (e.g. `otel_scope_name="x"`)."""
    names = "|".join(sorted(map(re.escape, metrics), key=len, reverse=True))
    selector = re.compile(r"(?<![\w:])(?:" + names + r")(?![\w:])\s*(\{(?:[^}\"]|" + _QUOTED + r")*\})?")
    return [match.group(0) for match in selector.finditer(expr)
            if scope_matcher not in re.findall(r"[A-Za-z_]\w*(?:=~|!~|!=|=)" + _QUOTED, match.group(1) or "")]


_QUOTED = r'"(?:[^"\\]|\\.)*"'
