"""Pure extraction: request, response, usage, cost, prompt hash and settings, without any I/O."""

from __future__ import annotations

import logging

import pytest
from openai.types.chat import ChatCompletion

from openrouter_otel import semconv as sc
from openrouter_otel.config import Settings
from openrouter_otel.cost import resolve_cost
from openrouter_otel.extract import (
    exception_details,
    header_attributes,
    operation_for_path,
    request_attributes,
    response_attributes,
    response_error,
    server_attributes,
)
from openrouter_otel.facts import Usage
from openrouter_otel.prompt_hash import prompt_hash


def usage_attributes(usage):
    parsed = Usage.parse(usage)
    return parsed.attributes() if parsed is not None else {}


def cost_of(usage, **kwargs):
    return resolve_cost(Usage.parse(usage), **kwargs)

OPENROUTER_USAGE = {
    "prompt_tokens": 1421,
    "completion_tokens": 59,
    "total_tokens": 1480,
    "cost": 0.0013545,
    "is_byok": False,
    "prompt_tokens_details": {"cached_tokens": 1405, "cache_write_tokens": 3},
    "cost_details": {"upstream_inference_cost": None},
    "completion_tokens_details": {"reasoning_tokens": 35},
}


def test_operation_is_read_from_the_api_path_and_other_endpoints_are_ignored():
    assert operation_for_path("/chat/completions") == sc.OPERATION_CHAT
    assert operation_for_path("/completions") == sc.OPERATION_TEXT_COMPLETION
    assert operation_for_path("/embeddings") == sc.OPERATION_EMBEDDINGS
    assert operation_for_path("/responses") == sc.OPERATION_CHAT
    assert operation_for_path("/models") is None
    assert operation_for_path("/files/abc") is None
    assert operation_for_path(None) is None


def test_request_parameters_and_routing_policy_become_attributes():
    body = {
        "model": "anthropic/claude-sonnet-4.5",
        "messages": [{"role": "user", "content": "hi"}],
        "max_tokens": 100,
        "temperature": 0.5,
        "top_p": 1,
        "seed": 7,
        "stop": "END",
        "n": 2,
        "stream": True,
        "models": ["anthropic/claude-sonnet-4.5", "openai/gpt-4o"],
        "provider": {
            "order": ["Anthropic", "Amazon Bedrock"],
            "only": ["Anthropic"],
            "ignore": ["Together"],
            "allow_fallbacks": False,
            "data_collection": "deny",
            "zdr": True,
        },
        "user": "user-42",
    }
    attributes = request_attributes(body)
    assert attributes[sc.GEN_AI_REQUEST_MODEL] == "anthropic/claude-sonnet-4.5"
    assert attributes[sc.GEN_AI_REQUEST_MAX_TOKENS] == 100
    assert attributes[sc.GEN_AI_REQUEST_TEMPERATURE] == 0.5
    assert attributes[sc.GEN_AI_REQUEST_TOP_P] == 1.0
    assert attributes[sc.GEN_AI_REQUEST_SEED] == 7
    assert attributes[sc.GEN_AI_REQUEST_STOP_SEQUENCES] == ["END"]
    assert attributes[sc.GEN_AI_REQUEST_CHOICE_COUNT] == 2
    assert attributes[sc.GEN_AI_REQUEST_STREAM] is True
    assert attributes[sc.OPENROUTER_REQUEST_MODELS] == ["anthropic/claude-sonnet-4.5", "openai/gpt-4o"]
    assert attributes[sc.OPENROUTER_REQUEST_PROVIDER_ORDER] == ["Anthropic", "Amazon Bedrock"]
    assert attributes[sc.OPENROUTER_REQUEST_PROVIDER_ONLY] == ["Anthropic"]
    assert attributes[sc.OPENROUTER_REQUEST_PROVIDER_IGNORE] == ["Together"]
    assert attributes[sc.OPENROUTER_REQUEST_PROVIDER_ALLOW_FALLBACKS] is False
    assert attributes[sc.OPENROUTER_REQUEST_PROVIDER_DATA_COLLECTION] == "deny"
    assert attributes[sc.OPENROUTER_REQUEST_PROVIDER_ZDR] is True
    assert attributes[sc.ENDUSER_ID] == "user-42"
    assert "hi" not in repr(attributes)


@pytest.mark.parametrize(
    "body",
    [None, [], "text", {"model": 5}, {"max_tokens": "ten", "temperature": float("nan"), "stop": [1, None]},
     {"provider": "Anthropic"}, {"models": "one"}, {"seed": True}, {"n": 2**70}],
)
def test_malformed_request_bodies_yield_only_well_typed_attributes(body):
    attributes = request_attributes(body)
    for value in attributes.values():
        assert isinstance(value, (str, bool, int, float, list))


def test_app_attribution_headers_are_read_case_insensitively():
    attributes = header_attributes({"X-Title": "Support bot"}, {"http-referer": "https://example.com/app"})
    assert attributes == {sc.OPENROUTER_APP_TITLE: "Support bot", sc.OPENROUTER_APP_REFERER: "https://example.com/app"}
    assert header_attributes({"X-OpenRouter-Title": "New title"})[sc.OPENROUTER_APP_TITLE] == "New title"
    assert header_attributes({"Authorization": "Bearer sk-or-v1-x"}, None) == {}


@pytest.mark.parametrize(
    ("base_url", "provider", "address", "port"),
    [
        ("https://openrouter.ai/api/v1", sc.PROVIDER_OPENROUTER, "openrouter.ai", 443),
        ("https://api.openai.com/v1", sc.PROVIDER_OPENAI, "api.openai.com", 443),
        ("http://vllm.internal:8000/v1", sc.PROVIDER_OPENAI, "vllm.internal", 8000),
        ("http://llm-gateway.corp:8080/openrouter/api/v1", sc.PROVIDER_OPENROUTER, "llm-gateway.corp", 8080),
    ],
)
def test_provider_name_follows_the_client_host(base_url, provider, address, port):
    attributes = dict(server_attributes(base_url))
    assert attributes == {sc.GEN_AI_PROVIDER_NAME: provider, sc.SERVER_ADDRESS: address, sc.SERVER_PORT: port}


def test_response_attributes_come_from_sdk_models_including_openrouter_extras():
    completion = ChatCompletion.construct(
        **{
            "id": "gen-1767761748-70xwPUw28faiNCtf7KCq",
            "provider": "Amazon Bedrock",
            "model": "anthropic/claude-4.6-sonnet-20260217",
            "object": "chat.completion",
            "created": 1,
            "choices": [{"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": "x"}}],
        }
    )
    attributes = response_attributes(completion)
    assert attributes == {
        sc.GEN_AI_RESPONSE_ID: "gen-1767761748-70xwPUw28faiNCtf7KCq",
        sc.GEN_AI_RESPONSE_MODEL: "anthropic/claude-4.6-sonnet-20260217",
        sc.OPENROUTER_PROVIDER: "Amazon Bedrock",
        sc.GEN_AI_RESPONSE_FINISH_REASONS: ["stop"],
    }


def test_usage_tokens_cover_cache_and_reasoning_in_both_api_shapes():
    assert usage_attributes(OPENROUTER_USAGE) == {
        sc.GEN_AI_USAGE_INPUT_TOKENS: 1421,
        sc.GEN_AI_USAGE_OUTPUT_TOKENS: 59,
        sc.GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS: 1405,
        sc.GEN_AI_USAGE_CACHE_WRITE_INPUT_TOKENS: 3,
        sc.GEN_AI_USAGE_CACHE_CREATION_INPUT_TOKENS: 3,
        sc.GEN_AI_USAGE_REASONING_OUTPUT_TOKENS: 35,
    }
    responses_usage = {"input_tokens": 10, "output_tokens": 4, "output_tokens_details": {"reasoning_tokens": 2}}
    assert usage_attributes(responses_usage) == {
        sc.GEN_AI_USAGE_INPUT_TOKENS: 10,
        sc.GEN_AI_USAGE_OUTPUT_TOKENS: 4,
        sc.GEN_AI_USAGE_REASONING_OUTPUT_TOKENS: 2,
    }


@pytest.mark.parametrize("usage", [None, {}, {"prompt_tokens": None}, {"prompt_tokens": -3}, {"prompt_tokens": "12"},
                                   {"prompt_tokens_details": 5}, {"completion_tokens": True}, [1, 2]])
def test_odd_usage_values_are_dropped_not_guessed(usage):
    assert usage_attributes(usage) == {}


def test_openrouter_cost_is_the_truth_and_byok_upstream_is_kept():
    cost = cost_of({**OPENROUTER_USAGE, "is_byok": True, "cost_details": {"upstream_inference_cost": 0.02}},
                        model="anthropic/claude-sonnet-4", provider_name=sc.PROVIDER_OPENROUTER)
    assert cost.attributes() == {
        sc.GEN_AI_USAGE_COST: 0.0013545,
        sc.OPENROUTER_COST_SOURCE: sc.COST_SOURCE_RESPONSE,
        sc.OPENROUTER_COST_UPSTREAM: 0.02,
        sc.OPENROUTER_IS_BYOK: True,
    }


def test_missing_cost_is_estimated_from_the_price_table_for_known_models():
    openai_cost = cost_of({"prompt_tokens": 1000, "completion_tokens": 100}, model="gpt-4o",
                               provider_name=sc.PROVIDER_OPENAI)
    assert openai_cost.source == sc.COST_SOURCE_ESTIMATE
    assert openai_cost.usd == pytest.approx(1000 * 2.5e-6 + 100 * 10e-6)
    routed = cost_of({"prompt_tokens": 1000, "completion_tokens": 100}, model="anthropic/claude-sonnet-4.5",
                          provider_name=sc.PROVIDER_OPENROUTER)
    assert routed.source == sc.COST_SOURCE_ESTIMATE and routed.usd > 0


@pytest.mark.parametrize(
    ("model", "provider_name"),
    [("no-such-vendor/no-such-model", sc.PROVIDER_OPENROUTER), ("meta-llama/Llama-3-8b", sc.PROVIDER_OPENAI),
     ("totally-unknown", sc.PROVIDER_OPENAI), (None, sc.PROVIDER_OPENROUTER)],
)
def test_no_cost_is_invented_for_unknown_or_self_hosted_models(model, provider_name):
    cost = cost_of({"prompt_tokens": 10, "completion_tokens": 5}, model=model, provider_name=provider_name)
    assert cost.usd is None and cost.attributes() == {}


def test_negative_or_non_numeric_reported_cost_is_not_trusted():
    assert cost_of({"cost": "0.1"}, model=None, provider_name=None).usd is None
    assert cost_of({"cost": -1.0}, model=None, provider_name=None).usd is None


def test_prompt_hash_is_stable_under_key_order_and_ignores_sampling_parameters():
    first = {"model": "a/b", "temperature": 0.1, "messages": [{"role": "user", "content": "héllo"}]}
    second = {"messages": [{"content": "héllo", "role": "user"}], "model": "c/d", "max_tokens": 5}
    assert prompt_hash(first) == prompt_hash(second)
    assert prompt_hash(first).startswith("sha256:") and len(prompt_hash(first)) == len("sha256:") + 64
    assert prompt_hash({"messages": [{"role": "user", "content": "other"}]}) != prompt_hash(first)
    assert prompt_hash({"model": "a/b"}) is None


def test_prompt_hash_with_a_key_is_an_hmac_that_depends_on_the_key():
    body = {"messages": [{"role": "user", "content": "hello"}]}
    keyed = prompt_hash(body, b"secret-1")
    assert keyed.startswith("hmac-sha256:")
    assert keyed != prompt_hash(body, b"secret-2")
    assert keyed.split(":")[1] != prompt_hash(body).split(":")[1]


def test_a_200_body_with_an_error_object_or_null_choices_is_an_error():
    error = response_error({"error": {"code": 502, "message": "Upstream failed", "metadata": {"provider_name": "Groq"}}})
    assert error == ("502", {sc.OPENROUTER_ERROR_CODE: "502", sc.OPENROUTER_ERROR_PROVIDER: "Groq"}, "Upstream failed")
    assert response_error({"id": "gen-1", "choices": None})[0] == "no_choices"
    assert response_error({"id": "gen-1", "choices": []}) is None


def test_exception_error_type_is_the_http_status_or_the_class_name():
    class FakeStatusError(Exception):
        status_code = 402
        body = {"code": 402, "message": "Insufficient credits", "metadata": {"provider_name": None}}

    error_type, attributes, description = exception_details(FakeStatusError("Error code: 402 - {...prompt text...}"))
    assert (error_type, description) == ("402", "Insufficient credits")
    assert attributes[sc.HTTP_RESPONSE_STATUS_CODE] == 402
    assert exception_details(ConnectionError("refused"))[0] == "ConnectionError"


def test_settings_come_from_the_environment_and_keywords_override_them():
    env = {sc.ENV_CAPTURE_MESSAGE_CONTENT: "TRUE", sc.ENV_REDACTION: "0", sc.ENV_PROMPT_HASH_KEY: "k"}
    settings = Settings.load({"redaction": True}, environ=env)
    assert settings.capture_message_content is True
    assert settings.redaction is True
    assert settings.prompt_hash_key == "k"
    assert settings.audit_events is True and settings.fetch_generation is False


def test_a_malformed_setting_warns_once_naming_the_variable_and_default(caplog):
    with caplog.at_level(logging.WARNING, logger="openrouter_otel.config"):
        settings = Settings.load(environ={sc.ENV_AUDIT_EVENTS: "maybe"})
    assert settings.audit_events is True
    messages = [record.getMessage() for record in caplog.records]
    assert len(messages) == 1
    assert sc.ENV_AUDIT_EVENTS in messages[0] and "true" in messages[0]
