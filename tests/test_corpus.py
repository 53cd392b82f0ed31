"""Every recorded OpenRouter exchange, replayed over real HTTP through the instrumented SDK.

The span, metrics and audit record must say what OpenRouter actually sent: the generation id, the
served model, the upstream provider, tokens and `usage.cost` — or, for the recorded failures, the
error and its upstream provider — and the application must see exactly what it would have seen.
"""

from __future__ import annotations

import openai
import pytest
from opentelemetry.trace import StatusCode

from openrouter_otel import semconv as sc
from openrouter_otel.server.replay import load_corpus

from .conftest import CORPUS_DIR

EXCHANGES = load_corpus(CORPUS_DIR)


def test_the_corpus_is_present_and_complete():
    assert len(EXCHANGES) == 28
    assert sum(1 for exchange in EXCHANGES if exchange.is_stream and not exchange.is_error) == 12


def run(client, exchange):
    result = client.chat.completions.create(**exchange.sdk_kwargs())
    if isinstance(result, openai.Stream):
        return list(result)
    return result


@pytest.mark.parametrize("exchange", [e for e in EXCHANGES if not e.is_error and not e.is_truncated], ids=lambda e: e.id)
def test_recorded_success_is_recorded_as_openrouter_sent_it(instrumented, client, exchange):
    run(client, exchange)
    span = instrumented.only_span()
    attributes = span.attributes
    assert span.status.status_code is StatusCode.UNSET
    assert attributes[sc.GEN_AI_RESPONSE_ID] == exchange.response_id
    assert attributes[sc.GEN_AI_RESPONSE_MODEL] == exchange.model
    assert attributes[sc.OPENROUTER_PROVIDER] == exchange.provider
    assert attributes[sc.GEN_AI_USAGE_INPUT_TOKENS] == exchange.usage["prompt_tokens"]
    assert attributes[sc.GEN_AI_USAGE_OUTPUT_TOKENS] == exchange.usage["completion_tokens"]
    assert attributes[sc.GEN_AI_USAGE_COST] == exchange.cost
    assert attributes[sc.OPENROUTER_COST_SOURCE] == sc.COST_SOURCE_RESPONSE
    assert attributes[sc.OPENROUTER_IS_BYOK] is False
    cached = (exchange.usage.get("prompt_tokens_details") or {}).get("cached_tokens")
    assert attributes.get(sc.GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS) == cached
    reasoning = (exchange.usage.get("completion_tokens_details") or {}).get("reasoning_tokens")
    assert attributes.get(sc.GEN_AI_USAGE_REASONING_OUTPUT_TOKENS) == reasoning
    if exchange.is_stream:
        assert attributes[sc.OPENROUTER_STREAM_OUTCOME] == "completed"
        assert attributes[sc.GEN_AI_RESPONSE_TIME_TO_FIRST_CHUNK] > 0
    (cost_point,) = instrumented.points(sc.METRIC_COST)
    assert cost_point.sum == pytest.approx(exchange.cost)
    (record,) = instrumented.audit_records()
    assert record.attributes[sc.GEN_AI_RESPONSE_ID] == exchange.response_id


@pytest.mark.parametrize("exchange", [e for e in EXCHANGES if e.is_error], ids=lambda e: e.id)
def test_recorded_error_is_an_error_span_with_the_upstream_provider(instrumented, client, exchange):
    with pytest.raises(openai.BadRequestError):
        run(client, exchange)
    attributes = instrumented.only_span().attributes
    assert attributes[sc.ERROR_TYPE] == "400"
    provider = (exchange.error.get("metadata") or {}).get("provider_name")
    assert attributes.get(sc.OPENROUTER_ERROR_PROVIDER) == provider
    assert instrumented.only_span().status.description == exchange.error["message"][:200]


@pytest.mark.parametrize("exchange", [e for e in EXCHANGES if e.is_truncated], ids=lambda e: e.id)
def test_stream_cut_mid_way_ends_the_span_with_an_error_and_leaves_the_exception_untouched(
    pipelines, instrument, client, exchange
):
    with pytest.raises(Exception) as plain:
        run(client, exchange)
    instrument()
    with pytest.raises(Exception) as instrumented:
        run(client, exchange)
    assert type(instrumented.value) is type(plain.value) and str(instrumented.value) == str(plain.value)
    span = pipelines.only_span()
    assert span.status.status_code is StatusCode.ERROR
    assert span.attributes[sc.ERROR_TYPE] == type(plain.value).__qualname__
    assert span.attributes[sc.OPENROUTER_STREAM_OUTCOME] == "error"


@pytest.mark.parametrize("exchange", [e for e in EXCHANGES if not e.is_truncated], ids=lambda e: e.id)
def test_replayed_result_is_identical_with_and_without_instrumentation(pipelines, instrument, client, exchange):
    def outcome():
        try:
            result = run(client, exchange)
        except openai.APIStatusError as error:
            return ("raised", type(error), error.status_code, error.body)
        items = result if isinstance(result, list) else [result]
        return [item.model_dump() for item in items]

    plain = outcome()
    instrument()
    assert outcome() == plain
