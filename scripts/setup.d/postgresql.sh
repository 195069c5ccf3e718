#!/usr/bin/env bash
# PostgreSQL 15 from Debian's packages: tests/deploy starts a throw-away cluster of its own
# (initdb in a temp dir, on a free loopback port; tests/deploy/conftest.py), so only the
# binaries are needed. Idempotent: nothing is done when initdb is there. The package's own
# cluster service is not started here; where systemd runs, it is stopped and disabled.
set -euo pipefail

PG_BIN=${SOMATRACE_PG_BIN:-/usr/lib/postgresql/15/bin}
if [ -x "$PG_BIN/initdb" ] && command -v runuser >/dev/null; then
  echo "postgresql 15: installed ($PG_BIN)"
  exit 0
fi

SUDO=()
[ "$(id -u)" -eq 0 ] || SUDO=(sudo)
export DEBIAN_FRONTEND=noninteractive
# Without systemd (containers) the package's postinst cannot start anything; policy-rc.d makes
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
"${SUDO[@]}" apt-get install -y -qq --no-install-recommends postgresql-15 util-linux
if [ -d /run/systemd/system ]; then
  "${SUDO[@]}" systemctl disable --now postgresql >/dev/null 2>&1 || true
fi
"$PG_BIN/initdb" --version
