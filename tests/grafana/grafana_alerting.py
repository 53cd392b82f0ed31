"""Grafana-managed alert rule evaluation, as Grafana does it, for the rules we ship.

A rule is a Prometheus query (A), a server-side `reduce` expression (B) and a `threshold` expression (C,
the condition). Grafana evaluates A, reduces every series of A to one number, compares each number with
the threshold, and keeps one alert instance per series (labelled like the series): firing when the
condition is 1. An instant query gives one number per series, which `reduce` passes through unchanged.
A query that returns nothing is "no data", mapped by the rule's `noDataState`.

Implemented: reducers `last`, `mean`, `max` (modes strict, `dropNN`, `replaceNN`) and thresholds `gt`, `lt`.
Not modelled: the `for` pending period (an instance whose condition holds goes Pending, then Firing).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Instance:
    labels: dict[str, str]
    value: float | None  # the reduced value (B); None when dropNN dropped every value, or no data
    firing: bool


def reduce(values: list[float], reducer: str, settings: dict[str, Any] | None = None) -> float | None:
    """Grafana's reduce over one series. Strict mode lets NaN through; dropNN drops it; replaceNN replaces it."""
    mode = (settings or {}).get("mode", "")
    if mode == "dropNN":
        values = [value for value in values if not math.isnan(value)]
    elif mode == "replaceNN":
        values = [settings["replaceWithValue"] if math.isnan(value) else value for value in values]
    if not values:
        return None if mode == "dropNN" else math.nan
    if reducer == "last":
        return values[-1]
    if reducer == "mean":
        return math.fsum(values) / len(values)
    if reducer == "max":
        return math.nan if any(math.isnan(value) for value in values) else max(values)
    raise NotImplementedError(f"reducer {reducer!r} is not modelled here")


def threshold(value: float | None, evaluator: dict[str, Any]) -> bool:
    """Grafana's threshold: `gt` is value > param, `lt` is value < param; no value (or NaN) never fires."""
    if value is None or math.isnan(value):
        return False
    kind, params = evaluator["type"], evaluator["params"]
    if kind == "gt":
        return value > params[0]
    if kind == "lt":
        return value < params[0]
    raise NotImplementedError(f"threshold {kind!r} is not modelled here")


def evaluate(rule: dict, instant_query: Callable[[str], list[dict]]) -> list[Instance]:
    """The rule's alert instances now: `instant_query(promql)` answers like Prometheus's /api/v1/query."""
    data = {query["refId"]: query for query in rule["data"]}
    condition = data[rule["condition"]]["model"]
    assert condition["type"] == "threshold", f"{rule['uid']}: condition must be a threshold"
    reduction = data[condition["expression"]]["model"]
    assert reduction["type"] == "reduce", f"{rule['uid']}: the threshold must read a reduce expression"
    query = data[reduction["expression"]]
    assert query["model"].get("instant"), f"{rule['uid']}: only instant Prometheus queries are modelled"
    result = instant_query(query["model"]["expr"])
    if not result:
        return [Instance({}, None, rule.get("noDataState", "NoData") == "Alerting")]
    evaluator = condition["conditions"][0]["evaluator"]
    instances = []
    for series in result:
        value = reduced(series, reduction)
        labels = {name: value for name, value in series["metric"].items() if name != "__name__"}
        instances.append(Instance(labels, value, threshold(value, evaluator)))
    return instances


def reduced(series: dict, reduction: dict) -> float | None:
    """A range series is reduced; an instant sample is a number, which Grafana's reduce leaves as it is."""
    if "value" in series:
        return float(series["value"][1])
    return reduce([float(value) for _, value in series["values"]], reduction["reducer"], reduction.get("settings"))


def firing(instances: list[Instance]) -> list[Instance]:
    return [instance for instance in instances if instance.firing]


def instance_for(instances: list[Instance], **labels: str) -> Instance:
    """The one instance whose labels include these; fails listing what there is."""
    found = [instance for instance in instances if all(instance.labels.get(k) == v for k, v in labels.items())]
    assert len(found) == 1, f"expected one instance with {labels}, got {instances}"
    return found[0]
