"""`openrouter-otel serve`: the embedded OpenRouter-compatible server in the foreground, for trying your own app."""

from __future__ import annotations

import threading
from typing import TextIO

from openrouter_otel.server.replay import SCENARIO_HEADER, ReplayServer

ANY_KEY = "sk-or-v1-local"  # any key works here; this one looks like no real key


def serve(*, host: str, port: int, out: TextIO, stop: threading.Event | None = None) -> int:
    """Serve until Ctrl-C (or until `stop` is set). Raises OSError when the port cannot be bound."""
    server = ReplayServer(host=host, port=port)
    server.start()
    try:
        out.write(instructions(server.base_url))
        out.flush()
        (stop or threading.Event()).wait()
    except KeyboardInterrupt:
        out.write("\nstopped\n")
    finally:
        server.stop()
    return 0


def instructions(base_url: str) -> str:
    return f"""\
Embedded OpenRouter-compatible server listening; base_url = {base_url}

It answers chat completions (JSON and streamed), completions, embeddings, responses,
GET /generation?id=, GET /key and GET /models, in OpenRouter's shapes, with synthesised replies.
Any API key works; keys containing -low-credit-, -free-tier-, -expired-, -expiring- or -invalid-
show that state on /key. Choose an outcome per request with the header {SCENARIO_HEADER}
(byok, fallback, credits_402, rate_limit_429, tool_calls, ...) or the model scenario/<name>.

Point an app at it, zero-code:
  export OPENROUTER_BASE_URL={base_url} OPENROUTER_API_KEY={ANY_KEY}
  export OTEL_SERVICE_NAME=my-app OTEL_TRACES_EXPORTER=console OTEL_METRICS_EXPORTER=console OTEL_LOGS_EXPORTER=console
  opentelemetry-instrument python app.py     # app.py: OpenAI(base_url=os.environ["OPENROUTER_BASE_URL"], ...)

or by hand, in the app:
  from openai import OpenAI
  from openrouter_otel import OpenRouterInstrumentor
  OpenRouterInstrumentor().instrument()
  client = OpenAI(base_url="{base_url}", api_key="{ANY_KEY}")

Serving until Ctrl-C.
"""
