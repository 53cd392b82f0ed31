"""Throughput under concurrency, uninstrumented vs openrouter-otel: 8 threads on one sync client, and 200
asyncio tasks on one async client, against a real HTTP server on 127.0.0.1 that answers every request
after 20 ms (an OpenRouter-shaped chat completion).

The server runs in its own process (an asyncio server with keep-alive), so its work does not share the
client's GIL. Rounds alternate baseline / instrumented (the order flips each round); each round's time
includes a force_flush of the providers at its end, so telemetry work moved off the request path is
paid for inside the round. Figures are medians of the rounds' calls/s. Target: instrumented within 5 % of
uninstrumented.

    python benchmarks/concurrency.py [--rounds 7] [--threads 8] [--per-thread 50] [--tasks 200] [--per-task 5]
    python benchmarks/concurrency.py --quick
"""

from __future__ import annotations

import argparse
import asyncio
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any, Callable

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _common as common  # noqa: E402

TARGET = 0.95


# ---- the server (own process) -----------------------------------------------------------------------

async def serve(delay: float) -> None:
    completion, generation = common.completion_body(), common.generation_body()

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = 0
                for line in head.split(b"\r\n")[1:]:
                    name, _, value = line.partition(b":")
                    if name.strip().lower() == b"content-length":
                        length = int(value)
                if length:
                    await reader.readexactly(length)
                await asyncio.sleep(delay)
                body = generation if head.startswith(b"GET") else completion
                writer.write(b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: %d\r\n\r\n%s"
                             % (len(body), body))
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.LimitOverrunError):
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0, backlog=2048)
    print(server.sockets[0].getsockname()[1], flush=True)
    async with server:
        await server.serve_forever()


class Server:
    def __init__(self, delay_ms: float) -> None:
        self.process = subprocess.Popen([sys.executable, __file__, "--serve", "--delay-ms", str(delay_ms)],
                                        stdout=subprocess.PIPE, text=True)
        assert self.process.stdout is not None
        self.base_url = f"http://127.0.0.1:{int(self.process.stdout.readline())}/api/v1"

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=10)


# ---- the clients ------------------------------------------------------------------------------------

def sync_round(client: Any, threads: int, per_thread: int) -> int:
    barrier = threading.Barrier(threads)

    def run() -> None:
        barrier.wait()
        common.run_calls(client, per_thread)

    workers = [threading.Thread(target=run) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return threads * per_thread


async def async_round(client: Any, tasks: int, per_task: int) -> int:
    async def run() -> None:
        create = client.chat.completions.create
        for _ in range(per_task):
            await create(model=common.MODEL, messages=common.MESSAGES, max_tokens=64, temperature=0.2)

    await asyncio.gather(*(run() for _ in range(tasks)))
    return tasks * per_task


def calls_per_second(work: Callable[[], int], providers: common.Providers) -> float:
    start = time.perf_counter()
    calls = work()
    providers.force_flush()
    return calls / (time.perf_counter() - start)


def measure(args: argparse.Namespace, base_url: str) -> dict[tuple[str, str], list[float]]:
    import openai

    from openrouter_otel import OpenRouterInstrumentor

    providers = common.Providers()
    instrumentor = OpenRouterInstrumentor()
    loop = asyncio.new_event_loop()
    sync_client = openai.OpenAI(base_url=base_url, api_key=common.API_KEY, max_retries=0)
    async_client = openai.AsyncOpenAI(base_url=base_url, api_key=common.API_KEY, max_retries=0)
    modes = {
        f"{args.threads} threads": lambda: sync_round(sync_client, args.threads, args.per_thread),
        f"{args.tasks} asyncio tasks": lambda: loop.run_until_complete(
            async_round(async_client, args.tasks, args.per_task)),
    }
    for work in modes.values():  # warm connections, imports and caches
        work()
    results: dict[tuple[str, str], list[float]] = {}
    for round_index in range(args.rounds):
        for mode, work in modes.items():
            order = ("baseline", "openrouter-otel") if round_index % 2 == 0 else ("openrouter-otel", "baseline")
            for variant in order:
                if variant != "baseline":
                    instrumentor.instrument(**providers.kwargs())
                try:
                    results.setdefault((mode, variant), []).append(calls_per_second(work, providers))
                finally:
                    if variant != "baseline":
                        instrumentor.uninstrument()
        print(f"  round {round_index + 1}/{args.rounds} done", file=sys.stderr, flush=True)
    loop.run_until_complete(async_client.close())
    loop.close()
    sync_client.close()
    providers.shutdown()
    return results


def report(results: dict[tuple[str, str], list[float]], args: argparse.Namespace) -> None:
    print(f"\n{args.rounds} rounds, server answering in {args.delay_ms:g} ms; medians of calls/s "
          f"(target: instrumented >= {TARGET:.0%} of uninstrumented)")
    print(f"  {'mode':<20}{'baseline':>12}{'openrouter-otel':>18}{'instrumented / baseline':>26}")
    for mode in dict.fromkeys(mode for mode, _ in results):
        base = common.median(results[(mode, "baseline")])
        ours = common.median(results[(mode, "openrouter-otel")])
        share = ours / base
        verdict = "met" if share >= TARGET else "NOT met"
        print(f"  {mode:<20}{base:>12.0f}{ours:>18.0f}{share:>20.1%}  {verdict}")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--per-thread", type=int, default=50, help="calls per thread per round")
    parser.add_argument("--tasks", type=int, default=200)
    parser.add_argument("--per-task", type=int, default=5, help="calls per task per round")
    parser.add_argument("--delay-ms", type=float, default=20.0, help="the server's answer time")
    parser.add_argument("--quick", action="store_true", help="a short smoke run")
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.quick:
        args.rounds, args.per_thread, args.tasks, args.per_task = 2, 3, 50, 1
    return args


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    if args.serve:
        asyncio.run(serve(args.delay_ms / 1000))
        return
    server = Server(args.delay_ms)
    try:
        results = measure(args, server.base_url)
    finally:
        server.stop()
    report(results, args)


if __name__ == "__main__":
    main()
