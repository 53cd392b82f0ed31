#!/usr/bin/env bash
# Build the OpenTelemetry Collector described by collector-config/builder-config.yaml with the Collector
# Builder (ocb) and print the absolute path of the binary on stdout (and nothing else there; progress goes to
# stderr).
#
# The binary lives outside the repo, in
#   ${XDG_CACHE_HOME:-$HOME/.cache}/openrouter-otel/otelcol-<sha256 of builder-config.yaml>/otelcol-openrouter
# and is reused as long as the manifest has not changed. The builder itself is installed with `go install` into
# the same cache. Go's module and build caches (about 3 GB for this build) live in the build's temporary
# directory and are deleted with it, so a machine keeps only the builder and the binary (about 60 MB).
# Set OTELCOL_KEEP_GO_CACHES=1 to use Go's own caches (GOMODCACHE, GOCACHE) instead and keep them.
# Needs only Go (the version the manifest's modules require, 1.26 for v0.161.0) and the Go module proxy.
#
# Environment:
#   OTELCOL_BUILDER_CONFIG  manifest to build (default: collector-config/builder-config.yaml)
#   OTELCOL_FORCE_BUILD=1   rebuild even when the cached binary exists
set -euo pipefail

BUILDER_VERSION="v0.161.0" # keep equal to the collector release pinned in builder-config.yaml
BINARY_NAME="otelcol-openrouter" # keep equal to dist.name in builder-config.yaml

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
manifest="${OTELCOL_BUILDER_CONFIG:-$repo_root/collector-config/builder-config.yaml}"
manifest="$(cd "$(dirname "$manifest")" && pwd)/$(basename "$manifest")"

log() { printf 'build-collector: %s\n' "$*" >&2; }

if ! command -v go >/dev/null 2>&1; then
  if [ -x /usr/local/go/bin/go ]; then
    PATH="/usr/local/go/bin:$PATH"
  else
    log "Go is required to build the collector and was not found on PATH"
    exit 1
  fi
fi

digest="$(sha256sum "$manifest" | cut -d' ' -f1)"
cache_root="${XDG_CACHE_HOME:-$HOME/.cache}/openrouter-otel"
out_dir="$cache_root/otelcol-$digest"
binary="$out_dir/$BINARY_NAME"
mkdir -p "$cache_root"

# One build at a time per cache (test.sh and a pytest fixture may both ask).
exec 9>"$cache_root/build.lock"
flock 9

if [ -x "$binary" ] && [ "${OTELCOL_FORCE_BUILD:-0}" != "1" ]; then
  log "reusing $binary"
  printf '%s\n' "$binary"
  exit 0
fi

work="$(mktemp -d "$cache_root/build-$digest.XXXXXX")"
trap 'chmod -R u+w "$work" 2>/dev/null; rm -rf "$work"' EXIT
if [ "${OTELCOL_KEEP_GO_CACHES:-0}" != "1" ]; then
  export GOMODCACHE="$work/go-mod" GOCACHE="$work/go-build" GOFLAGS="${GOFLAGS:+$GOFLAGS }-modcacherw"
fi

builder_bin_dir="$cache_root/ocb-$BUILDER_VERSION"
builder="$builder_bin_dir/builder"
if [ ! -x "$builder" ]; then
  log "installing the Collector Builder $BUILDER_VERSION into $builder_bin_dir"
  GOBIN="$builder_bin_dir" go install "go.opentelemetry.io/collector/cmd/builder@$BUILDER_VERSION" >&2
fi

# The manifest carries no output path (it belongs to this machine's cache, not to the repo): add one.
awk -v out="$work/dist" '{ print } /^dist:[[:space:]]*$/ { print "  output_path: " out }' "$manifest" >"$work/builder-config.yaml"

log "building $BINARY_NAME from $manifest (go $(go env GOVERSION), $(nproc) cores); a cold build takes several minutes"
start=$(date +%s)
"$builder" --config="$work/builder-config.yaml" --ldflags="-s -w" >&2
log "built in $(($(date +%s) - start)) s"

rm -rf "$out_dir"
mkdir -p "$out_dir.partial"
cp "$work/dist/$BINARY_NAME" "$out_dir.partial/$BINARY_NAME"
cp "$manifest" "$out_dir.partial/builder-config.yaml"
mv "$out_dir.partial" "$out_dir"
log "installed $binary"
printf '%s\n' "$binary"
