"""The model of Grafana's alert evaluation that the real-data alert tests rely on."""

from __future__ import annotations

import math

import pytest

from tests.grafana.grafana_alerting import evaluate, reduce, threshold

NAN = math.nan


@pytest.mark.parametrize("values, reducer, settings, expected", [
    ([1, 5, 3], "last", None, 3),
    ([1, 5, 3], "max", None, 5),
    ([1, 5, 3], "mean", None, 3),
    ([1, NAN, 3], "mean", None, NAN),  # strict: NaN poisons the result
    ([1, NAN, 3], "max", None, NAN),
    ([1, NAN, 3], "mean", {"mode": "dropNN"}, 2),
    ([1, 3, NAN], "last", {"mode": "dropNN"}, 3),
    ([1, NAN], "mean", {"mode": "replaceNN", "replaceWithValue": 5}, 3),
    ([NAN], "last", {"mode": "dropNN"}, None),  # nothing left
])
def test_reduce(values, reducer, settings, expected) -> None:
    result = reduce(values, reducer, settings)
    if expected is None or (isinstance(expected, float) and math.isnan(expected)):
        assert result is expected or (result is not None and math.isnan(result))
    else:
        assert result == expected


@pytest.mark.parametrize("value, evaluator, fires", [
    (0.06, {"type": "gt", "params": [0.05]}, True),
    (0.05, {"type": "gt", "params": [0.05]}, False),
    (0, {"type": "lt", "params": [1]}, True),
    (1, {"type": "lt", "params": [1]}, False),
    (NAN, {"type": "gt", "params": [0]}, False),
    (None, {"type": "lt", "params": [1]}, False),
])
def test_threshold(value, evaluator, fires) -> None:
    assert threshold(value, evaluator) is fires


def rule(no_data_state: str = "OK", evaluator: str = "gt", param: float = 1) -> dict:
    return {"uid": "r", "condition": "C", "noDataState": no_data_state, "data": [
        {"refId": "A", "model": {"expr": "x", "instant": True}},
        {"refId": "B", "model": {"type": "reduce", "expression": "A", "reducer": "last",
                                 "settings": {"mode": "dropNN"}}},
        {"refId": "C", "model": {"type": "threshold", "expression": "B",
                                 "conditions": [{"evaluator": {"type": evaluator, "params": [param]}}]}},
    ]}


def test_one_instance_per_series_labelled_like_it() -> None:
    result = [{"metric": {"__name__": "x", "team": "a"}, "value": [0, "2"]},
              {"metric": {"team": "b"}, "value": [0, "0.5"]}]
    instances = evaluate(rule(), lambda expr: result)
    assert [(i.labels, i.value, i.firing) for i in instances] == [({"team": "a"}, 2, True), ({"team": "b"}, 0.5, False)]


def test_no_data_follows_the_no_data_state() -> None:
    assert [i.firing for i in evaluate(rule("OK"), lambda expr: [])] == [False]
    assert [i.firing for i in evaluate(rule("Alerting"), lambda expr: [])] == [True]


def test_instant_numbers_pass_the_reduce_unchanged_and_nan_never_fires() -> None:
    (instance,) = evaluate(rule(), lambda expr: [{"metric": {}, "value": [0, "NaN"]}])
    assert math.isnan(instance.value) and not instance.firing


def test_range_series_are_reduced() -> None:
    result = [{"metric": {}, "values": [[0, "5"], [1, "0.5"]]}]
    (instance,) = evaluate(rule(), lambda expr: result)
    assert instance.value == 0.5 and not instance.firing
