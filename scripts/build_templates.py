"""Builds the render templates (.blend) listed in engine/templates/templates.json, and the
built-in material library (materials.blend), from code.

Each template is the studio rig of `engine.render.blender.studio` in one style, saved as its own
.blend by `save_studio`, so the shipped templates are reproducible rather than binary blobs of
unknown origin; the material library is `engine.render.materials` built by
`engine.render.blender.material_library`. A Blender older than the one that ran this script builds its
own copies on first need (`engine.render.template_library.readable_template`).
Usage: .venv/bin/python scripts/build_templates.py [--out DIR] [--only NAME ...]
"""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from engine.render.blender.studio import save_studio  # noqa: E402
from engine.render.template_library import BUNDLED_DIR, INDEX, TemplateLibrary  # noqa: E402

MATERIALS_FILE = "materials.blend"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=BUNDLED_DIR, help="library folder (default: engine/templates)")
    parser.add_argument("--only", nargs="*", default=[], help="template names to build (default: all)")
    args = parser.parse_args(argv)
    library = TemplateLibrary.load(BUNDLED_DIR)
    if args.out.resolve() != BUNDLED_DIR.resolve():
        args.out.mkdir(parents=True, exist_ok=True)
        shutil.copy(BUNDLED_DIR / INDEX, args.out / INDEX)
    for entry in library.templates:
        if args.only and entry.name not in args.only:
            continue
        save_studio(args.out / entry.file, entry.style, entry.name, entry.camera)
        print(f"built {args.out / entry.file}")
    if not args.only or "materials" in args.only:
        print(f"built {build_material_library(args.out / MATERIALS_FILE)}")
    return 0


def build_material_library(target: Path) -> Path:
    """The built-in material library: every `engine.render.materials` preset as a named material."""
    import bpy

    from engine.render.blender.material_library import build_library

    bpy.ops.wm.read_factory_settings(use_empty=True)
    return build_library(target)


if __name__ == "__main__":
    raise SystemExit(main())
