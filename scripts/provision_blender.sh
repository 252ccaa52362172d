#!/usr/bin/env bash
# Provisions a real Blender executable (Debian trixie's blender 4.3, Python 3.13) on Debian 12:
# Debian 12 only packages Blender 3.4, so it lives in a trixie chroot made with debootstrap,
# with Xvfb, Mesa, xauth, x11-apps and netpbm for GUI tests and screenshots. Cached: when the
# chroot already has blender, this does nothing. Writes the wrapper scripts/blender-chroot
# (`scripts/blender-chroot blender -b ...`) which bind-mounts what blender needs, runs the
# command inside, and unmounts afterwards.
# Location: $HARTOMAT_BLENDER_ROOT (default /var/cache/hartomat/blender-trixie). Needs root.
set -euo pipefail
ROOT=${HARTOMAT_BLENDER_ROOT:-/var/cache/hartomat/blender-trixie}
# python3-numpy: official Blender builds bundle numpy (glb_bbox uses it); Debian packages it apart.
PACKAGES="blender python3-numpy xvfb xauth libgl1-mesa-dri libglx-mesa0 libegl-mesa0 x11-apps netpbm"

if [ -x "$ROOT/usr/bin/blender" ] && [ -x "$ROOT/usr/bin/Xvfb" ] && [ -x "$ROOT/usr/bin/xwd" ] \
   && [ -d "$ROOT/usr/lib/python3/dist-packages/numpy" ]; then
  echo "[blender] already provisioned in $ROOT"
  exit 0
fi
if [ "$(id -u)" != 0 ]; then
  echo "[blender] provisioning needs root (debootstrap, chroot); skipped" >&2
  exit 0
fi
mirror() {
  # The Debian mirror apt already uses (deb822 or one-line sources), else the default.
  local url
  url=$(grep -hoE '(URIs:|deb) +https?://[^ ]+/debian/?' /etc/apt/sources.list /etc/apt/sources.list.d/* \
        2>/dev/null | grep -v security | head -1 | awk '{print $2}') || true
  echo "${url:-http://deb.debian.org/debian}"
}
command -v debootstrap >/dev/null || { apt-get update -qq; apt-get install -y -qq debootstrap >/dev/null; }
mkdir -p "$(dirname "$ROOT")"
if [ ! -x "$ROOT/usr/bin/apt-get" ]; then
  echo "[blender] debootstrap trixie into $ROOT (about 20 s)"
  rm -rf "$ROOT.partial"
  debootstrap --variant=minbase trixie "$ROOT.partial" "$(mirror)" >/dev/null
  mv "$ROOT.partial" "$ROOT"
fi
cp /etc/resolv.conf "$ROOT/etc/resolv.conf"
ln -sf ../proc/self/mounts "$ROOT/etc/mtab"
echo "[blender] installing blender 4.3 + Xvfb + Mesa in the chroot (about 25 s)"
"$(dirname "$0")/blender-chroot" sh -c "apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
  apt-get install -y -qq --no-install-recommends $PACKAGES >/dev/null"
"$(dirname "$0")/blender-chroot" blender -b --version | head -1
