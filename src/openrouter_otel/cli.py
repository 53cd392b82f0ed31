"""The `openrouter-otel` command line."""

from __future__ import annotations

import argparse
import sys


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="openrouter-otel", description="OpenTelemetry for OpenAI SDK calls through OpenRouter")
    commands = parser.add_subparsers(dest="command")

    demo = commands.add_parser("demo", help="make instrumented calls against an embedded server and show the telemetry")
    demo.add_argument("--live", action="store_true", help="call the real OpenRouter (needs OPENROUTER_API_KEY)")
    demo.add_argument("--metrics-port", type=int, default=0, help="port for the Prometheus endpoint (default: any free)")
    demo.add_argument("--serve", type=float, default=0.0, metavar="SECONDS",
                      help="keep serving the metrics endpoint this long after the calls")

    args = parser.parse_args(argv)
    if args.command in (None, "demo"):
        from openrouter_otel.demo import run_demo

        return run_demo(
            live=getattr(args, "live", False),
            metrics_port=getattr(args, "metrics_port", 0),
            serve_seconds=getattr(args, "serve", 0.0),
        )
    parser.print_help()
    return 2


if __name__ == "__main__":
    sys.exit(main())
