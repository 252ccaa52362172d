#!/usr/bin/env bash
# Wheels of a server-only install (`pip install ".[server]"`: no bpy, no OCP) for Python 3.11 and
# 3.13, in .cache/wheels/server-py3.X, so tests/test_install_profiles.py installs them offline.
# Skips a Python whose folder is newer than pyproject.toml.
set -euo pipefail
cd "$(dirname "$0")/../.."
for version in 3.11 3.13; do
  dest=.cache/wheels/server-py$version
  if [ -f "$dest/.complete" ] && [ "$dest/.complete" -nt pyproject.toml ]; then
    echo "[server-wheels] py$version up to date"
    continue
  fi
  echo "[server-wheels] downloading the server profile's wheels for Python $version"
  rm -rf "$dest"
  .venv/bin/python scripts/lib/server_requirements.py \
    | xargs .venv/bin/python -m pip download -q --disable-pip-version-check --only-binary=:all: \
        --python-version "$version" --dest "$dest"
  touch "$dest/.complete"
done
