"""The farm worker inside an installed Blender 4.2+:
`blender -b -P scripts/farm_worker.py -- --server URL --token T --deps DIR`.

Runs the same loop as `hartomat worker` (server_bridge.worker) on Blender's own Python, the
whole graph (CAD and render nodes) in this one Blender process. The engine comes from this
repository; its dependencies (OCP, pydantic, requests) from, in order: `--deps DIR` (made by
`hartomat blender-deps --blender BLENDER -o DIR` for this Blender's Python), $HARTOMAT_WORKER_DEPS,
and the site-packages where Blender installs extension wheels (the HartOMat extension's bundle).
A Blender older than 4.2, or a deps folder built for another Python, is refused with both named.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def script_args() -> list[str]:
    return sys.argv[sys.argv.index("--") + 1:] if "--" in sys.argv else []


def deps_arg(args: list[str]) -> str:
    at = args.index("--deps") + 1 if "--deps" in args else len(args)
    return args[at] if at < len(args) else ""


def dependency_folders(args: list[str]) -> list[str]:
    folders = [deps_arg(args)]
    if os.environ.get("HARTOMAT_WORKER_DEPS"):
        folders.append(os.environ["HARTOMAT_WORKER_DEPS"])
    try:
        import bpy

        version = f"python{sys.version_info.major}.{sys.version_info.minor}"
        extensions = bpy.utils.user_resource("EXTENSIONS", path=f".local/lib/{version}/site-packages")
        folders.append(extensions)
    except Exception:  # not inside Blender, or no user folder: nothing to add
        pass
    return [f for f in folders if f and Path(f).is_dir()]


def check_host(args: list[str]) -> None:
    """HartomatError when this Blender is too old, or the deps folder is missing or for another Python."""
    import bpy

    from engine.render.blender_deps import check_blender_version, check_folder

    check_blender_version(tuple(bpy.app.version), "the HartOMat farm worker")
    if deps_arg(args):
        check_folder(deps_arg(args))
    print(f"farm_worker: Blender {bpy.app.version_string}, Python {sys.version.split()[0]}, "
          f"deps {deps_arg(args) or 'none'}", flush=True)


def main() -> int:
    args = script_args()
    for folder in reversed([str(REPO), *dependency_folders(args)]):
        if folder not in sys.path:
            sys.path.insert(0, folder)
    import argparse

    from engine.errors import HartomatError

    try:
        check_host(args)
    except HartomatError as exc:
        print(f"farm_worker: error: {exc}", file=sys.stderr, flush=True)
        return 2
    if "--deps" in args:
        at = args.index("--deps")
        del args[at:at + 2]
    from server_bridge.cli.cmd_worker import add_worker_options, start_worker

    parser = argparse.ArgumentParser(prog="blender -b -P scripts/farm_worker.py --",
                                     description="HartOMat farm worker inside Blender")
    add_worker_options(parser)
    options = parser.parse_args(args)
    try:
        return start_worker(options)
    except HartomatError as exc:
        print(f"farm_worker: error: {exc}", file=sys.stderr, flush=True)
        return 2


if __name__ == "__main__":
    code = main()
    sys.stdout.flush()
    if code:
        sys.exit(code)
