#!/usr/bin/env bash
# The one test command (the README and .ci/run call it). Arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."

cat >&2 <<'MSG'
scripts/test.sh installs what the tests need, then runs them:
  - .venv with this package and its test extras (the openai SDK, the frameworks built on it, the OpenTelemetry
    SDK and exporters, pytest): from PyPI, a minute or two the first time
  - the OpenTelemetry Collector, built from its official Go modules by scripts/build-collector.sh (needs Go;
    about 5-10 minutes and 3 GB of temporary Go caches the first time, deleted afterwards; the 60 MB binary is
    kept in ~/.cache/openrouter-otel/ and reused while collector-config/builder-config.yaml is unchanged)
  - Prometheus and promtool from Debian's packages if missing (apt-get, needs root or sudo; the packaged
    service is neither started nor enabled: the tests start their own on loopback ports and stop them)
A cold run takes about 15 minutes, a warm one about 5.
MSG

PYTHON="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet -e ".[test]"
# Instructor 1.17 pins jiter<0.15 while openai 3.57 needs jiter>=0.16, so pip would resolve both only by
# falling back to an old openai. It works with the newer jiter (tests/frameworks/test_instructor.py proves
# it), so it is installed without its pins, next to the dependencies it has beyond the extra's.
.venv/bin/python -m pip install --quiet "docstring-parser>=0.16,<1" "typer>=0.9,<1" "rich>=13.7,<15" "tenacity>=8.2.3" \
  "jinja2>=3.1.4" "aiohttp>=3.9" "regex>=2023"
.venv/bin/python -m pip install --quiet --no-deps "instructor==1.17.0"
# langchain-openrouter 0.2.9 pins openrouter<1.0; it works with the openrouter 1.x the extra installs
# (tests/frameworks/test_langchain_openrouter.py proves it), and its other dependency, langchain-core, is there.
.venv/bin/python -m pip install --quiet --no-deps "langchain-openrouter==0.2.9"

OTELCOL_BIN="$(scripts/build-collector.sh)"
PROMETHEUS_BIN="$(scripts/install-prometheus.sh)"
export OTELCOL_BIN PROMETHEUS_BIN

exec .venv/bin/python -m pytest "$@"
