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


def _unknown_generation_url(replay_server) -> str:
    return f"{replay_server.base_url.rstrip('/')}/generation?id=gen-0-unknown"


def test_a_failing_lookup_does_not_sleep_after_its_last_attempt(replay_server):
    from openrouter_otel.generation import GenerationFetcher

    fetcher = GenerationFetcher(attempts=2, first_delay=0.4)
    started = time.monotonic()
    assert fetcher._fetch(_unknown_generation_url(replay_server), "key") is None
    assert time.monotonic() - started < 0.4 + 0.3  # one pause between the two attempts, none after
    fetcher.shutdown()


def test_a_lookup_is_bounded_in_total_time(replay_server):
    from openrouter_otel.generation import LOOKUP_BUDGET_S, GenerationFetcher

    fetcher = GenerationFetcher()  # the defaults: several attempts with growing pauses
    started = time.monotonic()
    assert fetcher._fetch(_unknown_generation_url(replay_server), "key") is None
    assert time.monotonic() - started <= LOOKUP_BUDGET_S + 0.3
    fetcher.shutdown()


def test_instrumenting_repeatedly_leaves_no_exit_hooks_behind(pipelines, monkeypatch):
    import atexit

    from openrouter_otel import OpenRouterInstrumentor

    registered = []
    monkeypatch.setattr(atexit, "register", lambda function, *a, **k: registered.append(function) or function)
    monkeypatch.setattr(atexit, "unregister", lambda function: registered.remove(function))
    for _ in range(3):
        instrumentor = OpenRouterInstrumentor()
        instrumentor.instrument(**pipelines.providers(), fetch_generation=True)
        assert len(registered) == 1
        instrumentor.uninstrument()
    assert registered == []
