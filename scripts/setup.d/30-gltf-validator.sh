#!/usr/bin/env bash
# The Khronos glTF Validator (npm gltf-validator) for the CAD tests: npm ci in tools/node, whose
# validate_gltf.mjs checks every GLB the tests write. Skips when node_modules is current.
set -euo pipefail
source "$(dirname "$0")/../lib/apt.sh"
cd "$(dirname "$0")/../.."
DIR=tools/node
if ! command -v npm >/dev/null 2>&1; then
  if can_apt; then
    echo "[gltf-validator] installing nodejs and npm"
    apt_install nodejs npm
  else
    echo "[gltf-validator] npm not found and not root: the glTF validation tests will fail"; exit 1
  fi
fi
if [ ! -d "$DIR/node_modules/gltf-validator" ] || [ "$DIR/package-lock.json" -nt "$DIR/node_modules/.package-lock.json" ]; then
  echo "[gltf-validator] npm ci in $DIR"
  (cd "$DIR" && npm ci --no-audit --no-fund --loglevel=error)
fi
