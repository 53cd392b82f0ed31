"""Instructor's tool-call structured output (`Mode.TOOLS`) over a plain `openai.OpenAI` client. Instructor
makes no OpenTelemetry spans, so ours sits under the application's."""

from __future__ import annotations

import instructor
import openai
import pydantic

from .conftest import API_KEY, MODEL, PROMPT, assert_one_span_per_request, is_app, scenario


class Contact(pydantic.BaseModel):
    name: str
    age: int


def extract(client):
    contact = client.chat.completions.create(model=MODEL, response_model=Contact, max_retries=0,
                                             messages=[{"role": "user", "content": PROMPT}],
                                             extra_headers=scenario("tool_calls"))
    return contact.model_dump(), contact._raw_response.model_dump(mode="json")


def test_tools_mode(pipelines, replay_server, instrument_after_baseline, app_span):
    client = instructor.from_openai(openai.OpenAI(base_url=replay_server.base_url, api_key=API_KEY, max_retries=0),
                                    mode=instructor.Mode.TOOLS)
    baseline = extract(client)
    instrument_after_baseline()
    with app_span():
        assert extract(client) == baseline
    assert_one_span_per_request(pipelines, replay_server, requests=1, stream=False, parent=is_app)
