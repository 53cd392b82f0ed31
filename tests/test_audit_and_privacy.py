"""Audit context, the audit record, metric cardinality, and what must never leave the process."""

from __future__ import annotations

import asyncio
import json

from openrouter_otel import audit_context
from openrouter_otel import semconv as sc
from openrouter_otel.prompt_hash import prompt_hash

from .conftest import TEST_API_KEY

PROMPT = "Please summarise the contract for alice.jones@example.com, phone +44 20 7946 0958."
MESSAGES = [{"role": "system", "content": "You are terse."}, {"role": "user", "content": PROMPT}]


def everything_exported(pipelines) -> str:
    spans = [json.loads(span.to_json()) for span in pipelines.spans()]
    logs = [json.loads(readable.to_json()) for readable in pipelines.log_exporter.get_finished_logs()]
    data = pipelines.metric_reader.get_metrics_data()
    metrics = data.to_json() if data is not None else ""
    return json.dumps(spans) + json.dumps(logs) + metrics


def call(client, **kwargs):
    return client.chat.completions.create(
        model="anthropic/claude-sonnet-4.5", messages=MESSAGES, extra_headers={"X-Replay-Scenario": "chat"}, **kwargs
    )


def test_api_key_authorization_and_message_text_never_leave_the_process_by_default(instrumented, client):
    call(client)
    exported = everything_exported(instrumented)
    assert TEST_API_KEY not in exported
    assert TEST_API_KEY[8:40] not in exported
    assert "Bearer" not in exported and "authorization" not in exported.lower()
    assert "summarise the contract" not in exported
    assert "alice.jones" not in exported
    assert sc.GEN_AI_INPUT_MESSAGES not in exported


def test_audit_context_puts_user_and_team_on_span_audit_record_and_team_on_metrics(instrumented, client):
    with audit_context(user_id="user-7", team="billing", feature="invoice-summary"):
        call(client)
    span = instrumented.only_span()
    assert span.attributes[sc.ENDUSER_ID] == "user-7"
    assert span.attributes[sc.OPENROUTER_TEAM] == "billing"
    assert span.attributes["openrouter.feature"] == "invoice-summary"
    record = instrumented.audit_records()[0]
    assert record.attributes[sc.ENDUSER_ID] == "user-7"
    assert record.attributes["openrouter.feature"] == "invoice-summary"
    for point in instrumented.points(sc.METRIC_OPERATION_DURATION):
        assert point.attributes[sc.OPENROUTER_TEAM] == "billing"
        assert sc.ENDUSER_ID not in point.attributes


def test_enduser_goes_on_metrics_only_when_opted_in(instrument, client):
    pipelines = instrument(metrics_enduser=True)
    with audit_context(user_id="user-7"):
        call(client)
    assert pipelines.points(sc.METRIC_OPERATION_DURATION)[0].attributes[sc.ENDUSER_ID] == "user-7"


async def test_audit_context_follows_async_tasks_without_leaking_between_them(instrumented, async_client):
    async def as_team(team: str) -> None:
        with audit_context(team=team):
            await asyncio.sleep(0)
            await async_client.chat.completions.create(model="a/b", messages=MESSAGES,
                                                       extra_headers={"X-Replay-Scenario": "chat"})

    await asyncio.gather(as_team("red"), as_team("blue"))
    assert sorted(span.attributes[sc.OPENROUTER_TEAM] for span in instrumented.spans()) == ["blue", "red"]


def test_metric_points_carry_only_low_cardinality_attributes(instrumented, client):
    with audit_context(user_id="user-7", team="billing"):
        call(client)
    allowed = set(sc.METRIC_ATTRIBUTE_KEYS) | {sc.GEN_AI_TOKEN_TYPE}
    for name in (sc.METRIC_OPERATION_DURATION, sc.METRIC_TOKEN_USAGE, sc.METRIC_COST):
        points = instrumented.points(name)
        assert points, name
        for point in points:
            assert set(point.attributes) <= allowed, (name, point.attributes)
    token_types = sorted(point.attributes[sc.GEN_AI_TOKEN_TYPE] for point in instrumented.points(sc.METRIC_TOKEN_USAGE))
    assert token_types == [sc.TOKEN_TYPE_INPUT, sc.TOKEN_TYPE_OUTPUT]


def test_audit_record_carries_every_audit_field_and_the_span_context(instrumented, client):
    with audit_context(user_id="user-7", team="billing"):
        response = call(client)
    span = instrumented.only_span()
    (record,) = instrumented.audit_records()
    assert record.event_name == sc.AUDIT_EVENT_NAME
    assert record.trace_id == span.context.trace_id and record.span_id == span.context.span_id
    for key in sc.AUDIT_REQUIRED_KEYS:
        assert key in record.attributes, key
    attributes = record.attributes
    assert attributes[sc.GEN_AI_RESPONSE_ID] == response.id
    assert attributes[sc.GEN_AI_RESPONSE_MODEL] == response.model
    assert attributes[sc.OPENROUTER_PROVIDER] == response.provider
    assert attributes[sc.GEN_AI_USAGE_COST] == response.usage.cost
    assert attributes[sc.OPENROUTER_COST_SOURCE] == sc.COST_SOURCE_RESPONSE
    assert attributes[sc.OPENROUTER_STATUS] == "ok"
    assert attributes[sc.OPENROUTER_LATENCY] > 0
    assert attributes[sc.OPENROUTER_PROMPT_HASH] == prompt_hash({"messages": MESSAGES})


def test_audit_events_can_be_turned_off(instrument, client):
    pipelines = instrument(audit_events=False)
    call(client)
    assert pipelines.audit_records() == []
    assert len(pipelines.spans()) == 1


def test_prompt_hash_key_makes_the_hash_an_hmac(instrument, client, monkeypatch):
    monkeypatch.setenv(sc.ENV_PROMPT_HASH_KEY, "rotate-me")
    pipelines = instrument()
    call(client)
    digest = pipelines.only_span().attributes[sc.OPENROUTER_PROMPT_HASH]
    assert digest == prompt_hash({"messages": MESSAGES}, b"rotate-me")


def test_routing_policy_and_app_attribution_are_recorded(instrumented, replay_server):
    import openai

    client = openai.OpenAI(base_url=replay_server.base_url, api_key=TEST_API_KEY, max_retries=0,
                           default_headers={"HTTP-Referer": "https://app.example.com", "X-Title": "Contracts"})
    client.chat.completions.create(
        model="anthropic/claude-sonnet-4.5", messages=MESSAGES, extra_headers={"X-Replay-Scenario": "fallback"},
        extra_body={"models": ["anthropic/claude-sonnet-4.5", "openai/gpt-4o"],
                    "provider": {"order": ["Anthropic"], "allow_fallbacks": True, "data_collection": "deny", "zdr": True}},
    )
    attributes = instrumented.only_span().attributes
    assert attributes[sc.OPENROUTER_REQUEST_MODELS] == ("anthropic/claude-sonnet-4.5", "openai/gpt-4o")
    assert attributes[sc.OPENROUTER_REQUEST_PROVIDER_ORDER] == ("Anthropic",)
    assert attributes[sc.OPENROUTER_REQUEST_PROVIDER_DATA_COLLECTION] == "deny"
    assert attributes[sc.OPENROUTER_REQUEST_PROVIDER_ZDR] is True
    assert attributes[sc.OPENROUTER_APP_TITLE] == "Contracts"
    assert attributes[sc.OPENROUTER_APP_REFERER] == "https://app.example.com"
    assert attributes[sc.GEN_AI_RESPONSE_MODEL] != attributes[sc.GEN_AI_REQUEST_MODEL]


def test_content_capture_records_redacted_messages_in_semconv_form(instrument, client):
    pipelines = instrument(capture_message_content=True)
    call(client)
    attributes = pipelines.only_span().attributes
    inputs = json.loads(attributes[sc.GEN_AI_INPUT_MESSAGES])
    assert inputs[1]["role"] == "user"
    assert "summarise the contract" in inputs[1]["parts"][0]["content"]
    assert "alice.jones@example.com" not in attributes[sc.GEN_AI_INPUT_MESSAGES]
    assert "[REDACTED:EMAIL]" in attributes[sc.GEN_AI_INPUT_MESSAGES]
    outputs = json.loads(attributes[sc.GEN_AI_OUTPUT_MESSAGES])
    assert outputs[0]["role"] == "assistant" and outputs[0]["parts"][0]["content"]
    assert "alice.jones" not in everything_exported(pipelines)


def test_content_capture_covers_streams(instrument, client):
    pipelines = instrument(capture_message_content=True)
    chunks = list(client.chat.completions.create(model="a/b", messages=MESSAGES, stream=True,
                                                 extra_headers={"X-Replay-Scenario": "chat_stream"}))
    streamed_text = "".join(chunk.choices[0].delta.content or "" for chunk in chunks if chunk.choices)
    outputs = json.loads(pipelines.only_span().attributes[sc.GEN_AI_OUTPUT_MESSAGES])
    assert outputs[0]["parts"][0]["content"] == streamed_text
