#!/usr/bin/env bash
# The bundled sample product for the README's first command: examples/bearing.step, a ball
# bearing built with OCP by engine/cad/samples.py (generated, not committed). Skips when present
# and newer than its generator.
set -euo pipefail
cd "$(dirname "$0")/../.."
target=examples/bearing.step
if [ -s "$target" ] && [ "$target" -nt engine/cad/samples.py ]; then
  exit 0
fi
.venv/bin/python -c "
import sys
from pathlib import Path
from engine.cad.samples import make_bearing_step
make_bearing_step(Path(sys.argv[1]))
print('[sample] wrote', sys.argv[1])
" "$target"
