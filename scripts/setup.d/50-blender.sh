#!/usr/bin/env bash
# Real Blender for the add-on tests: Debian trixie's blender 4.3 in a chroot (about 80 s and
# 1.4 GB the first time; nothing when already there). See scripts/provision_blender.sh.
set -euo pipefail
cd "$(dirname "$0")/../.."
bash scripts/provision_blender.sh
