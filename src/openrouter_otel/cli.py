"""The `openrouter-otel` command line. Every user error is one line on stderr and a non-zero exit."""

from __future__ import annotations

import argparse
import errno
import importlib.util
import sys
from typing import Any, Callable, NoReturn

from openrouter_otel.errors import UserError
from openrouter_otel.version import __version__

PROG = "openrouter-otel"
DEMO_EXTRA_HINT = "pip install 'openrouter-otel[demo]' (from a checkout: pip install -e '.[demo]')"
# What `demo` and `serve` import beyond the instrumentation itself (the `demo` extra).
DEMO_MODULES = {"openai": "the openai SDK", "opentelemetry.sdk": "the OpenTelemetry SDK",
                "opentelemetry.exporter.prometheus": "the Prometheus exporter"}


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{PROG}: {message} (see {PROG} --help)\n")


def _port(text: str) -> int:
    try:
        port = int(text)
    except ValueError:
        port = -1
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port number (0-65535; 0 picks a free port)")
    return port


def _seconds(text: str) -> float:
    try:
        seconds = float(text)
    except ValueError:
        seconds = -1.0
    if not seconds >= 0:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds")
    return seconds


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog=PROG,
        description="OpenTelemetry for LLM calls through OpenRouter.\nWith no command, runs the demo.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    demo = commands.add_parser("demo", help="instrumented calls against an embedded server, and what they recorded "
                                            "(the default command)")
    demo.add_argument("--live", action="store_true", help="call the real OpenRouter (needs OPENROUTER_API_KEY)")
    demo.add_argument("--metrics-port", type=_port, default=0, help="port for the Prometheus endpoint (default: any free)")
    demo.add_argument("--serve", type=_seconds, default=0.0, metavar="SECONDS",
                      help="keep the metrics endpoint up this long after the calls (Ctrl-C ends it sooner)")

    serve = commands.add_parser("serve", help="run the embedded OpenRouter-compatible server until Ctrl-C, "
                                              "to point your own app at")
    serve.add_argument("--port", type=_port, default=8080, help="port to listen on (default 8080; 0 picks a free one)")
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")

    from openrouter_otel import check
    from openrouter_otel.audit_store import commands as audit_commands

    audit_commands.add_arguments(commands.add_parser("audit", help="the embedded audit store: import the collector's "
                                                                   "trail, report, verify the hash chain"))

    check.add_arguments(commands.add_parser("check", help="compliance and pre-launch review: the key, the models, "
                                                          "hard-coded keys in a source tree, the telemetry setup"))
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    command: Callable[[argparse.Namespace], int] = _COMMANDS[args.command or "demo"]
    try:
        return command(args)
    except UserError as error:
        sys.stderr.write(f"{PROG}: {error}\n")
        return error.exit_code
    except KeyboardInterrupt:
        return 130


def _run_demo(args: argparse.Namespace) -> int:
    _require_demo_extra()
    from openrouter_otel.demo import run_demo

    with _binding(getattr(args, "metrics_port", 0), "--metrics-port"):
        return run_demo(live=getattr(args, "live", False), metrics_port=getattr(args, "metrics_port", 0),
                        serve_seconds=getattr(args, "serve", 0.0))


def _run_serve(args: argparse.Namespace) -> int:
    from openrouter_otel.server.serve import serve

    with _binding(args.port, "--port"):
        return serve(host=args.host, port=args.port, out=sys.stdout)


def _require_demo_extra() -> None:
    missing = [what for module, what in DEMO_MODULES.items() if not _importable(module)]
    if missing:
        raise UserError(f"the demo needs {' and '.join(missing)}: {DEMO_EXTRA_HINT}")


def _importable(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except ImportError:  # a parent package is missing
        return False


class _binding:
    """Turns the OSError of a port that cannot be bound into one line naming the option."""

    def __init__(self, port: int, option: str) -> None:
        self.port, self.option = port, option

    def __enter__(self) -> None:
        return None

    def __exit__(self, exc_type: Any, error: Any, traceback: Any) -> bool:
        if isinstance(error, OSError) and not isinstance(error, ConnectionError) and error.errno is not None:
            if error.errno == errno.EADDRINUSE:
                raise UserError(f"port {self.port} is already in use; choose another with {self.option} "
                                "(0 picks a free one)") from None
            if error.errno in (errno.EACCES, errno.EADDRNOTAVAIL):
                raise UserError(f"cannot listen on port {self.port} ({error.strerror}); choose another with "
                                f"{self.option}") from None
        return False


def _run_audit(args: argparse.Namespace) -> int:
    from openrouter_otel.audit_store import commands as audit_commands

    return audit_commands.run(args)


def _run_check(args: argparse.Namespace) -> int:
    from openrouter_otel import check

    return check.run(args)


_COMMANDS: dict[str, Callable[[argparse.Namespace], int]] = {"demo": _run_demo, "serve": _run_serve,
                                                              "check": _run_check, "audit": _run_audit}


if __name__ == "__main__":
    sys.exit(main())
