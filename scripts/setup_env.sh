#!/usr/bin/env bash
# Create (or reuse) the project's virtual environment and install gopolicy into it.
# Sourced by run.sh and test.sh; safe to run again (a no-op when up to date).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${GOPOLICY_VENV:-$ROOT/.venv}"
PY="${PYTHON:-python3}"
# The CPU wheel of torch 2.13.0 lies on this project's machines; a GPU user sets
# TORCH_SPEC="torch" (or a CUDA index) to get the CUDA build instead.
TORCH_SPEC="${TORCH_SPEC:-torch==2.13.0}"
if [ ! -x "$VENV/bin/python" ]; then
    echo "[setup] creating virtual environment $VENV" >&2
    "$PY" -m venv "$VENV"
fi
stamp="$VENV/.gopolicy-installed"
if [ ! -f "$stamp" ] || [ "$ROOT/pyproject.toml" -nt "$stamp" ]; then
    echo "[setup] installing $TORCH_SPEC and gopolicy (editable) into $VENV" >&2
    "$VENV/bin/python" -m pip install -q --disable-pip-version-check "$TORCH_SPEC" 2>&1 | grep -v "is ignored: it is neither" >&2 || true
    "$VENV/bin/python" -m pip install -q --disable-pip-version-check -e "$ROOT[test]" 2>&1 | grep -v "is ignored: it is neither" >&2 || true
    "$VENV/bin/python" -c "import gopolicy, cnn_core, torch, numba, sgfmill" || { echo "[setup] install failed" >&2; exit 1; }
    touch "$stamp"
fi
export PATH="$VENV/bin:$PATH"
