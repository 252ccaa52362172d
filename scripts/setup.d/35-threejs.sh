#!/usr/bin/env bash
# The three.js viewer bundle of threejs_render: npm ci in tools/web, then an esbuild build of
# tools/web/viewer.js (three + GLTFLoader + OrbitControls, the scene in scene.js, shared with the
# dashboard) into engine/chromium/viewer.bundle.js.
# Skips whatever is already current: node_modules newer than package-lock.json, and a bundle
# newer than its sources.
set -euo pipefail
source "$(dirname "$0")/../lib/apt.sh"
cd "$(dirname "$0")/../.."
WEB=tools/web
BUNDLE=engine/chromium/viewer.bundle.js
ensure_npm threejs
npm_ci_if_stale threejs "$WEB" three
stale=0
[ -f "$BUNDLE" ] || stale=1
for source in "$WEB/viewer.js" "$WEB/scene.js" "$WEB/package-lock.json"; do
  [ "$source" -nt "$BUNDLE" ] && stale=1
done
if [ "$stale" = "1" ]; then
  echo "[threejs] building $BUNDLE"
  (cd "$WEB" && npm run --silent build)
fi
