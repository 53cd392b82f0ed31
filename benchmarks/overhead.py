"""What each instrumentation adds to an `openai` call, in one run: openrouter-otel, its peers, and the SDK floor.

Every variant drives the same `openai` SDK over an in-process `httpx2.MockTransport` (no network) answering
the same OpenRouter-shaped response (gen- id, provider, usage.cost; streams of N chunks ending with usage).
One worker process per environment; each runs its own baseline (uninstrumented) and its variant(s), and the
orchestrator interleaves rounds across workers and alternates the order inside each, so that drift on the
machine hits all equally. Figures are medians over rounds; a variant's "added" is its median minus the
median of the baseline in its own process.

- openrouter-otel: all defaults (batch span and log processors to no-op exporters, an SDK MeterProvider,
  redaction on), through the public `OpenRouterInstrumentor().instrument(...)` / `.uninstrument()`.
- SDK floor: the OpenTelemetry SDK work for exactly our telemetry, issued directly: the spans, metric points
  and log records of one instrumented call, captured through in-memory exporters, replayed with the same
  names and attributes through the same processors and our redaction processors.
- peers, each in its own virtual environment under ~/.cache/openrouter-otel/bench-venvs/ (never in the repo's
  venv: they register auto-instrumentation entry points), with the same `openai`, `httpx2` and OpenTelemetry
  SDK versions pinned as here: the official opentelemetry-instrumentation-openai-v2, OpenLLMetry
  (opentelemetry-instrumentation-openai) and OpenLIT. `--setup-peers` creates them (pip, a few minutes);
  afterwards every run uses those that exist. A peer that cannot be uninstrumented is switched on and off by
  restoring the attributes its instrument() replaced in the openai/httpx modules.

Caller-path latency is the wall time of the calls, measured before the round's flush. The mock server answers
after `--server-ms` (default 2 ms) spent sleeping, as a real one answers after the network round trip: work an
instrumentation moves off the caller's path runs in that wait, as in an application (with 0, a CPU-bound loop
with no I/O, a background thread's work shows up in the caller's wall time too). CPU is process CPU time over
the round including `force_flush()` of the tracer, logger and meter providers at its end, so work moved to
background threads is counted; the sleep adds none.

    python benchmarks/overhead.py --setup-peers            # once: create the peers' environments
    python benchmarks/overhead.py [--rounds 15] [--calls 300] [--streams 10] [--chunks 200] [--first 40]
    python benchmarks/overhead.py --quick                  # smoke run, seconds
    python benchmarks/overhead.py --no-peers               # ours, baseline and floor only
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Callable, TextIO

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _common as common  # noqa: E402

OURS, FLOOR, BASELINE = "openrouter-otel", "SDK floor", "baseline"
VENVS = Path.home() / ".cache" / "openrouter-otel" / "bench-venvs"
PEERS = {  # name: (the peer pinned, the extra requirements it needs here) (newest on the index when written)
    # it imports httpx (not httpx2) for a URL type, and util-genai's `instruments` module, renamed after 1.1b0
    "official openai-v2": ("opentelemetry-instrumentation-openai-v2==2.4b0",
                           ("httpx==0.28.1", "opentelemetry-util-genai==1.1b0")),
    "OpenLLMetry": ("opentelemetry-instrumentation-openai==0.62.4", ()),
    # OpenLIT asks for openai<3 and for contrib instrumentations that do not resolve on the index here: it is
    # installed without its dependencies, beside those its openai instrumentation imports.
    "OpenLIT": ("openlit==1.45.0", ("opentelemetry-exporter-otlp==1.45.2", "opentelemetry-instrumentation==0.66b2",
                                   "requests==2.34.2", "schedule==1.2.2", "pydantic==2.14.4", "xmltodict==1.0.4")),
}
NO_DEPS = {"OpenLIT"}
KINDS = ("calls", "streams", "short", "first")
TARGETS = {"calls": 30.0, "chunk": 1.0, "first": 20.0}
MISSING = object()
CPU_TARGETS = {"official openai-v2": 1.2, FLOOR: 1.1}


# ---- worker side -------------------------------------------------------------------------------------

class Variant:
    """Uninstrumented: on/off do nothing."""

    def __init__(self, providers: common.Providers) -> None:
        self.providers = providers

    def on(self) -> None:
        pass

    def off(self) -> None:
        pass

    def work(self, client: Any, kind: str, n: int, chunks: int) -> Callable[[], Any]:
        if kind == "calls":
            return lambda: common.run_calls(client, n)
        if kind in ("streams", "short"):
            return lambda: common.run_streams(client, n, short=kind == "short")
        return lambda: common.run_first_chunks(client, n)


class Ours(Variant):
    def __init__(self, providers: common.Providers) -> None:
        super().__init__(providers)
        from openrouter_otel import OpenRouterInstrumentor

        self.instrumentor = OpenRouterInstrumentor()

    def on(self) -> None:
        self.instrumentor.instrument(**self.providers.kwargs())

    def off(self) -> None:
        self.instrumentor.uninstrument()


class Toggled(Variant):
    """A peer instrumented once; switched off and on again by swapping the attributes it patched."""

    PREFIXES = ("openai", "httpx")

    def __init__(self, providers: common.Providers, activate: Callable[[common.Providers], None]) -> None:
        super().__init__(providers)
        before = self._snapshot()
        owners = {id(owner) for owner, _ in before}
        activate(providers)
        # owners first seen now are modules that instrument() imported: nothing of theirs to switch off
        self.patches = [(owner, name, before.get((owner, name), MISSING), value)
                        for (owner, name), value in self._snapshot().items()
                        if id(owner) in owners and not name.startswith("__")
                        and before.get((owner, name), MISSING) is not value]
        if not self.patches:
            raise RuntimeError("instrument() patched nothing in openai/httpx")
        self.patched = True
        self.off()

    def _owners(self) -> list[Any]:
        owners: list[Any] = []
        for module_name, module in list(sys.modules.items()):
            if module is None or not module_name.startswith(self.PREFIXES):
                continue
            owners.append(module)
            owners.extend(value for value in vars(module).values()
                          if isinstance(value, type) and getattr(value, "__module__", None) == module_name)
        return owners

    def _snapshot(self) -> dict[tuple[Any, str], Any]:
        return {(owner, name): value for owner in self._owners() for name, value in list(vars(owner).items())}

    def _apply(self, patched: bool) -> None:
        if patched is self.patched:
            return
        self.patched = patched
        for owner, name, original, replacement in self.patches:
            value = replacement if patched else original
            if value is MISSING:
                delattr(owner, name)
            else:
                setattr(owner, name, value)

    def on(self) -> None:
        self._apply(True)

    def off(self) -> None:
        self._apply(False)


class Floor(Variant):
    """The SDK work one instrumented call asks for, issued directly, through our redaction processors."""

    def __init__(self, client: Any) -> None:
        super().__init__(common.Providers())
        from openrouter_otel import Redactor
        from openrouter_otel.redaction_processors import install_redaction

        install_redaction(self.providers.tracer_provider, self.providers.logger_provider, Redactor())
        self.spans, self.points, self.logs = capture(client)
        self.shape = (f"{len(self.spans)} span(s) of {[len(s[2]) for s in self.spans]} attributes, "
                      f"{len(self.points)} metric points of {[len(p[2]) for p in self.points]}, "
                      f"{len(self.logs)} log record(s) of {[len(r[2]) for r in self.logs]}")
        self._replay = self._build()

    def _build(self) -> Callable[[], None]:
        tracer = self.providers.tracer_provider.get_tracer("openrouter_otel.floor")
        meter = self.providers.meter_provider.get_meter("openrouter_otel.floor")
        points = [(_instrument(meter, kind, name, unit, bounds), value, attributes)
                  for kind, name, attributes, value, unit, bounds in self.points]
        logs = [(self.providers.logger_provider.get_logger(scope), record, attributes)
                for scope, record, attributes in self.logs]
        spans = self.spans

        def replay() -> None:
            for name, kind, attributes in spans:
                span = tracer.start_span(name, kind=kind, attributes=attributes)
                for record, value, point_attributes in points:
                    record(value, point_attributes)
                for logger, record, log_attributes in logs:
                    logger.emit(body=record.body, attributes=log_attributes, event_name=record.event_name,
                                severity_number=record.severity_number, severity_text=record.severity_text)
                span.end()

        return replay

    def work(self, client: Any, kind: str, n: int, chunks: int) -> Callable[[], Any]:
        replay = self._replay

        def run() -> int:
            for _ in range(n):
                replay()
            return n

        return run


def _instrument(meter: Any, kind: str, name: str, unit: str, bounds: Any) -> Callable[[float, Any], None]:
    if kind == "histogram":
        advisory = {"explicit_bucket_boundaries_advisory": list(bounds)} if bounds else {}
        return meter.create_histogram(name, unit=unit, **advisory).record
    if kind == "counter":
        return meter.create_counter(name, unit=unit).add
    if kind == "updown":
        return meter.create_up_down_counter(name, unit=unit).add
    return meter.create_gauge(name, unit=unit).set


def capture(client: Any) -> tuple[list, list, list]:
    """The spans, metric points and log records of one instrumented non-streaming call, after a flush."""
    from opentelemetry.sdk._logs import LoggerProvider
    from opentelemetry.sdk._logs.export import InMemoryLogRecordExporter, SimpleLogRecordProcessor
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import InMemoryMetricReader
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    from openrouter_otel import OpenRouterInstrumentor

    span_exporter, log_exporter, reader = InMemorySpanExporter(), InMemoryLogRecordExporter(), InMemoryMetricReader()
    tracer_provider, logger_provider = TracerProvider(), LoggerProvider()
    tracer_provider.add_span_processor(SimpleSpanProcessor(span_exporter))
    logger_provider.add_log_record_processor(SimpleLogRecordProcessor(log_exporter))
    meter_provider = MeterProvider(metric_readers=[reader])
    instrumentor = OpenRouterInstrumentor()
    instrumentor.instrument(tracer_provider=tracer_provider, meter_provider=meter_provider,
                            logger_provider=logger_provider)
    try:
        common.run_calls(client, 1)
        deadline = time.monotonic() + 5
        while True:  # the pipeline may finish the call off the request path
            for provider in (tracer_provider, logger_provider, meter_provider):
                provider.force_flush()
            if span_exporter.get_finished_spans() and log_exporter.get_finished_logs() or time.monotonic() > deadline:
                break
            time.sleep(0.05)
        metrics = reader.get_metrics_data()
    finally:
        instrumentor.uninstrument()
    spans = [(s.name, s.kind, dict(s.attributes or {})) for s in span_exporter.get_finished_spans()]
    logs = [(r.instrumentation_scope.name if r.instrumentation_scope else "openrouter_otel", r.log_record,
             dict(r.log_record.attributes or {})) for r in log_exporter.get_finished_logs()]
    if not spans:
        raise RuntimeError("the instrumented call produced no span")
    return spans, _metric_points(metrics), logs


def _metric_points(metrics: Any) -> list[tuple]:
    from opentelemetry.sdk.metrics.export import Gauge, Histogram, Sum

    points = []
    for resource_metrics in (metrics.resource_metrics if metrics else ()):
        for scope_metrics in resource_metrics.scope_metrics:
            for metric in scope_metrics.metrics:
                data = metric.data
                kind = ("histogram" if isinstance(data, Histogram) else
                        ("counter" if data.is_monotonic else "updown") if isinstance(data, Sum) else
                        "gauge" if isinstance(data, Gauge) else None)
                for point in data.data_points if kind else ():
                    value = point.sum / max(point.count, 1) if kind == "histogram" else point.value
                    bounds = getattr(point, "explicit_bounds", None)
                    points.append((kind, metric.name, dict(point.attributes or {}), value, metric.unit or "", bounds))
    return points


def peer_activation(name: str) -> Callable[[common.Providers], None]:
    def official(providers: common.Providers) -> None:
        from opentelemetry.instrumentation.openai_v2 import OpenAIInstrumentor

        OpenAIInstrumentor().instrument(**providers.kwargs())

    def openllmetry(providers: common.Providers) -> None:
        from opentelemetry.instrumentation.openai import OpenAIInstrumentor

        OpenAIInstrumentor().instrument(**providers.kwargs())

    def openlit(providers: common.Providers) -> None:
        import tempfile

        import openlit
        from opentelemetry import _logs, metrics, trace

        # OpenLIT takes no providers: it adopts the global ones when they are the SDK's
        trace.set_tracer_provider(providers.tracer_provider)
        metrics.set_meter_provider(providers.meter_provider)
        _logs.set_logger_provider(providers.logger_provider)
        with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as pricing:
            pricing.write("{}")  # else it fetches its price list over the network
        openlit.init(disabled_instrumentors=_openlit_others(), pricing_json=pricing.name)

    return {"official openai-v2": official, "OpenLLMetry": openllmetry, "OpenLIT": openlit}[name]


def _openlit_others() -> list[str]:
    from openlit._instrumentors import get_all_instrumentors

    return [name for name in get_all_instrumentors() if name != "openai"]


def _versions() -> dict[str, str]:
    from importlib import metadata

    names = ["openai", "httpx2", "opentelemetry-sdk", "openrouter-otel", *(r.split("==")[0] for r, _ in PEERS.values())]
    found = {}
    for name in names:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            pass
    return found


def worker(name: str, chunks: int, server_ms: float) -> None:
    protocol = _protocol_channel()
    client = common.make_client(chunks, server_ms / 1000)
    providers = common.Providers()
    variants: dict[str, Variant] = {BASELINE: Variant(providers)}
    _warm(variants[BASELINE], client, chunks)  # also loads the SDK's lazy modules before a peer patches them
    info: dict[str, Any] = {"versions": _versions()}
    if name == OURS:
        variants[OURS] = Ours(providers)
        floor = Floor(client)
        variants[FLOOR] = floor
        info["floor"] = floor.shape
    else:
        variants[name] = Toggled(providers, peer_activation(name))
    for variant in variants.values():
        _warm(variant, client, chunks)
    for variant_name in (OURS, name):
        if variant_name in variants:
            _check_switch(variants[variant_name], client, variant_name)
    _send(protocol, {"ready": list(variants), **info})
    for line in sys.stdin:
        command = json.loads(line)
        variant = variants[command["variant"]]
        variant.on()
        try:
            result = common.measured(variant.work(client, command["kind"], command["n"], chunks),
                                     variant.providers.force_flush)
        finally:
            variant.off()
        _send(protocol, result)


def _warm(variant: Variant, client: Any, chunks: int) -> None:
    """Imports and caches warmed outside the measurement."""
    variant.on()
    try:
        for kind in KINDS:
            variant.work(client, kind, 3, chunks)()
    finally:
        variant.off()


def _check_switch(variant: Variant, client: Any, name: str) -> None:
    """The variant records spans when on, and none when off."""
    def spans_of_one_call() -> int:
        before = variant.providers.span_exporter.exported
        common.run_calls(client, 1)
        variant.providers.force_flush()
        return variant.providers.span_exporter.exported - before

    variant.on()
    try:
        on = spans_of_one_call()
    finally:
        variant.off()
    off = spans_of_one_call()
    if on < 1 or off != 0:
        raise RuntimeError(f"{name}: switched on it exported {on} span(s) for one call, switched off {off}")


def _protocol_channel() -> TextIO:
    """The original stdout, for the orchestrator only; whatever the instrumentations print goes to stderr."""
    channel = os.fdopen(os.dup(1), "w")
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    return channel


def _send(channel: TextIO, message: dict[str, Any]) -> None:
    channel.write(json.dumps(message) + "\n")
    channel.flush()


# ---- orchestrator side -------------------------------------------------------------------------------

def peer_requirements(peer: str) -> list[str]:
    """The peer pinned, what it needs here, and the versions of openai, httpx2 and the SDK that we run."""
    from importlib import metadata

    pins = [f"{name}=={metadata.version(name)}" for name in ("openai", "httpx2", "opentelemetry-sdk", "opentelemetry-api")]
    requirement, extra = PEERS[peer]
    return [requirement, *extra, *pins]


def venv_dir(peer: str) -> Path:
    digest = hashlib.sha256("\n".join(peer_requirements(peer)).encode()).hexdigest()[:12]
    slug = "".join(c if c.isalnum() else "-" for c in peer.lower())
    return VENVS / f"{slug}-{digest}"


def venv_python(peer: str) -> Path:
    return venv_dir(peer) / "bin" / "python"


def setup_peer(peer: str) -> bool:
    target = venv_dir(peer)
    if (target / ".complete").exists():
        print(f"{peer}: {target} (exists)")
        return True
    print(f"{peer}: creating {target}", flush=True)
    base = getattr(sys, "_base_executable", sys.executable)
    pip = [str(target / "bin" / "python"), "-m", "pip", "install", "-q"]
    peer_pin, *others = peer_requirements(peer)
    steps = [[base, "-m", "venv", "--clear", str(target)]]
    if peer in NO_DEPS:
        steps += [[*pip, *others], [*pip, "--no-deps", peer_pin]]
    else:
        steps += [[*pip, peer_pin, *others]]
    for step in steps:
        if subprocess.run(step).returncode != 0:
            print(f"{peer}: failed: {' '.join(step)}")
            return False
    (target / ".complete").write_text("\n".join(peer_requirements(peer)) + "\n")
    return True


class Worker:
    def __init__(self, name: str, python: str, chunks: int, server_ms: float) -> None:
        self.name = name
        self.process = subprocess.Popen([python, __file__, "--worker", name, "--chunks", str(chunks),
                                         "--server-ms", str(server_ms)],
                                        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                                        env={**os.environ, "OTEL_SDK_DISABLED": "false", "PYTHONHASHSEED": "0"})
        self.info = self._receive()
        self.variants: list[str] = self.info["ready"]

    def _receive(self) -> dict[str, Any]:
        line = self.process.stdout.readline() if self.process.stdout else ""
        if not line:
            raise RuntimeError(f"worker {self.name} exited (code {self.process.wait()}); see its stderr above")
        return json.loads(line)

    def run(self, variant: str, kind: str, n: int) -> dict[str, float]:
        assert self.process.stdin is not None
        self.process.stdin.write(json.dumps({"variant": variant, "kind": kind, "n": n}) + "\n")
        self.process.stdin.flush()
        return self._receive()

    def close(self) -> None:
        if self.process.stdin:
            self.process.stdin.close()
        self.process.wait(timeout=30)


def start_workers(args: argparse.Namespace) -> list[Worker]:
    workers = [Worker(OURS, sys.executable, args.chunks, args.server_ms)]
    for peer in PEERS if not args.no_peers else ():
        if not (venv_dir(peer) / ".complete").exists():
            print(f"{peer}: not measured (no environment; run with --setup-peers)")
            continue
        try:
            workers.append(Worker(peer, str(venv_python(peer)), args.chunks, args.server_ms))
        except Exception as error:
            print(f"{peer}: not measured ({error})")
    return workers


def measure(workers: list[Worker], args: argparse.Namespace) -> dict[tuple[str, str, str], list[dict[str, float]]]:
    """(worker, variant, kind) -> per-round results; rounds interleave workers, the order alternates."""
    sizes = {"calls": args.calls, "streams": args.streams, "short": args.streams, "first": args.first}
    results: dict[tuple[str, str, str], list[dict[str, float]]] = {}
    for round_index in range(args.rounds):
        for kind in KINDS:
            for worker_ in workers:
                variants = [v for v in worker_.variants if kind == "calls" or v != FLOOR]
                for variant in variants if round_index % 2 == 0 else reversed(variants):
                    results.setdefault((worker_.name, variant, kind), []).append(
                        worker_.run(variant, kind, sizes[kind]))
        print(f"  round {round_index + 1}/{args.rounds} done", file=sys.stderr, flush=True)
    return results


def figures(results: dict[tuple[str, str, str], list[dict[str, float]]], chunks: int) -> dict[str, dict[str, float]]:
    """variant -> wall µs added per call (calls), per streamed chunk (chunk), to the first chunk (first) and
    CPU µs added per call (cpu); the same keys prefixed base_ hold its process's baseline."""
    table: dict[str, dict[str, float]] = {}

    def med(worker_name: str, variant: str, kind: str, field: str = "wall_us") -> float:
        return common.median([r[field] for r in results.get((worker_name, variant, kind), [])])

    for worker_name, variant, kind in results:
        if variant == BASELINE:
            continue
        row = table.setdefault(variant, {})
        # the floor is SDK work alone, not a call: its own time is what it adds
        base = 0.0 if variant == FLOOR else med(worker_name, BASELINE, kind)
        row[kind] = med(worker_name, variant, kind) - base
        row["base_" + kind] = med(worker_name, BASELINE, kind)
        if kind == "calls":
            base_cpu = 0.0 if variant == FLOOR else med(worker_name, BASELINE, kind, "cpu_us")
            row["cpu"] = med(worker_name, variant, kind, "cpu_us") - base_cpu
            row["base_cpu"] = med(worker_name, BASELINE, kind, "cpu_us")
    for row in table.values():  # per chunk: a long stream minus a one-chunk stream, over the chunks between
        for prefix in ("", "base_"):
            if prefix + "streams" in row and prefix + "short" in row:
                row[prefix + "chunk"] = (row[prefix + "streams"] - row[prefix + "short"]) / max(chunks - 1, 1)
    return table


def _fmt(value: float | None, digits: int = 1) -> str:
    return "—" if value is None or value != value else f"{value:+.{digits}f}"


def ratio(ours: float | None, theirs: float | None) -> str:
    if ours is None or theirs is None or ours != ours or theirs != theirs or theirs <= 0 or ours < 0:
        return "n/a"
    return f"{ours / theirs:.2f}x"


def report(table: dict[str, dict[str, float]], workers: list[Worker], args: argparse.Namespace) -> None:
    order = [v for v in (OURS, *PEERS, FLOOR) if v in table]
    print(f"\n{args.rounds} rounds; per round {args.calls} calls, {args.streams} streams of {args.chunks} chunks, "
          f"{args.first} first-chunk timings. Medians; 'added' = variant minus its own process's baseline.")
    for worker_ in workers:
        print(f"  {worker_.name}: {json.dumps(worker_.info['versions'])}")
    ours_row = table.get(OURS, {})
    print(f"  baseline (ours' process): {ours_row.get('base_calls', float('nan')):.1f} µs/call wall, "
          f"{ours_row.get('base_cpu', float('nan')):.1f} µs/call CPU, {ours_row.get('base_chunk', float('nan')):.2f} "
          f"µs/chunk, {ours_row.get('base_first', float('nan')):.1f} µs to first chunk")
    if FLOOR in table:
        print(f"  SDK floor = {workers[0].info.get('floor')} through BatchSpan/BatchLogRecord processors "
              f"behind our redaction processors")
    columns = [("calls", "latency µs/call", 1), ("chunk", "latency µs/chunk", 2),
               ("first", "latency µs 1st chunk", 1), ("cpu", "CPU µs/call", 1)]
    print(f"\n  {'added by':<20}" + "".join(f"{title:>22}" for _, title, _ in columns))
    for variant in order:
        row = table[variant]
        print(f"  {variant:<20}" + "".join(f"{_fmt(row.get(key), digits):>22}" for key, _, digits in columns))
    print("\n  Ratios of the added figures: 'A / B = 1.40x' means A adds 1.40 times what B adds (>1: A costs more).")
    pairs = [(OURS, other) for other in order if other != OURS]
    pairs += [(peer, FLOOR) for peer in order if peer in PEERS and FLOOR in order]
    print(f"  {'A / B':<40}" + "".join(f"{title:>22}" for _, title, _ in columns))
    for a, b in pairs:
        cells = [ratio(table[a][key], table[b][key]) if key in table[a] and key in table[b] else "—"
                 for key, _, _ in columns]
        print(f"  {a + ' / ' + b:<40}" + "".join(f"{cell:>22}" for cell in cells))
    print("\n  Targets for openrouter-otel:")
    for key, title, _ in columns[:3]:
        value = ours_row.get(key)
        print(f"  {title:<22} {_fmt(value):>8} (target <= {TARGETS[key]:g})  {_verdict(value, TARGETS[key])}")
    for other, limit in CPU_TARGETS.items():
        theirs = table.get(other, {}).get("cpu")
        if theirs is None:
            print(f"  CPU / {other:<16} not measured (target <= {limit}x)")
            continue
        value = ours_row.get("cpu", float("nan")) / theirs if theirs > 0 else float("nan")
        print(f"  CPU / {other:<16} {value:>8.2f}x (target <= {limit}x)  {_verdict(value, limit)}")


def _verdict(value: float | None, limit: float) -> str:
    if value is None or value != value:
        return "not measured"
    return "met" if value <= limit else "NOT met"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--calls", type=int, default=300, help="non-streaming calls per round")
    parser.add_argument("--streams", type=int, default=10, help="long and one-chunk streams per round, for the per-chunk figure")
    parser.add_argument("--chunks", type=int, default=200, help="content chunks per stream")
    parser.add_argument("--first", type=int, default=40, help="streams per round timed to their first chunk")
    parser.add_argument("--quick", action="store_true", help="a short smoke run")
    parser.add_argument("--no-peers", action="store_true", help="measure ours, the baseline and the floor only")
    parser.add_argument("--setup-peers", action="store_true", help="create the peers' environments and exit")
    parser.add_argument("--server-ms", type=float, default=2.0,
                        help="how long the mock server takes to answer (sleeping, like network I/O)")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.quick:
        args.rounds, args.calls, args.streams, args.chunks, args.first = 2, 20, 2, 10, 3
    return args


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    if args.worker:
        worker(args.worker, args.chunks, args.server_ms)
        return
    if args.setup_peers:
        ok = [setup_peer(peer) for peer in PEERS]
        sys.exit(0 if all(ok) else 1)
    workers = start_workers(args)
    try:
        results = measure(workers, args)
    finally:
        for worker_ in workers:
            worker_.close()
    report(figures(results, args.chunks), workers, args)


if __name__ == "__main__":
    main()
