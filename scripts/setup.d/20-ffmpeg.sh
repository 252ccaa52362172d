#!/usr/bin/env bash
# ffmpeg and ffprobe (Debian's `ffmpeg` package) for `hartomat compare` on videos: ffprobe reads
# frame count and fps, ffmpeg decodes sampled frames. Fast no-op when both are on PATH.
set -euo pipefail
source "$(dirname "$0")/../lib/apt.sh"
if command -v ffmpeg >/dev/null 2>&1 && command -v ffprobe >/dev/null 2>&1; then
  exit 0
fi
if ! can_apt; then
  echo "[ffmpeg] not installed and not root with apt-get: video comparison will report bad input"
  exit 0
fi
echo "[ffmpeg] installing Debian's ffmpeg"
apt_install ffmpeg
