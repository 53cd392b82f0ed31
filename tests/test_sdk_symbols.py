"""Private SDK symbols the instrumentation relies on: a missing one is a WARNING naming it, once, never an error."""

from __future__ import annotations

import logging

import openai._base_client as base_client

from openrouter_otel import OpenRouterInstrumentor
from openrouter_otel import patch, streams

MESSAGES = [{"role": "user", "content": "hi"}]


def warnings_naming(caplog, symbol: str) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING and symbol in r.getMessage()]


def test_a_missing_response_class_is_warned_about_and_the_call_still_works(instrument, client, caplog, monkeypatch):
    import openai._legacy_response as legacy

    pipelines = instrument()
    monkeypatch.setattr(patch, "_warned_missing", set())
    monkeypatch.setattr(streams, "_SDK_CLASSES", None)
    monkeypatch.delattr(legacy, "LegacyAPIResponse")
    response = client.chat.completions.create(model="a/b", messages=MESSAGES,
                                              extra_headers={"X-Replay-Scenario": "chat"})
    client.chat.completions.create(model="a/b", messages=MESSAGES, extra_headers={"X-Replay-Scenario": "chat"})
    assert response.id
    monkeypatch.setattr(streams, "_SDK_CLASSES", None)  # rebuilt with the real class after the test
    assert len(warnings_naming(caplog, "openai._legacy_response.LegacyAPIResponse")) == 1
    assert len(pipelines.spans()) == 2
