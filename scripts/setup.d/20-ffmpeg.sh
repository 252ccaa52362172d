#!/usr/bin/env bash
# ffmpeg and ffprobe (Debian's `ffmpeg` package) for `hartomat compare` on videos: ffprobe reads
# frame count and fps, ffmpeg decodes sampled frames. Fast no-op when both are on PATH.
set -euo pipefail
if command -v ffmpeg >/dev/null 2>&1 && command -v ffprobe >/dev/null 2>&1; then
  exit 0
fi
if [ "$(id -u)" != "0" ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "[ffmpeg] not installed and not root with apt-get: video comparison will report bad input"
  exit 0
fi
echo "[ffmpeg] installing Debian's ffmpeg"
export DEBIAN_FRONTEND=noninteractive
apt-get -o DPkg::Lock::Timeout=300 install -y --no-install-recommends ffmpeg >/dev/null 2>&1 || {
  apt-get -o DPkg::Lock::Timeout=300 update -qq >/dev/null 2>&1
  apt-get -o DPkg::Lock::Timeout=300 install -y --no-install-recommends ffmpeg >/dev/null
}
