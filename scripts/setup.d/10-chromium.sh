#!/usr/bin/env bash
# Headless Chromium for threejs_render snapshots (WebGL through SwiftShader, no GPU needed).
# Installs Debian's chromium when it is missing and we are root; otherwise says so and goes on:
# without a browser the node still writes the viewer page and reports the PNG as skipped.
set -uo pipefail
if command -v chromium >/dev/null 2>&1; then
  exit 0
fi
if [ "$(id -u)" != "0" ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "[chromium] not installed and not root with apt-get: three.js snapshots will be skipped"
  exit 0
fi
echo "[chromium] installing Debian's chromium (about 480 MB)"
export DEBIAN_FRONTEND=noninteractive
apt-get -o DPkg::Lock::Timeout=300 install -y --no-install-recommends chromium >/dev/null 2>&1 || {
  apt-get -o DPkg::Lock::Timeout=300 update -qq >/dev/null 2>&1
  apt-get -o DPkg::Lock::Timeout=300 install -y --no-install-recommends chromium >/dev/null 2>&1
} || echo "[chromium] install failed: three.js snapshots will be skipped"
exit 0
