#!/usr/bin/env bash
# Install everything the test suite needs, from scratch and idempotently, then run it.
#   bash scripts/test.sh            # the whole suite (what CI runs)
#   bash scripts/test.sh -k sarif   # extra arguments go to pytest
# Needs only Python 3.11, pip, git and gcc; system packages and servers the tests use are
# installed by scripts/setup.d/*.sh and started by the tests themselves (on 127.0.0.1).
set -euo pipefail
cd "$(dirname "$0")/.."

PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
export PIP_DISABLE_PIP_VERSION_CHECK=1
# A portable llama.cpp build: pip caches the wheel it compiles, and a wheel built for this CPU's
# features (AVX-512, AMX) must not meet another CPU later (SIGILL).
export CMAKE_ARGS="${CMAKE_ARGS:--DGGML_NATIVE=OFF}"
.venv/bin/python -m pip install -q --upgrade pip setuptools wheel
# The CPU build of torch first (the eval extra needs it; a plain resolve would pull a CUDA build).
.venv/bin/pip install -q -r scripts/requirements-first.txt
.venv/bin/pip install -q -e '.[all]'

for script in scripts/setup.d/*.sh; do
  [ -e "$script" ] || continue
  echo "--- setup: $script"
  bash "$script"
done

echo "--- lint"
.venv/bin/ruff check .
.venv/bin/ruff format --check .
echo "--- the project passes its own gate"
.venv/bin/somatrace check .
echo "--- tests"
exec .venv/bin/python -m pytest "$@"
