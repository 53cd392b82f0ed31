"""Settings: instrument() keywords are validated like the environment, and never raise into the application."""

from __future__ import annotations

import logging

import pytest

from openrouter_otel import OpenRouterInstrumentor
from openrouter_otel import semconv as sc
from openrouter_otel.config import Settings

MESSAGES = [{"role": "user", "content": "hi"}]


def chat(client):
    client.chat.completions.create(model="a/b", messages=MESSAGES, extra_headers={"X-Replay-Scenario": "chat"})


def warnings_of(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING and "openrouter-otel" in r.getMessage()]


def test_unknown_keyword_gets_one_warning_naming_it_and_the_known_ones(instrument, client, caplog):
    pipelines = instrument(capture_message_contents=True)
    [message] = warnings_of(caplog)
    assert "capture_message_contents" in message
    for known in ("capture_message_content", "tracer_provider", "skip_dep_check", "audit_baggage_accept"):
        assert known in message
    chat(client)
    assert len(pipelines.spans()) == 1


@pytest.mark.parametrize(("keyword", "value", "default"), [
    ("redaction_disable", 42, "None"),
    ("capture_message_content", 42, "false"),
    ("metrics_team_cap", "many", "50"),
    ("metrics_team_cap", -1, "50"),
    ("metrics_teams", {"a": object()}, "None"),
    ("redaction_patterns", 7, "None"),
    ("tracer_provider", "not a provider", "the global"),
])
def test_wrong_type_gets_one_warning_naming_the_keyword_and_the_default(pipelines, client, caplog, keyword, value,
                                                                         default):
    instrumentor = OpenRouterInstrumentor()
    instrumentor.instrument(**{**pipelines.providers(), keyword: value})
    try:
        [message] = warnings_of(caplog)
        assert keyword in message and default in message
        chat(client)
    finally:
        instrumentor.uninstrument()
    if keyword != "tracer_provider":
        assert len(pipelines.spans()) == 1


def test_list_settings_take_text_or_a_list():
    assert Settings.load({"metrics_teams": ["a", "b"]}, environ={}).metrics_teams == "a,b"
    assert Settings.load({"redaction_disable": ("IPV4",)}, environ={}).redaction_disable == "IPV4"
    assert Settings.load({}, environ={sc.ENV_METRICS_TEAMS: "a, b"}).metrics_teams == "a, b"


def test_environment_integers_are_validated(caplog):
    assert Settings.load({}, environ={sc.ENV_METRICS_TEAM_CAP: "20"}).metrics_team_cap == 20
    assert Settings.load({}, environ={sc.ENV_METRICS_TEAM_CAP: "twenty"}).metrics_team_cap == 50
    [message] = warnings_of(caplog)
    assert sc.ENV_METRICS_TEAM_CAP in message and "50" in message


def test_audit_baggage_defaults_trust_nothing_and_send_nothing():
    settings = Settings.load({}, environ={})
    assert settings.audit_baggage_propagate is False and settings.audit_baggage_accept is False
    assert settings.audit_baggage_keys == "user_id,team,classification,feature"
    assert settings.audit_baggage_max_length == 128
