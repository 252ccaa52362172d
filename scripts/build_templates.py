"""Builds the render templates (.blend) listed in engine/templates/templates.json, from code.

Each template is the studio rig of `engine.blender.studio` in one style, saved as its own
.blend by `save_studio`, so the shipped templates are reproducible rather than binary blobs of
unknown origin. A Blender older than the one that ran this script builds its own copies on
first need (`engine.template_library.readable_template`).
Usage: .venv/bin/python scripts/build_templates.py [--out DIR] [--only NAME ...]
"""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from engine.blender.studio import save_studio  # noqa: E402
from engine.template_library import BUNDLED_DIR, INDEX, TemplateLibrary  # noqa: E402


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
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
