#!/usr/bin/env bash
# Sets up HartOMat on a fresh Debian 12 machine with Python 3.11: a virtual environment with the
# project and its dependencies, then every step in scripts/setup.d/ (system packages, npm tools,
# templates, the sample STEP file). Safe to run again: each step skips what is already done.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3.11}
command -v "$PY" >/dev/null || PY=python3
if [ ! -x .venv/bin/python ]; then
  echo "[setup] creating .venv with $($PY --version)"
  "$PY" -m venv .venv
fi
if ! .venv/bin/python -c "import engine, bpy, OCP, pytest" >/dev/null 2>&1 || [ pyproject.toml -nt .venv/.installed ]; then
  echo "[setup] installing the project and its dependencies (bpy and OCP are about 1.4 GB the first time)"
  .venv/bin/python -m pip install -q --upgrade pip
  if .venv/bin/python -m pip show -q cadquery-ocp >/dev/null 2>&1; then
    # earlier set-ups installed the VTK build of OCP; both builds own the OCP folder
    echo "[setup] replacing cadquery-ocp (with VTK) by cadquery-ocp-novtk"
    .venv/bin/python -m pip uninstall -q -y cadquery-ocp vtk
  fi
  .venv/bin/python -m pip install -q -e ".[worker,test]"
  touch .venv/.installed
fi
for step in scripts/setup.d/*.sh; do
  [ -e "$step" ] || continue
  echo "[setup] $(basename "$step")"
  bash "$step"
done
echo "[setup] done"
