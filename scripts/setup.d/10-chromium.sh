#!/usr/bin/env bash
# Headless Chromium for threejs_render snapshots (WebGL through SwiftShader, no GPU needed).
# Installs Debian's chromium when it is missing and we are root; otherwise says so and goes on:
# without a browser the node still writes the viewer page and reports the PNG as skipped.
set -uo pipefail
source "$(dirname "$0")/../lib/apt.sh"
if command -v chromium >/dev/null 2>&1; then
  exit 0
fi
if ! can_apt; then
  echo "[chromium] not installed and not root with apt-get: three.js snapshots will be skipped"
  exit 0
fi
echo "[chromium] installing Debian's chromium (about 480 MB)"
apt_install chromium 2>/dev/null || echo "[chromium] install failed: three.js snapshots will be skipped"
exit 0
