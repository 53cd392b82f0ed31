"""An application for the collector end-to-end tests, run under `opentelemetry-instrument`.

It makes the calls of a plan (a JSON file: `[{"team": ..., "kwargs": {...}}, ...]`, each the keywords of
`chat.completions.create`) inside `audit_context(team=...)`, and prints one `APP-CALL {json}` line per call with
what the response itself said (generation id, served model, `usage.cost`, tokens) or the error's status, so the
test can compare what reached Prometheus and the audit file with what the server answered.

With APP_LEAK (a JSON object of PII values) it also leaks them every way an application can without any
telemetry code of ours: its own span's name, string, array and integer attributes and an event, a raw prompt
with every kind of PII, an exception message, a log line and its attributes, and a metric attribute.
"""

import json
import logging
import os
import sys
import time

import openai
from opentelemetry import metrics, trace

from openrouter_otel import audit_context


def usage_of(usage) -> dict:
    if usage is None:
        return {}
    return {"cost": getattr(usage, "cost", None), "input_tokens": usage.prompt_tokens,
            "output_tokens": usage.completion_tokens}


def call(client: openai.OpenAI, kwargs: dict) -> dict:
    try:
        if not kwargs.get("stream"):
            reply = client.chat.completions.create(**kwargs)
            return {"id": reply.id, "model": reply.model, "provider": getattr(reply, "provider", None),
                    **usage_of(reply.usage)}
        outcome: dict = {}
        for chunk in client.chat.completions.create(**kwargs):
            outcome.update({"id": chunk.id, "model": chunk.model, "provider": getattr(chunk, "provider", None)})
            outcome.update(usage_of(chunk.usage))
        return outcome
    except openai.APIStatusError as error:
        return {"error": str(error.status_code)}


def run_plan(client: openai.OpenAI, plan: list[dict], pace_s: float) -> None:
    for seq, step in enumerate(plan):
        with audit_context(team=step["team"]):
            outcome = call(client, step["kwargs"])
        print("APP-CALL", json.dumps({"seq": seq, "team": step["team"], **outcome}), flush=True)
        time.sleep(pace_s)


def leak(pii: dict[str, str]) -> None:
    tracer = trace.get_tracer("collector-app")
    with tracer.start_as_current_span(f"lookup {pii['email']}") as span:
        span.set_attribute("customer.phone", pii["phone"])
        span.set_attribute("customer.ssn", pii["ssn"])
        span.set_attribute("deploy.token", pii["openrouter_key"])
        span.set_attribute("payment.card_number", int(pii["card"].replace(" ", "")))
        span.set_attribute("http.request.header.authorization", [pii["bearer"]])
        span.set_attribute("client.addresses", [pii["ipv4"], pii["ipv6"]])
        span.add_event("charged", {"card": pii["card"], "iban": pii["iban"]})
    try:
        with tracer.start_as_current_span("checkout"):
            raise ValueError(f"payment failed for {pii['email']} with card {pii['card']} key {pii['aws_key']}")
    except ValueError:
        pass
    # What an instrumentation that captures prompts without redacting them would send.
    with tracer.start_as_current_span("summarize") as span:
        span.set_attribute("app.prompt", "; ".join(f"{kind}: {value}" for kind, value in pii.items()))
    logging.getLogger("collector-app").warning(
        "customer %s called from %s with token %s", pii["email"], pii["phone"], pii["github_token"],
        extra={"customer.jwt": pii["jwt"], "customer.iban": pii["iban"]})
    metrics.get_meter("collector-app").create_counter("app.lookups").add(1, {"customer.email": pii["email"]})


def main() -> None:
    client = openai.OpenAI(base_url=os.environ["APP_BASE_URL"], api_key=os.environ["APP_API_KEY"], max_retries=0)
    with open(os.environ["APP_PLAN"]) as plan_file:
        plan = json.load(plan_file)
    run_plan(client, plan, float(os.environ.get("APP_PACE_S", "0")))
    if os.environ.get("APP_LEAK"):
        leak(json.loads(os.environ["APP_LEAK"]))
    print("APP-DONE", flush=True)


if __name__ == "__main__":
    sys.exit(main())
