"""Where the caller's time goes: each stage of openrouter-otel's work in the caller's thread, timed on its own.

The stages are those a non-streaming chat call passes, run with the real objects of one call (a real `openai`
request's options, the SDK's parsed response) against the default providers (batch processors, redaction):
reading the request's facts, starting the span, parsing the response, ending the call (handing it to the
background worker), and the recording the worker then does. Medians of alternating rounds, µs per call.

    python benchmarks/caller_path.py [--rounds 9] [--calls 2000]
"""

from __future__ import annotations

import argparse
import statistics
import time
from typing import Any, Callable

from _common import MESSAGES, MODEL, Providers, make_client

from openrouter_otel import OpenRouterInstrumentor
from openrouter_otel import patch
from openrouter_otel.call import Call
from openrouter_otel.worker import Worker


def captured_call(providers: Providers) -> tuple[Any, Any, Any, Any]:
    """The telemetry, client, options and SDK response of one real instrumented call."""
    seen: dict[str, Any] = {}
    original = patch._openai_start

    def noting_start(telemetry: Any) -> Any:
        start = original(telemetry)

        def wrapped(instance: Any, args: Any, kwargs: Any) -> Any:
            seen.update(telemetry=telemetry, client=instance, options=patch._options_of(args, kwargs))
            return start(instance, args, kwargs)

        return wrapped

    patch._openai_start = noting_start
    try:
        OpenRouterInstrumentor().instrument(**providers.kwargs())
        response = make_client(1).chat.completions.create(model=MODEL, messages=MESSAGES, max_tokens=64)
    finally:
        patch._openai_start = original
    return seen["telemetry"], seen["client"], seen["options"], response


def stages(telemetry: Any, client: Any, options: Any, response: Any) -> dict[str, Callable[[int], None]]:
    emitter = telemetry.emitter

    def request_facts(n: int) -> None:
        for _ in range(n):
            telemetry._request(client, options, "chat", False)

    request = telemetry._request(client, options, "chat", False)

    def start_span(n: int) -> None:
        started = time.perf_counter()
        calls = [Call(telemetry, request) for _ in range(n)]
        stage_time[0] = time.perf_counter() - started
        for each in calls:
            each.span.end()

    def start_call(n: int) -> None:
        started = time.perf_counter()
        calls = [telemetry.start_call(client, options, counts_attempts=True) for _ in range(n)]
        stage_time[0] = time.perf_counter() - started
        for each in calls:
            each.span.end()

    call = Call(telemetry, request)

    def parse_response(n: int) -> None:
        for _ in range(n):
            call.response_of(response)

    def end_and_hand_over(n: int) -> None:
        calls = [Call(telemetry, request) for _ in range(n)]
        parsed = call.response_of(response)
        started = time.perf_counter()
        for each in calls:
            each.end(parsed)
        stage_time[0] = time.perf_counter() - started
        emitter.flush()

    def record_in_worker(n: int) -> None:
        parsed = call.response_of(response)
        for _ in range(0, n, RECORD_BATCH):  # a few calls at a time, as the worker finds them
            calls = [Call(telemetry, request) for _ in range(RECORD_BATCH)]
            for each in calls:
                each.end(parsed)
            started = time.perf_counter()
            emitter.flush()
            stage_time[0] += time.perf_counter() - started

    return {"request facts": request_facts, "span start": start_span,
            "start_call (facts + span)": start_call, "parse the response": parse_response,
            "end: hand over to the worker": end_and_hand_over, "worker: record one call": record_in_worker}


stage_time = [0.0]  # stages that time only part of their loop put their time here
RECORD_BATCH = 10


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--calls", type=int, default=2000)
    args = parser.parse_args()
    providers = Providers()
    telemetry, client, options, response = captured_call(providers)
    # The worker's share is timed as its own stage: a worker whose thread never starts, drained by flush().
    telemetry.emitter.worker.shutdown()
    telemetry.emitter.worker = Worker(telemetry.emitter._write_item)
    telemetry.emitter.worker._start_thread = lambda: None  # type: ignore[method-assign]
    measured: dict[str, list[float]] = {}
    for _ in range(args.rounds):
        for name, run in stages(telemetry, client, options, response).items():
            stage_time[0] = 0.0
            started = time.perf_counter()
            run(args.calls)
            elapsed = stage_time[0] or time.perf_counter() - started
            measured.setdefault(name, []).append(elapsed / args.calls * 1e6)
    OpenRouterInstrumentor().uninstrument()
    print(f"{'stage':<34}{'µs per call (median)':>22}")
    for name, values in measured.items():
        print(f"{name:<34}{statistics.median(values):>22.2f}")


if __name__ == "__main__":
    main()
