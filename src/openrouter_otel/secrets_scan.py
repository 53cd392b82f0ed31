"""Hard-coded API keys and tokens in a source tree, found with the redactor's own detectors.

Walks the tree skipping what is not the project's source (version control, virtual environments,
dependencies, caches), binary files and files over `MAX_FILE_BYTES`. A finding carries the file, the line
and the kind of secret, and only the prefix that names its family: the value itself is never kept.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Iterator

from openrouter_otel import detectors

__all__ = ["Finding", "ScanStats", "SECRET_DETECTORS", "MAX_FILE_BYTES", "scan", "redacted"]

SECRET_DETECTORS: tuple[detectors.Detector, ...] = (
    detectors.OPENROUTER_API_KEY, detectors.ANTHROPIC_API_KEY, detectors.OPENAI_API_KEY,
    detectors.AWS_ACCESS_KEY_ID, detectors.GITHUB_TOKEN, detectors.GITHUB_FINE_GRAINED_TOKEN,
    detectors.SLACK_TOKEN,
)
MAX_FILE_BYTES = 2 * 1024 * 1024
SKIPPED_DIRS = frozenset({".git", ".hg", ".svn", ".venv", "venv", "node_modules", "__pycache__", ".tox", ".nox",
                          ".mypy_cache", ".pytest_cache", ".ruff_cache"})
VENV_MARKER = "pyvenv.cfg"
_BINARY_SNIFF = 8192
# The part of a secret that names its family, shown in place of the value.
_FAMILY_PREFIX = re.compile(r"""
    sk-(?:or-v1-|or-|ant-(?:[a-z]+[0-9]*-)?|proj-|svcacct-|admin-)?
  | github_pat_ | gh[pousr]_ | xox[abposre]- | hooks\.slack\.com/services/ | A[A-Z]{3}
""", re.ASCII | re.VERBOSE)


@dataclass(frozen=True)
class Finding:
    path: str
    line: int
    kind: str
    redacted: str


@dataclass
class ScanStats:
    files: int = 0
    skipped_binary: int = 0
    skipped_large: int = 0
    unreadable: int = 0


def redacted(value: str) -> str:
    prefix = _FAMILY_PREFIX.match(value)
    return f"{prefix.group(0) if prefix else ''}…[redacted]"


def scan(roots: Iterable[str | Path], stats: ScanStats | None = None) -> Iterator[Finding]:
    stats = stats if stats is not None else ScanStats()
    for root in roots:
        for path in _files(Path(root)):
            yield from _scan_file(path, stats)


def _files(root: Path) -> Iterator[Path]:
    if root.is_file():
        yield root
        return
    for directory, subdirs, files in os.walk(root):
        if VENV_MARKER in files and Path(directory) != root:
            subdirs.clear()
            continue
        subdirs[:] = sorted(name for name in subdirs if name not in SKIPPED_DIRS)
        for name in sorted(files):
            yield Path(directory, name)


def _scan_file(path: Path, stats: ScanStats) -> Iterator[Finding]:
    try:
        if path.stat().st_size > MAX_FILE_BYTES:
            stats.skipped_large += 1
            return
        data = path.read_bytes()
    except OSError:
        stats.unreadable += 1
        return
    if b"\0" in data[:_BINARY_SNIFF]:
        stats.skipped_binary += 1
        return
    stats.files += 1
    text = data.decode("utf-8", "replace")
    findings = sorted(_matches(text))
    for start, kind, value in findings:
        yield Finding(str(path), text.count("\n", 0, start) + 1, kind, redacted(value))


def _matches(text: str) -> Iterator[tuple[int, str, str]]:
    for detector in SECRET_DETECTORS:
        if detector.triggers and not any(trigger in text for trigger in detector.triggers):
            continue
        for match in detector.pattern.finditer(text):
            value = match.group(detector.group)
            if detector.validate is None or detector.validate(value):
                yield match.start(detector.group), detector.name, value
