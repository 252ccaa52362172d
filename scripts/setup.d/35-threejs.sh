#!/usr/bin/env bash
# The three.js viewer bundle of threejs_render: npm ci in tools/web, then an esbuild build of
# tools/web/viewer.js (three + GLTFLoader + OrbitControls) into engine/web/viewer.bundle.js.
# Skips whatever is already current: node_modules newer than package-lock.json, and a bundle
# newer than its sources.
set -euo pipefail
source "$(dirname "$0")/../lib/apt.sh"
cd "$(dirname "$0")/../.."
WEB=tools/web
BUNDLE=engine/web/viewer.bundle.js
if ! command -v npm >/dev/null 2>&1; then
  if can_apt; then
    echo "[threejs] installing nodejs and npm"
    apt_install nodejs npm
  else
    echo "[threejs] npm not found and not root: cannot build $BUNDLE"; exit 1
  fi
fi
if [ ! -d "$WEB/node_modules/three" ] || [ "$WEB/package-lock.json" -nt "$WEB/node_modules/.package-lock.json" ]; then
  echo "[threejs] npm ci in $WEB"
  (cd "$WEB" && npm ci --no-audit --no-fund --loglevel=error)
fi
stale=0
[ -f "$BUNDLE" ] || stale=1
for source in "$WEB/viewer.js" "$WEB/package-lock.json"; do
  [ "$source" -nt "$BUNDLE" ] && stale=1
done
if [ "$stale" = "1" ]; then
  echo "[threejs] building $BUNDLE"
  (cd "$WEB" && npm run --silent build)
fi
