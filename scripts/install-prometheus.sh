#!/usr/bin/env bash
# Make Debian's `prometheus` package (which also ships `promtool`) available for the end-to-end tests and
# print the absolute path of the `prometheus` binary on stdout (progress goes to stderr).
#
# Installs only when `prometheus` or `promtool` is missing: `apt-get update`, then a noninteractive install
# that does not start the packaged service (the tests run their own Prometheus on a free port).
set -euo pipefail

log() { printf 'install-prometheus: %s\n' "$*" >&2; }

# Also Debian's prometheus-alertmanager: the Prometheus alerting rules are proven delivering through it.
if ! command -v prometheus >/dev/null 2>&1 || ! command -v promtool >/dev/null 2>&1 \
    || ! command -v prometheus-alertmanager >/dev/null 2>&1; then
  sudo=""
  if [ "$(id -u)" != "0" ]; then
    if command -v sudo >/dev/null 2>&1; then
      sudo="sudo"
    else
      log "prometheus is missing and installing it needs root (or sudo)"
      exit 1
    fi
  fi
  # Keep the package's maintainer scripts from starting the service: policy-rc.d answering 101 tells
  # invoke-rc.d "not allowed". Only put in place (and removed) if the machine has none of its own.
  policy=/usr/sbin/policy-rc.d
  own_policy=0
  if [ ! -e "$policy" ]; then
    own_policy=1
    printf '#!/bin/sh\nexit 101\n' | $sudo tee "$policy" >/dev/null
    $sudo chmod 755 "$policy"
    trap '$sudo rm -f "$policy"' EXIT
  fi
  log "installing Debian's prometheus and prometheus-alertmanager packages"
  $sudo apt-get update -qq >&2
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends prometheus prometheus-alertmanager >&2
  if [ "$own_policy" = 1 ]; then
    $sudo rm -f "$policy"
    trap - EXIT
  fi
fi

# Debian's packages also enable (and, without policy-rc.d, start) system-wide `prometheus` (:9090) and
# `prometheus-alertmanager` (:9093) services. The tests never use them: stop them and take them out of the boot
# sequence (systemd and sysvinit alike).
disable_service() {
  local service="$1"
  local sudo=""
  if [ "$(id -u)" != "0" ]; then
    command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null || { log "not root: leaving the $service service as it is"; return 0; }
    sudo="sudo -n"
  fi
  if [ -d /run/systemd/system ] && command -v systemctl >/dev/null 2>&1; then
    $sudo systemctl disable --now "$service.service" >/dev/null 2>&1 || true
  fi
  if [ -x "/etc/init.d/$service" ]; then
    $sudo "/etc/init.d/$service" stop >/dev/null 2>&1 || true
    if command -v update-rc.d >/dev/null 2>&1; then
      $sudo update-rc.d "$service" disable >/dev/null 2>&1 || true
    fi
  fi
}
for service in prometheus prometheus-alertmanager; do
  if [ -e "/etc/init.d/$service" ] || [ -e "/lib/systemd/system/$service.service" ]; then
    disable_service "$service"
  fi
done

for tool in prometheus promtool prometheus-alertmanager; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    log "$tool is still missing after the install"
    exit 1
  fi
done
log "$(prometheus --version 2>&1 | head -n1)"
command -v prometheus
