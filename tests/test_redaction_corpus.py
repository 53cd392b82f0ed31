"""Recall and false positives of the Redactor over the labelled PII corpus (tests/pii_corpus).

The corpus is built independently of the package (see tests/pii_corpus/generate.py): hundreds of values of
every detector's kind inside prompts in several languages, and hundreds of look-alikes (ids, hashes,
timestamps, numbers failing Luhn or mod-97, private addresses ...) that must pass through unchanged.
`python -m tests.pii_corpus.report` prints the same numbers as a table.

Overlaps, labelled with the type the redactor names for the union of both findings:
- a key or JWT sent as a bearer token ("Authorization: Bearer sk-or-v1-...") is its key type or JWT, not
  BEARER_TOKEN;
- an IPv4-mapped IPv6 address (`::ffff:203.0.113.9`) is IPV4.
"""

from __future__ import annotations

import pytest

from openrouter_otel.redaction import BUILTIN_NAMES

from .pii_corpus import generate, report
from .pii_corpus.report import Evaluation


@pytest.fixture(scope="module")
def evaluation() -> Evaluation:
    return report.evaluate()


def fail_on(findings: list[report.Finding], what: str) -> None:
    if findings:
        pytest.fail(f"{len(findings)} {what}:\n" + "\n".join(map(str, findings)), pytrace=False)


def test_the_corpus_is_what_the_generator_writes():
    for path, content in generate.render().items():
        stale = f"{path.name} differs from what the generator writes: run python -m tests.pii_corpus.generate"
        assert path.read_text(encoding="utf-8") == content, stale


def test_the_corpus_is_large_and_covers_every_detector(evaluation):
    assert evaluation.positive_samples >= 300
    assert sum(evaluation.negatives.values()) >= 300
    assert set(evaluation.values) == set(BUILTIN_NAMES)
    thin = {name: count for name, count in evaluation.values.items() if count < 12}
    assert not thin, f"detectors with fewer than 12 labelled values: {thin}"


def test_every_labelled_value_is_replaced_by_its_type(evaluation):
    fail_on(evaluation.misses, "labelled values left readable or named wrongly")


def test_exactly_the_labelled_values_are_replaced(evaluation):
    # Nothing around a value is eaten (closing brackets, sentence ends) and nothing of it is left over.
    fail_on(evaluation.inexact, "samples where more or less than the labelled values was replaced")


def test_no_look_alike_is_changed(evaluation):
    fail_on(evaluation.false_positives, "look-alikes changed")
