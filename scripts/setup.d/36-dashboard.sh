#!/usr/bin/env bash
# The farm dashboard served at / by hartomat serve: npm ci in tools/dashboard (Preact, htm,
# esbuild, and playwright-core for the browser tests), then an esbuild build of
# tools/dashboard/src into server_bridge/dashboard/app.js and app.css (package data of the
# server). Skips whatever is already current: node_modules newer than package-lock.json, and
# a bundle newer than every source. The 3D view takes three.js from tools/web (35-threejs.sh).
set -euo pipefail
source "$(dirname "$0")/../lib/apt.sh"
cd "$(dirname "$0")/../.."
DIR=tools/dashboard
BUNDLE=server_bridge/dashboard/app.js  # with app.css and glb.js (the 3D view: three.js and tools/web/scene.js)
ensure_npm dashboard
npm_ci_if_stale dashboard "$DIR" preact
stale=0
[ -f "$BUNDLE" ] && [ -f server_bridge/dashboard/app.css ] && [ -f server_bridge/dashboard/glb.js ] || stale=1
for source in "$DIR"/src/* "$DIR/package-lock.json" tools/web/scene.js; do
  [ "$source" -nt "$BUNDLE" ] && stale=1
done
if [ "$stale" = "1" ]; then
  echo "[dashboard] building $BUNDLE"
  (cd "$DIR" && npm run --silent build)
fi
