"""Errors: HTTP failures, connection failures, 200 bodies that are errors, and the SDK's retries as one span."""

from __future__ import annotations

import socket

import openai
import pytest
from opentelemetry.trace import StatusCode

from openrouter_otel import semconv as sc
from openrouter_otel.server.replay import CannedResponse

from .conftest import TEST_API_KEY

MESSAGES = [{"role": "user", "content": "hello"}]


def error_body(code: int, message: str, provider: str | None = None) -> dict:
    return {"error": {"code": code, "message": message, "metadata": {"provider_name": provider}}}


@pytest.mark.parametrize(
    ("status", "exception"),
    [
        (400, openai.BadRequestError),
        (401, openai.AuthenticationError),
        (402, openai.APIStatusError),
        (403, openai.PermissionDeniedError),
        (408, openai.APIStatusError),
        (429, openai.RateLimitError),
        (500, openai.InternalServerError),
        (502, openai.InternalServerError),
        (503, openai.InternalServerError),
    ],
)
def test_http_errors_set_error_type_status_and_upstream_provider(instrumented, client, replay_server, status, exception):
    token = f"http-{status}"
    replay_server.register(token, CannedResponse(status=status, body=error_body(status, "Upstream said no", "Groq")))
    with pytest.raises(exception) as raised:
        client.chat.completions.create(model="meta-llama/llama-3.3-70b-instruct", messages=MESSAGES,
                                       extra_headers={"X-Replay-Token": token})
    assert raised.value.status_code == status
    span = instrumented.only_span()
    assert span.status.status_code is StatusCode.ERROR
    assert span.status.description == "Upstream said no"
    assert span.attributes[sc.ERROR_TYPE] == str(status)
    assert span.attributes[sc.OPENROUTER_ERROR_PROVIDER] == "Groq"
    duration = instrumented.points(sc.METRIC_OPERATION_DURATION)
    assert [point.attributes[sc.ERROR_TYPE] for point in duration] == [str(status)]
    audit = instrumented.audit_records()
    assert len(audit) == 1 and audit[0].attributes[sc.ERROR_TYPE] == str(status)


def test_credits_exhausted_scenario_is_a_402_error(instrumented, client):
    with pytest.raises(openai.APIStatusError):
        client.chat.completions.create(model="anthropic/claude-opus-4.1", messages=MESSAGES,
                                       extra_headers={"X-Replay-Scenario": "credits_402"})
    assert instrumented.only_span().attributes[sc.ERROR_TYPE] == "402"


def test_error_span_never_carries_the_sdk_message_with_the_response_body(instrumented, client, replay_server):
    secret_prompt_echo = "my card number is in this prompt"
    body = {"error": {"code": 400, "message": "Provider returned error",
                      "metadata": {"raw": secret_prompt_echo, "provider_name": "Anthropic"}}}
    replay_server.register("raw-echo", CannedResponse(status=400, body=body))
    with pytest.raises(openai.BadRequestError):
        client.chat.completions.create(model="a/b", messages=MESSAGES, extra_headers={"X-Replay-Token": "raw-echo"})
    span = instrumented.only_span()
    exported = repr(span.to_json()) + repr([record.attributes for record in instrumented.audit_records()])
    assert secret_prompt_echo not in exported
    assert span.attributes[sc.OPENROUTER_ERROR_PROVIDER] == "Anthropic"


def test_connection_error_sets_the_exception_class_as_error_type(instrumented):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    client = openai.OpenAI(base_url=f"http://127.0.0.1:{port}/api/v1", api_key=TEST_API_KEY, max_retries=0)
    with pytest.raises(openai.APIConnectionError):
        client.chat.completions.create(model="a/b", messages=MESSAGES)
    span = instrumented.only_span()
    assert span.attributes[sc.ERROR_TYPE] == "APIConnectionError"
    assert span.status.status_code is StatusCode.ERROR


def test_a_200_body_carrying_an_error_object_is_recorded_as_an_error(instrumented, client):
    result = client.chat.completions.create(model="a/b", messages=MESSAGES,
                                            extra_headers={"X-Replay-Scenario": "error_in_200"})
    assert result is not None  # the SDK returns it; the application decides
    span = instrumented.only_span()
    assert span.status.status_code is StatusCode.ERROR
    assert sc.ERROR_TYPE in span.attributes
    assert instrumented.audit_records()[0].attributes[sc.OPENROUTER_STATUS] == "error"


def test_a_200_body_with_null_choices_is_recorded_as_an_error(instrumented, client):
    client.chat.completions.create(model="a/b", messages=MESSAGES, extra_headers={"X-Replay-Scenario": "choices_null"})
    span = instrumented.only_span()
    assert span.status.status_code is StatusCode.ERROR
    assert span.attributes[sc.ERROR_TYPE] == "no_choices"


def test_sdk_retries_are_one_span_with_the_retry_count(instrumented, replay_server):
    replay_server.register("retry", [
        CannedResponse(status=502, body=error_body(502, "Bad gateway", "Together")),
        CannedResponse(status=429, body=error_body(429, "Slow down"), headers={"Retry-After": "0"}),
        CannedResponse(status=200, body=None),
    ])
    client = openai.OpenAI(base_url=replay_server.base_url, api_key=TEST_API_KEY, max_retries=2)
    client.chat.completions.create(model="a/b", messages=MESSAGES, extra_headers={"X-Replay-Token": "retry"})
    span = instrumented.only_span()
    assert span.status.status_code is StatusCode.UNSET
    assert span.attributes[sc.OPENROUTER_RETRY_COUNT] == 2
    assert len(instrumented.audit_records()) == 1


def test_retries_that_all_fail_are_one_error_span(instrumented, replay_server):
    replay_server.register("retry-fail", CannedResponse(status=429, body=error_body(429, "Slow down"),
                                                        headers={"Retry-After": "0"}), repeat=True)
    client = openai.OpenAI(base_url=replay_server.base_url, api_key=TEST_API_KEY, max_retries=1)
    with pytest.raises(openai.RateLimitError):
        client.chat.completions.create(model="a/b", messages=MESSAGES, extra_headers={"X-Replay-Token": "retry-fail"})
    span = instrumented.only_span()
    assert span.attributes[sc.ERROR_TYPE] == "429"
    assert span.attributes[sc.OPENROUTER_RETRY_COUNT] == 1
