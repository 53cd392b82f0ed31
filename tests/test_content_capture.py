"""Content capture (opt-in): every call shape records its output in the GenAI semconv message form."""

from __future__ import annotations

import json

import pytest

from openrouter_otel import semconv as sc
from openrouter_otel.server.replay import CannedResponse

MESSAGES = [{"role": "user", "content": "What is the weather in Paris?"}]
TOOLS = [{"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object"}}}]
FUNCTION_CALL = {"type": "function_call", "id": "fc_1", "call_id": "call_abc", "name": "get_weather",
                 "arguments": '{"location": "Paris"}', "status": "completed"}
TOOL_CALL_PART = {"type": "tool_call", "id": "call_abc", "name": "get_weather", "arguments": '{"location": "Paris"}'}


def scenario(name: str) -> dict[str, dict[str, str]]:
    return {"extra_headers": {"X-Replay-Scenario": name}}


def token(replay_server, name: str, canned: CannedResponse) -> dict[str, dict[str, str]]:
    replay_server.register(name, canned, repeat=True)
    return {"extra_headers": {"X-Replay-Token": name}}


def responses_body(output: list) -> dict:
    return {"id": "gen-1767761748-70xwPUw28faiNCtf7KCq", "object": "response", "created_at": 1767761748,
            "model": "openai/gpt-4o", "status": "completed", "output": output, "provider": "OpenAI",
            "usage": {"input_tokens": 10, "output_tokens": 5, "total_tokens": 15, "cost": 0.0001},
            "parallel_tool_calls": True, "tool_choice": "auto", "tools": []}


def output_messages(pipelines) -> list:
    return json.loads(pipelines.only_span().attributes[sc.GEN_AI_OUTPUT_MESSAGES])


@pytest.fixture
def capturing(instrument):
    return instrument(capture_message_content=True)


def test_streamed_chat_tool_calls_become_tool_call_parts(capturing, client):
    chunks = list(client.chat.completions.create(model="openai/gpt-4o", messages=MESSAGES, tools=TOOLS, stream=True,
                                                 **scenario("tool_calls")))
    fragments = [call for chunk in chunks for choice in chunk.choices for call in choice.delta.tool_calls or ()]
    (message,) = output_messages(capturing)
    assert message["finish_reason"] == "tool_calls"
    (part,) = message["parts"]
    assert part["type"] == "tool_call" and part["name"] == "get_weather"
    assert part["id"] == fragments[0].id
    assert part["arguments"] == "".join(call.function.arguments or "" for call in fragments)
    assert len(fragments) > 1, "the arguments arrive in pieces"


def test_non_streamed_chat_tool_calls_match_the_streamed_form(capturing, client):
    client.chat.completions.create(model="openai/gpt-4o", messages=MESSAGES, tools=TOOLS, **scenario("tool_calls"))
    (message,) = output_messages(capturing)
    assert [part["type"] for part in message["parts"]] == ["tool_call"]


def test_streamed_legacy_completion_records_its_text(capturing, client, caplog):
    caplog.set_level("DEBUG", logger="openrouter_otel")
    chunks = list(client.completions.create(model="openai/gpt-3.5-turbo-instruct", prompt="Once upon", stream=True,
                                            **scenario("completions")))
    text = "".join(choice.text for chunk in chunks for choice in chunk.choices)
    (message,) = output_messages(capturing)
    assert message["parts"] == [{"type": "text", "content": text}]
    assert "could not read a stream chunk" not in caplog.text


def test_responses_api_function_call_becomes_a_tool_call_part(capturing, client, replay_server):
    body = responses_body([FUNCTION_CALL])
    client.responses.create(model="openai/gpt-4o", input="weather?",
                            **token(replay_server, "content-fc", CannedResponse(body=body)))
    (message,) = output_messages(capturing)
    assert message["parts"] == [TOOL_CALL_PART]


def test_streamed_responses_api_function_call_becomes_a_tool_call_part(capturing, client, replay_server):
    done = responses_body([FUNCTION_CALL])
    events = [{"type": "response.created", "sequence_number": 0, "response": {**done, "status": "in_progress",
                                                                             "output": []}},
              {"type": "response.completed", "sequence_number": 1, "response": done}]
    stream = client.responses.create(model="openai/gpt-4o", input="weather?", stream=True,
                                     **token(replay_server, "content-fc-stream", CannedResponse(sse_events=events)))
    for _event in stream:
        pass
    (message,) = output_messages(capturing)
    assert message["parts"] == [TOOL_CALL_PART]


def test_responses_api_through_with_raw_response_records_output(capturing, client):
    raw = client.responses.with_raw_response.create(model="openai/gpt-4o", input="Say hello", **scenario("responses"))
    response = raw.parse()
    (message,) = output_messages(capturing)
    assert message["parts"] == [{"type": "text", "content": response.output_text}]
    assert message["finish_reason"] == "completed"
