"""Memory over many instrumented calls: 100,000 calls through openrouter-otel (all defaults), the `openai`
SDK over an in-process `httpx2.MockTransport`; every tenth call is a short stream.

Every `--every` calls the providers are flushed and the garbage collected, then the process's RSS and
tracemalloc's traced memory are sampled. It prints the series and the growth from the 20 % mark (the 20k
mark for 100,000 calls: past warm-up and the first metric label sets) to the end. Target: flat, which
here means traced growth under 1 MiB and RSS growth under 8 MiB between those marks.

    python benchmarks/memory.py [--calls 100000] [--every 10000] [--no-tracemalloc]
    python benchmarks/memory.py --quick
"""

from __future__ import annotations

import argparse
import gc
import sys
import time
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _common as common  # noqa: E402

STREAM_CHUNKS = 5
TRACED_LIMIT, RSS_LIMIT = 1 << 20, 8 << 20


def rss_bytes() -> int:
    with open("/proc/self/statm") as statm:
        import os

        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def sample(providers: common.Providers, calls: int, traced: bool) -> tuple[int, int, int | None]:
    providers.force_flush()
    gc.collect()
    return calls, rss_bytes(), tracemalloc.get_traced_memory()[0] if traced else None


def run(args: argparse.Namespace) -> list[tuple[int, int, int | None]]:
    from openrouter_otel import OpenRouterInstrumentor

    providers = common.Providers()
    client = common.make_client(STREAM_CHUNKS)
    instrumentor = OpenRouterInstrumentor()
    instrumentor.instrument(**providers.kwargs())
    if args.tracemalloc:
        tracemalloc.start()
    samples = [sample(providers, 0, args.tracemalloc)]
    started = time.perf_counter()
    try:
        for done in range(1, args.calls + 1):
            if done % 10:
                common.run_calls(client, 1)
            else:
                common.run_streams(client, 1)
            if done % args.every == 0:
                samples.append(sample(providers, done, args.tracemalloc))
                print(f"  {done:>8,} calls  {time.perf_counter() - started:7.1f} s", file=sys.stderr, flush=True)
    finally:
        instrumentor.uninstrument()
        providers.shutdown()
    return samples


def report(samples: list[tuple[int, int, int | None]], args: argparse.Namespace) -> None:
    print(f"\n{args.calls:,} instrumented calls (1 in 10 a {STREAM_CHUNKS}-chunk stream); sampled after a flush and gc")
    print(f"  {'calls':>9}{'RSS MiB':>10}{'traced KiB':>12}")
    for calls, rss, traced in samples:
        print(f"  {calls:>9,}{rss / 2**20:>10.1f}{'' if traced is None else f'{traced / 1024:>12.1f}'}")
    mark = next((s for s in samples if s[0] >= args.calls * 0.2), samples[0])
    last = samples[-1]
    span = max(last[0] - mark[0], 1)
    rss_growth = last[1] - mark[1]
    print(f"\n  growth from {mark[0]:,} to {last[0]:,} calls:")
    print(f"  RSS     {rss_growth / 2**20:+.2f} MiB ({rss_growth / span:+.1f} B/call; flat means < {RSS_LIMIT >> 20} MiB)"
          f"  {'flat' if rss_growth < RSS_LIMIT else 'NOT flat'}")
    if last[2] is not None and mark[2] is not None:
        traced_growth = last[2] - mark[2]
        print(f"  traced  {traced_growth / 1024:+.1f} KiB ({traced_growth / span:+.2f} B/call; flat means < "
              f"{TRACED_LIMIT >> 10} KiB)  {'flat' if traced_growth < TRACED_LIMIT else 'NOT flat'}")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=100_000)
    parser.add_argument("--every", type=int, default=10_000, help="sample every this many calls")
    parser.add_argument("--no-tracemalloc", dest="tracemalloc", action="store_false",
                        help="RSS only (tracemalloc slows every allocation)")
    parser.add_argument("--quick", action="store_true", help="a short smoke run")
    args = parser.parse_args(argv)
    if args.quick:
        args.calls, args.every = 300, 100
    return args


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    report(run(args), args)


if __name__ == "__main__":
    main()
