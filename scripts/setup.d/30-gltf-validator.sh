#!/usr/bin/env bash
# The Khronos glTF Validator (npm gltf-validator) for the CAD tests: npm ci in tools/node, whose
# validate_gltf.mjs checks every GLB the tests write. Skips when node_modules is current.
set -euo pipefail
source "$(dirname "$0")/../lib/apt.sh"
cd "$(dirname "$0")/../.."
DIR=tools/node
ensure_npm gltf-validator
npm_ci_if_stale gltf-validator "$DIR" gltf-validator
