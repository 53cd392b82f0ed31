"""Provider names as OpenRouter spells them: the approved list of thresholds.yaml uses the names OpenRouter's
responses carry (a name they never carry would approve nothing, and alert on every call it was meant for)."""

from __future__ import annotations

import json
import re

from openrouter_grafana.providers import OPENROUTER_PROVIDERS
from tests.grafana import grafana_files

CORPUS_DIR = grafana_files.REPO_ROOT / "tests" / "fixtures" / "openrouter-recorded"
_PROVIDER_FIELD = re.compile(r'"provider"\s*:\s*("(?:[^"\\]|\\.)*")')


def recorded_provider_names() -> dict[str, int]:
    """Provider name -> how many recorded responses (JSON or SSE) name it."""
    counts: dict[str, int] = {}
    for path in sorted(CORPUS_DIR.glob("*/response.json*")):
        for name in {json.loads(quoted) for quoted in _PROVIDER_FIELD.findall(path.read_text(encoding="utf-8"))}:
            counts[name] = counts.get(name, 0) + 1
    return counts


def test_the_recorded_responses_name_providers() -> None:
    assert recorded_provider_names().get("Google", 0) >= 10


def test_every_provider_the_recorded_responses_name_is_listed() -> None:
    assert set(recorded_provider_names()) <= set(OPENROUTER_PROVIDERS)


def test_every_approved_provider_is_spelled_as_openrouter_names_it(thresholds: dict) -> None:
    unknown = [name for name in thresholds["approved_providers"] if name not in OPENROUTER_PROVIDERS]
    assert not unknown, f"not a provider name OpenRouter's responses use: {unknown}"
