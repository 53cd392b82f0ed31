"""Recall and false positives of the `Redactor` over the labelled PII corpus (see generate.py for the schema).

    .venv/bin/python -m tests.pii_corpus.report

prints, per detector, the labelled values, how many were caught (the value is gone and its
`[REDACTED:<type>]` token is there) and how many were replaced exactly (the text is the original with each
labelled value, and nothing else, replaced by its token); per kind of negative, the samples and how many
were changed; then every miss and false positive. `evaluate()` computes the same for the tests.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from openrouter_otel.redaction import BUILTIN_NAMES, Redactor

HERE = Path(__file__).resolve().parent


def load(name: str) -> list[dict]:
    with (HERE / name).open(encoding="utf-8") as lines:
        return [json.loads(line) for line in lines]


def token(pii_type: str) -> str:
    return f"[REDACTED:{pii_type}]"


def expected_redaction(sample: dict) -> str:
    text = sample["text"]
    for item in sample["values"]:
        text = text.replace(item["value"], token(item["type"]))
    return text


@dataclass
class Finding:
    sample_id: str
    detail: str
    text: str
    redacted: str

    def __str__(self) -> str:
        return f"{self.sample_id}: {self.detail}\n    text:     {self.text!r}\n    redacted: {self.redacted!r}"


@dataclass
class Evaluation:
    positive_samples: int = 0
    values: Counter = field(default_factory=Counter)        # per detector: labelled values
    caught: Counter = field(default_factory=Counter)        # ... gone, with their type's token present
    exact: Counter = field(default_factory=Counter)         # ... in samples redacted exactly as labelled
    negatives: Counter = field(default_factory=Counter)     # per kind: samples
    changed: Counter = field(default_factory=Counter)       # ... changed by the redactor (false positives)
    misses: list[Finding] = field(default_factory=list)     # a labelled value readable, or not its token
    inexact: list[Finding] = field(default_factory=list)    # caught, but more or less than the label replaced
    false_positives: list[Finding] = field(default_factory=list)


def evaluate(redactor: Redactor | None = None) -> Evaluation:
    redactor = redactor or Redactor()
    result = Evaluation()
    for sample in load("positives.jsonl"):
        result.positive_samples += 1
        text, redacted = sample["text"], redactor.redact(sample["text"])
        per_type = Counter(item["type"] for item in sample["values"])
        all_caught = True
        for item in sample["values"]:
            pii_type, value = item["type"], item["value"]
            result.values[pii_type] += 1
            if value in redacted:
                detail = f"{pii_type} value left readable: {value!r}"
            elif redacted.count(token(pii_type)) < per_type[pii_type]:
                detail = f"{pii_type} value replaced, but not by {token(pii_type)}"
            else:
                result.caught[pii_type] += 1
                continue
            all_caught = False
            result.misses.append(Finding(sample["id"], detail, text, redacted))
        if redacted == expected_redaction(sample):
            result.exact.update(per_type)
        elif all_caught:
            result.inexact.append(Finding(sample["id"], "caught, but the replaced text is not exactly the labelled "
                                          f"value(s); expected {expected_redaction(sample)!r}", text, redacted))
    for sample in load("negatives.jsonl"):
        result.negatives[sample["kind"]] += 1
        redacted = redactor.redact(sample["text"])
        if redacted != sample["text"]:
            result.changed[sample["kind"]] += 1
            result.false_positives.append(Finding(sample["id"], f"{sample['kind']} changed", sample["text"], redacted))
    return result


def percent(part: int, whole: int) -> str:
    return f"{100 * part / whole:.1f}" if whole else "-"


def format_report(result: Evaluation) -> str:
    names = [name for name in BUILTIN_NAMES if name in result.values] + sorted(set(result.values) - set(BUILTIN_NAMES))
    lines = [f"Positives: {result.positive_samples} samples, {sum(result.values.values())} labelled values", "",
             f"{'detector':<22}{'values':>8}{'caught':>8}{'recall %':>10}{'exact':>8}{'exact %':>9}"]
    rows = [(name, result.values[name], result.caught[name], result.exact[name]) for name in names]
    rows.append(("TOTAL", sum(result.values.values()), sum(result.caught.values()), sum(result.exact.values())))
    for name, values, caught, exact in rows:
        lines.append(f"{name:<22}{values:>8}{caught:>8}{percent(caught, values):>10}"
                     f"{exact:>8}{percent(exact, values):>9}")
    lines += ["", f"{'negative kind':<30}{'samples':>8}{'false pos.':>11}{'FP rate %':>11}"]
    kinds = [(kind, result.negatives[kind], result.changed[kind]) for kind in result.negatives]
    kinds.append(("TOTAL", sum(result.negatives.values()), sum(result.changed.values())))
    for kind, samples, changed in kinds:
        lines.append(f"{kind:<30}{samples:>8}{changed:>11}{percent(changed, samples):>11}")
    for title, findings in (("Misses", result.misses), ("Inexact replacements", result.inexact),
                            ("False positives", result.false_positives)):
        lines += ["", f"{title}: {len(findings)}", *map(str, findings)]
    return "\n".join(lines)


if __name__ == "__main__":
    print(format_report(evaluate()))
