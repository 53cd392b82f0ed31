"""The optional background lookup of OpenRouter's generation endpoint for responses without a cost."""

from __future__ import annotations

import time

from openrouter_otel import semconv as sc

MESSAGES = [{"role": "user", "content": "hi"}]


def wait_for_spans(pipelines, count, timeout=10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if len(pipelines.spans()) >= count:
            return pipelines.spans()
        time.sleep(0.02)
    raise AssertionError(f"expected {count} span(s), got {len(pipelines.spans())}")


def test_missing_cost_is_filled_in_from_the_generation_endpoint_off_the_request_path(instrument, client, replay_server):
    pipelines = instrument(fetch_generation=True)
    started = time.perf_counter()
    response = client.chat.completions.create(model="anthropic/claude-sonnet-4.5", messages=MESSAGES,
                                              extra_headers={"X-Replay-Scenario": "no_cost"})
    call_seconds = time.perf_counter() - started
    assert response.usage.model_extra.get("cost") is None
    (span,) = wait_for_spans(pipelines, 1)
    expected = replay_server.generation(response.id)["data"]["total_cost"]
    assert span.attributes[sc.GEN_AI_USAGE_COST] == expected
    assert span.attributes[sc.OPENROUTER_COST_SOURCE] == sc.COST_SOURCE_GENERATION
    assert span.end_time - span.start_time < call_seconds * 1e9 + 5e6  # ends when the call ended, not when fetched
    (record,) = pipelines.audit_records()
    assert record.attributes[sc.OPENROUTER_COST_SOURCE] == sc.COST_SOURCE_GENERATION
    lookups = [r for r in replay_server.requests if r.path.endswith("/generation")]
    assert lookups and lookups[-1].query.get("id") == response.id
    assert "authorization" in lookups[-1].headers


def test_without_the_option_a_missing_cost_is_estimated_and_nothing_is_fetched(instrumented, client, replay_server):
    before = sum(1 for r in replay_server.requests if r.path.endswith("/generation"))
    client.chat.completions.create(model="anthropic/claude-sonnet-4.5", messages=MESSAGES,
                                   extra_headers={"X-Replay-Scenario": "no_cost"})
    span = instrumented.only_span()
    assert span.attributes[sc.OPENROUTER_COST_SOURCE] == sc.COST_SOURCE_ESTIMATE
    assert span.attributes[sc.GEN_AI_USAGE_COST] > 0
    assert sum(1 for r in replay_server.requests if r.path.endswith("/generation")) == before


def test_responses_that_carry_their_cost_are_not_looked_up(instrument, client, replay_server):
    pipelines = instrument(fetch_generation=True)
    before = sum(1 for r in replay_server.requests if r.path.endswith("/generation"))
    client.chat.completions.create(model="a/b", messages=MESSAGES, extra_headers={"X-Replay-Scenario": "chat"})
    assert pipelines.only_span().attributes[sc.OPENROUTER_COST_SOURCE] == sc.COST_SOURCE_RESPONSE
    assert sum(1 for r in replay_server.requests if r.path.endswith("/generation")) == before
