"""What is recorded of an ended call: pure functions from its facts (facts.py) to span attributes, metric
attribute sets and the audit record. No I/O; the only state is the cache of metric attribute sets."""

from __future__ import annotations

import threading
from typing import Any, Mapping

from openrouter_otel import semconv as sc
from openrouter_otel.cost import Cost, resolve_cost
from openrouter_otel.extract import put
from openrouter_otel.facts import Ended

# Given when the span starts, so that samplers see them (the conventions' sampling-relevant attributes);
# everything else is set when the call has ended.
SPAN_START_KEYS = (sc.GEN_AI_OPERATION_NAME, sc.GEN_AI_PROVIDER_NAME, sc.GEN_AI_REQUEST_MODEL, sc.SERVER_ADDRESS,
                   sc.SERVER_PORT)


def span_name(operation: str, model: str) -> str:
    return f"{operation} {model}".rstrip()


def span_start_attributes(request_attributes: Mapping[str, Any]) -> dict[str, Any]:
    return {key: request_attributes[key] for key in SPAN_START_KEYS if key in request_attributes}


def provider_name(ended: Ended) -> str:
    # Behind a gateway the host is not openrouter.ai, but OpenRouter's responses say who they are.
    name = ended.request.attributes.get(sc.GEN_AI_PROVIDER_NAME, sc.PROVIDER_OPENAI)
    if name != sc.PROVIDER_OPENROUTER and _is_openrouter_response(ended.response.attributes):
        return sc.PROVIDER_OPENROUTER
    return name


def _is_openrouter_response(attributes: Mapping[str, Any]) -> bool:
    response_id = attributes.get(sc.GEN_AI_RESPONSE_ID)
    return isinstance(response_id, str) and response_id.startswith("gen-") and sc.OPENROUTER_PROVIDER in attributes


def cost_of(ended: Ended) -> Cost:
    model = ended.response.attributes.get(sc.GEN_AI_RESPONSE_MODEL) or ended.request.attributes.get(
        sc.GEN_AI_REQUEST_MODEL)
    return resolve_cost(ended.response.usage, model=model, provider_name=provider_name(ended))


def wants_generation_cost(ended: Ended, cost: Cost) -> bool:
    """Whether OpenRouter's generation endpoint could give a cost the response did not carry."""
    response_id = ended.response.response_id
    return (ended.failure is None and response_id is not None and response_id.startswith("gen-")
            and ended.request.generation_source is not None and cost.source != sc.COST_SOURCE_RESPONSE)


def best_cost(cost: Cost, generation_cost: Cost | None) -> Cost:
    if generation_cost is not None and generation_cost.usd is not None and cost.source != sc.COST_SOURCE_RESPONSE:
        return generation_cost
    return cost


def result_attributes(ended: Ended, cost: Cost, output_json: str | None) -> dict[str, Any]:
    """The attributes known once the call ended: response, usage, cost, timing, outcome and failure."""
    attributes = dict(ended.response.attributes)
    name = provider_name(ended)
    if name != ended.request.attributes.get(sc.GEN_AI_PROVIDER_NAME):
        attributes[sc.GEN_AI_PROVIDER_NAME] = name
    if ended.response.usage is not None:
        attributes.update(ended.response.usage.attributes())
    attributes.update(cost.attributes())
    if ended.attempts > 1:
        attributes[sc.OPENROUTER_RETRY_COUNT] = ended.attempts - 1
    put(attributes, sc.GEN_AI_RESPONSE_TIME_TO_FIRST_CHUNK, ended.time_to_first_chunk)
    put(attributes, sc.OPENROUTER_STREAM_OUTCOME, ended.stream_outcome)
    if ended.failure is not None:
        attributes[sc.ERROR_TYPE] = ended.failure.type
        attributes.update(ended.failure.attributes)
    put(attributes, sc.GEN_AI_OUTPUT_MESSAGES, output_json)
    return attributes


def span_end_attributes(attributes: Mapping[str, Any], result: Mapping[str, Any]) -> dict[str, Any]:
    """What the span gets when the call has ended, of all its `attributes`: those it did not start with, and the
    result (which may correct a start attribute, e.g. the provider name)."""
    return {key: value for key, value in attributes.items() if key not in SPAN_START_KEYS or key in result}


def audit_record(ended: Ended, attributes: Mapping[str, Any]) -> dict[str, Any]:
    record = {key: attributes[key] for key in sc.AUDIT_ATTRIBUTE_KEYS if key in attributes}
    record.update((key, attributes[key]) for key in ended.request.audit_context if key in attributes)
    record[sc.OPENROUTER_LATENCY] = ended.duration
    record[sc.OPENROUTER_STATUS] = ended.status
    return record


def audit_body(ended: Ended) -> str:
    return f"{ended.request.operation} {ended.request.model} {ended.status}"


class MetricAttributeSets:
    """The attribute sets of one call's metric points, built once per distinct label set and then reused.

    Returns (operation attributes, input-token attributes, output-token attributes); the team label is
    bounded by `team_label`. Callers must not modify what they get.
    """

    _LIMIT = 4096

    def __init__(self, team_label: Any, with_enduser: bool) -> None:
        self._team_label = team_label
        self._keys = sc.METRIC_ATTRIBUTE_KEYS + ((sc.ENDUSER_ID,) if with_enduser else ())
        self._cache: dict[tuple[Any, ...], tuple[dict[str, Any], dict[str, Any], dict[str, Any]]] = {}
        self._lock = threading.Lock()

    def of(self, attributes: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
        values = tuple(_hashable(attributes.get(key)) for key in self._keys)
        cached = self._cache.get(values)
        if cached is None:
            cached = self._build(attributes)
            with self._lock:
                if len(self._cache) >= self._LIMIT:  # label values from outside: keep the cache bounded
                    self._cache.clear()
                self._cache[values] = cached
        return cached

    def _build(self, attributes: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
        base = {key: attributes[key] for key in self._keys if attributes.get(key) is not None}
        team = base.get(sc.OPENROUTER_TEAM)
        if team is not None:
            base[sc.OPENROUTER_TEAM] = self._team_label(team)
        return (base, {**base, sc.GEN_AI_TOKEN_TYPE: sc.TOKEN_TYPE_INPUT},
                {**base, sc.GEN_AI_TOKEN_TYPE: sc.TOKEN_TYPE_OUTPUT})


def _hashable(value: Any) -> Any:
    return tuple(value) if isinstance(value, list) else value
