"""`hartomat blender-deps --blender BLENDER -o DIR`: the engine's dependencies for that Blender's Python."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("blender-deps",
                            help="install OCP, pydantic and requests for an installed Blender's Python into DIR")
    parser.add_argument("--blender", required=True,
                        help="the Blender executable, or a command line that starts it (e.g. 'scripts/blender-chroot "
                             "blender')")
    parser.add_argument("-o", "--out", required=True, type=Path, help="the folder to install into (DIR)")
    parser.add_argument("--wheelhouse", type=Path, default=os.environ.get("HARTOMAT_WHEELHOUSE") or None,
                        help="install only from this folder of wheels, offline (default $HARTOMAT_WHEELHOUSE; "
                             "unset: from the package index)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..render.blender_deps import PACKAGES, install, probe_blender, version_text

    info = probe_blender(args.blender)
    target = install(info, args.out.resolve(), args.wheelhouse)
    print(f"Blender {version_text(info.blender)}, Python {info.python_text}: installed "
          f"{', '.join(PACKAGES)} into", file=sys.stderr, flush=True)
    print(target)  # alone on stdout: DIR=$(hartomat blender-deps ...)
    return 0
