#!/usr/bin/env bash
# The one test command (README and .ci/run call this). On a fresh machine it installs everything the
# tests need: the package with its test extras into .venv, the OpenTelemetry Collector built from its
# official modules (cached outside the repo), and Prometheus from Debian's packages.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet -e ".[test]"

if [ -x scripts/build-collector.sh ]; then
  OTELCOL_BIN="$(scripts/build-collector.sh)"
  export OTELCOL_BIN
fi
if [ -x scripts/install-prometheus.sh ]; then
  PROMETHEUS_BIN="$(scripts/install-prometheus.sh)"
  export PROMETHEUS_BIN
fi

exec .venv/bin/python -m pytest "$@"
