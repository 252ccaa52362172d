#!/usr/bin/env bash
# Wheels of the engine's dependencies for Blender 4.3's Python 3.13 (engine/render/blender_deps.py
# PACKAGES: OCP without VTK, pydantic, requests) into build/wheelhouse, so the tests that make a
# deps folder with `hartomat blender-deps --wheelhouse build/wheelhouse` need no network.
set -euo pipefail
cd "$(dirname "$0")/../.."
packages=$(.venv/bin/python -c "from engine.render.blender_deps import PACKAGES; print(' '.join(PACKAGES))")
stamp=build/wheelhouse/.fetched-cp313
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$packages" ]; then
  echo "wheelhouse up to date"
  exit 0
fi
mkdir -p build/wheelhouse
.venv/bin/python -m pip download -q --dest build/wheelhouse --python-version 3.13 --implementation cp \
  --only-binary=:all: $packages
echo "$packages" > "$stamp"
echo "fetched $(ls build/wheelhouse | grep -c '\.whl$') wheels into build/wheelhouse"
