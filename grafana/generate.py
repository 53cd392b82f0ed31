#!/usr/bin/env python3
"""Regenerate the alert rules and dashboards from grafana/thresholds.yaml.

    python grafana/generate.py           # write grafana/provisioning/alerting/rules.yaml and grafana/dashboards/*.json
    python grafana/generate.py --check   # exit 1, naming the stale files, if they differ from what would be written

Needs PyYAML and `openrouter_otel` (installed, or this checkout's src/ is used).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
try:
    import openrouter_otel  # noqa: F401
except ImportError:
    sys.path.insert(0, str(HERE.parent / "src"))

from openrouter_grafana import settings  # noqa: E402
from openrouter_grafana.render import generated_files  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only report files that are out of date")
    args = parser.parse_args(argv)
    files = generated_files(settings.load())
    stale = [path for path, text in files.items() if not path.exists() or path.read_text(encoding="utf-8") != text]
    if args.check:
        for path in stale:
            print(f"out of date: {path.relative_to(HERE.parent)} (run python grafana/generate.py)")
        return 1 if stale else 0
    for path in stale:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(files[path], encoding="utf-8")
        print(f"wrote {path.relative_to(HERE.parent)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
