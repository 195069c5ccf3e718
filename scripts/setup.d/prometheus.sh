#!/usr/bin/env bash
# Prometheus (with promtool), Alertmanager (with amtool) and node-exporter from Debian's packages:
# tests/monitoring runs the real binaries (each test starts and stops its own processes on
# 127.0.0.1). Idempotent: nothing is done when the binaries are there. None of the packages'
# services is started here; where systemd runs, the packages' units are stopped and disabled.
set -euo pipefail

need=()
command -v prometheus >/dev/null && command -v promtool >/dev/null || need+=(prometheus)
command -v prometheus-alertmanager >/dev/null && command -v amtool >/dev/null \
  || need+=(prometheus-alertmanager)
command -v prometheus-node-exporter >/dev/null || need+=(prometheus-node-exporter)
if [ ${#need[@]} -eq 0 ]; then
  echo "prometheus, alertmanager, node-exporter: installed"
  exit 0
fi

SUDO=()
[ "$(id -u)" -eq 0 ] || SUDO=(sudo)
export DEBIAN_FRONTEND=noninteractive
# Without systemd (containers) the packages' postinst cannot start anything; policy-rc.d makes
# sure invoke-rc.d does not either.
policy=/usr/sbin/policy-rc.d
made_policy=0
if [ ! -e "$policy" ]; then
  printf '#!/bin/sh\nexit 101\n' | "${SUDO[@]}" tee "$policy" >/dev/null
  "${SUDO[@]}" chmod +x "$policy"
  made_policy=1
fi
trap '[ "$made_policy" -eq 0 ] || "${SUDO[@]}" rm -f "$policy"' EXIT
"${SUDO[@]}" apt-get update -qq
"${SUDO[@]}" apt-get install -y -qq --no-install-recommends "${need[@]}"
if [ -d /run/systemd/system ]; then
  for unit in prometheus prometheus-alertmanager prometheus-node-exporter; do
    "${SUDO[@]}" systemctl disable --now "$unit" >/dev/null 2>&1 || true
  done
fi
prometheus --version 2>&1 | head -1
prometheus-alertmanager --version 2>&1 | head -1
prometheus-node-exporter --version 2>&1 | head -1
