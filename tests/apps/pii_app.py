"""An application that leaks PII into telemetry every way it can, with no telemetry code of its own.

Run under `opentelemetry-instrument` by test_redaction_export.py (and called in process there): the prompt,
a span of its own with PII in the name, attributes and events, an exception carrying PII, and a log line.
"""

import logging
import os

import openai
from opentelemetry import trace

LOGGER_NAME = "pii-app"


def leak_everything(base_url: str, api_key: str, pii: dict[str, str], tracer_provider=None) -> None:
    email, phone, card, secret = pii["PII_EMAIL"], pii["PII_PHONE"], pii["PII_CARD"], pii["PII_SECRET"]
    client = openai.OpenAI(base_url=base_url, api_key=api_key, max_retries=0)
    client.chat.completions.create(
        model="anthropic/claude-sonnet-4.5",
        messages=[{"role": "user", "content": f"Email {email} or call {phone}; card {card}"}],
        extra_headers={"X-Replay-Scenario": "chat"},
    )
    tracer = trace.get_tracer("pii-app", tracer_provider=tracer_provider)
    with tracer.start_as_current_span(f"lookup {email}") as span:
        span.set_attribute("customer.phone", phone)
        span.set_attribute("deploy.token", secret)
        span.add_event("charged", {"card": card})
    try:
        with tracer.start_as_current_span("checkout"):
            raise ValueError(f"payment failed for {email} with card {card}")
    except ValueError:
        pass
    logging.getLogger(LOGGER_NAME).warning("customer %s called from %s", email, phone)


if __name__ == "__main__":
    leak_everything(os.environ["APP_BASE_URL"], os.environ["APP_API_KEY"], dict(os.environ))
    print("APP-DONE")
