"""Audit identity: what audit_context carries, what leaves the process, what is trusted from inbound baggage."""

from __future__ import annotations

import asyncio
import contextvars
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor

import openai
import pytest
from opentelemetry import context, propagate

from openrouter_otel import audit_context
from openrouter_otel import semconv as sc
from openrouter_otel.audit import current_audit_attributes

from .conftest import SDK_HTTPX, TEST_API_KEY

MESSAGES = [{"role": "user", "content": "hi"}]
FORGED = "openrouter.user_id=ceo,openrouter.team=finance-7f3a9c"


def chat(client, **headers):
    client.chat.completions.create(model="a/b", messages=MESSAGES,
                                   extra_headers={"X-Replay-Scenario": "chat", **headers})


def with_inbound_baggage(header: str, run):
    """What a server instrumentation does with an inbound request: extract with the global propagator, attach."""
    token = context.attach(propagate.extract({"baggage": header}))
    try:
        return run()
    finally:
        context.detach(token)


def identity_everywhere(pipelines) -> list[dict]:
    found = [dict(pipelines.only_span().attributes), dict(pipelines.audit_records()[0].attributes)]
    found += [dict(point.attributes) for point in pipelines.points(sc.METRIC_OPERATION_DURATION)]
    return found


def test_inbound_baggage_does_not_set_user_or_team_by_default(instrumented, client):
    with_inbound_baggage(FORGED, lambda: chat(client))
    for attributes in identity_everywhere(instrumented):
        assert sc.ENDUSER_ID not in attributes
        assert sc.OPENROUTER_TEAM not in attributes


def test_accepted_inbound_baggage_is_limited_to_allow_listed_keys_and_safe_values(instrument, client):
    pipelines = instrument(audit_baggage_accept=True)
    header = ",".join([
        "openrouter.user_id=svc%2Fuser-9",
        "openrouter.team=finance-7f3a9c",
        "openrouter.role=admin",                      # not allow-listed
        "openrouter.classification=a%20b%3Cscript%3E",  # characters outside the allowed set
        "openrouter.feature=" + "x" * 129,            # longer than the limit
    ])
    with_inbound_baggage(header, lambda: chat(client))
    span = pipelines.only_span().attributes
    assert span[sc.ENDUSER_ID] == "svc/user-9"
    assert span[sc.OPENROUTER_TEAM] == "finance-7f3a9c"
    assert "openrouter.role" not in span
    assert sc.OPENROUTER_CLASSIFICATION not in span
    assert "openrouter.feature" not in span
    assert pipelines.audit_records()[0].attributes[sc.ENDUSER_ID] == "svc/user-9"


def test_inbound_acceptance_and_its_keys_come_from_the_environment(instrument, client, monkeypatch):
    monkeypatch.setenv(sc.ENV_AUDIT_BAGGAGE_ACCEPT, "true")
    monkeypatch.setenv(sc.ENV_AUDIT_BAGGAGE_KEYS, "team")
    pipelines = instrument()
    with_inbound_baggage(FORGED, lambda: chat(client))
    span = pipelines.only_span().attributes
    assert span[sc.OPENROUTER_TEAM] == "finance-7f3a9c"
    assert sc.ENDUSER_ID not in span


def test_local_audit_context_wins_over_inbound_baggage(instrument, client):
    pipelines = instrument(audit_baggage_accept=True)

    def run():
        with audit_context(user_id="alice"):
            chat(client)

    with_inbound_baggage(FORGED, run)
    span = pipelines.only_span().attributes
    assert span[sc.ENDUSER_ID] == "alice"
    assert span[sc.OPENROUTER_TEAM] == "finance-7f3a9c"  # not set locally: the accepted inbound value


# --- outbound -----------------------------------------------------------------------------------


def inject_like_an_http_instrumentation(request):
    """What every HTTP client instrumentation does: inject the current context with the global propagator."""
    carrier: dict[str, str] = {}
    propagate.inject(carrier)
    for name, value in carrier.items():
        request.headers[name] = value


@pytest.fixture
def propagating_client(replay_server):
    http_client = SDK_HTTPX.Client(event_hooks={"request": [inject_like_an_http_instrumentation]})
    sdk_client = openai.OpenAI(base_url=replay_server.base_url, api_key=TEST_API_KEY, max_retries=0,
                               http_client=http_client)
    yield sdk_client
    sdk_client.close()


def sent_baggage(replay_server, client, **audit) -> str:
    marker = uuid.uuid4().hex
    with audit_context(**audit):
        chat(client, **{"X-Test-Marker": marker})
    [request] = [r for r in replay_server.requests if r.headers.get("x-test-marker") == marker]
    return request.headers.get("baggage", "")


def test_audit_fields_do_not_leave_the_process_by_default(instrumented, replay_server, propagating_client):
    baggage = sent_baggage(replay_server, propagating_client, user_id="alice@example.com", team="billing")
    assert "openrouter." not in baggage and "alice" not in baggage


def test_audit_fields_propagate_as_baggage_when_the_block_opts_in(instrumented, replay_server, propagating_client):
    baggage = sent_baggage(replay_server, propagating_client, user_id="alice@example.com", propagate=True)
    assert "openrouter.user_id=alice%40example.com" in baggage
    assert sc.ENDUSER_ID in instrumented.only_span().attributes  # redacted there, like any address


def test_audit_fields_propagate_as_baggage_when_the_setting_opts_in(instrument, replay_server, propagating_client,
                                                                    monkeypatch):
    monkeypatch.setenv(sc.ENV_AUDIT_BAGGAGE_PROPAGATE, "true")
    instrument()
    assert "openrouter.team=billing" in sent_baggage(replay_server, propagating_client, team="billing")
    assert "openrouter." not in sent_baggage(replay_server, propagating_client, team="billing", propagate=False)


# --- where the context goes ---------------------------------------------------------------------


def in_thread(target) -> dict:
    seen: dict = {}
    thread = threading.Thread(target=lambda: seen.update(target()))
    thread.start()
    thread.join()
    return seen


def test_audit_context_follows_copied_contexts_and_instrumented_threads_but_not_plain_threads():
    with audit_context(user_id="alice", team="billing", classification="internal"):
        expected = current_audit_attributes()
        assert expected == {sc.ENDUSER_ID: "alice", sc.OPENROUTER_TEAM: "billing",
                            sc.OPENROUTER_CLASSIFICATION: "internal"}
        assert in_thread(current_audit_attributes) == {}  # contextvars do not cross into a plain Thread
        copied = contextvars.copy_context()
        assert in_thread(lambda: copied.run(current_audit_attributes)) == expected
        # opentelemetry-instrumentation-threading: capture the context at start, attach it in the thread
        captured = context.get_current()
        assert in_thread(lambda: with_context(captured, current_audit_attributes)) == expected
        assert asyncio.run(asyncio.to_thread(current_audit_attributes)) == expected
    assert current_audit_attributes() == {}


def with_context(ctx, run):
    token = context.attach(ctx)
    try:
        return run()
    finally:
        context.detach(token)


def test_nested_audit_contexts_merge_and_the_inner_field_wins():
    with audit_context(user_id="alice", team="billing"):
        with audit_context(team="support", feature="summary"):
            assert current_audit_attributes() == {sc.ENDUSER_ID: "alice", sc.OPENROUTER_TEAM: "support",
                                                  "openrouter.feature": "summary"}
        assert current_audit_attributes()[sc.OPENROUTER_TEAM] == "billing"


# --- team labels on metrics ---------------------------------------------------------------------


def team_labels(pipelines) -> set:
    return {point.attributes.get(sc.OPENROUTER_TEAM) for point in pipelines.points(sc.METRIC_OPERATION_DURATION)}


def test_distinct_teams_on_metrics_are_capped_and_the_rest_folded_into_other(instrument, client):
    pipelines = instrument()

    def as_team(number: int) -> None:
        with audit_context(team=f"team-{number}"):
            chat(client)

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(as_team, range(1000)))
    labels = team_labels(pipelines)
    assert len(labels) <= 50 + 1 and sc.TEAM_LABEL_OTHER in labels
    assert len({span.attributes[sc.OPENROUTER_TEAM] for span in pipelines.spans()}) == 1000
    assert len({record.attributes[sc.OPENROUTER_TEAM] for record in pipelines.audit_records()}) == 1000


def test_team_allow_list_keeps_listed_teams_and_folds_the_rest(instrument, client):
    pipelines = instrument(metrics_teams=["billing", "support"])
    for team in ("billing", "support", "finance-7f3a9c"):
        with audit_context(team=team):
            chat(client)
    assert team_labels(pipelines) == {"billing", "support", sc.TEAM_LABEL_OTHER}


def test_team_cap_comes_from_the_environment(instrument, client, monkeypatch):
    monkeypatch.setenv(sc.ENV_METRICS_TEAM_CAP, "2")
    pipelines = instrument()
    for team in ("a", "b", "c", "d", "a"):
        with audit_context(team=team):
            chat(client)
    assert team_labels(pipelines) == {"a", "b", sc.TEAM_LABEL_OTHER}


def test_inbound_value_length_limit_comes_from_the_environment(instrument, client, monkeypatch):
    monkeypatch.setenv(sc.ENV_AUDIT_BAGGAGE_ACCEPT, "true")
    monkeypatch.setenv(sc.ENV_AUDIT_BAGGAGE_MAX_LENGTH, "8")
    pipelines = instrument()
    with_inbound_baggage("openrouter.team=short,openrouter.user_id=much-too-long", lambda: chat(client))
    span = pipelines.only_span().attributes
    assert span[sc.OPENROUTER_TEAM] == "short" and sc.ENDUSER_ID not in span
