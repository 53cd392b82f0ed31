"""An ordinary application with no telemetry code: run under `opentelemetry-instrument` by the tests."""

import os

import openai

client = openai.OpenAI(base_url=os.environ["APP_BASE_URL"], api_key=os.environ["APP_API_KEY"], max_retries=0)
reply = client.chat.completions.create(
    model="anthropic/claude-sonnet-4.5",
    messages=[{"role": "user", "content": "Write to bob@example.org about the launch"}],
    extra_headers={"X-Replay-Scenario": "chat"},
)
for _chunk in client.chat.completions.create(
    model="google/gemini-2.5-flash",
    messages=[{"role": "user", "content": "Count to three"}],
    stream=True,
    extra_headers={"X-Replay-Scenario": "chat_stream"},
):
    pass
print("APP-RESULT", reply.id)
