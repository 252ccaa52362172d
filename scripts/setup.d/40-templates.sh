#!/usr/bin/env bash
# Render templates and the built-in material library: builds engine/templates/*.blend from code
# when one is missing or older than the code that makes it (scripts/build_templates.py,
# engine/render/blender/studio.py, the index; engine/render/materials.py, engine/render/blender/material_library.py).
set -euo pipefail
cd "$(dirname "$0")/../.."
dir=engine/templates
sources=(scripts/build_templates.py engine/render/blender/studio.py "$dir/templates.json" engine/render/materials.py
         engine/render/blender/material_library.py)
stale=0
for blend in materials.blend $(.venv/bin/python -c "import json; print(' '.join(t['file'] for t in json.load(open('$dir/templates.json'))['templates']))"); do
  if [ ! -s "$dir/$blend" ]; then stale=1; fi
  for src in "${sources[@]}"; do
    if [ "$src" -nt "$dir/$blend" ]; then stale=1; fi
  done
done
if [ "$stale" = 1 ]; then
  out=$(.venv/bin/python scripts/build_templates.py 2>&1) || { echo "$out" >&2; echo "template build failed" >&2; exit 1; }
  echo "$out" | grep '^built'
else
  echo "templates up to date"
fi
