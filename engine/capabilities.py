"""What this interpreter can run: `bpy`, `ocp` (OpenCascade) and a headless `browser`.

Detection looks for the modules without importing them (importing bpy or OCP costs seconds).
"""

from __future__ import annotations

import functools
import importlib.util
import shutil
import sys

BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")


def _importable(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False


@functools.lru_cache(maxsize=1)
def detect_capabilities() -> frozenset[str]:
    found = set()
    if _importable("bpy"):
        found.add("bpy")
    if _importable("OCP"):
        found.add("ocp")
    if any(shutil.which(name) for name in BROWSERS):
        found.add("browser")
    return frozenset(found)


def missing_capabilities(needed: tuple[str, ...] | list[str], available: frozenset[str]) -> list[str]:
    return [c for c in needed if c not in available]


def blender_binary() -> str:
    """The Blender executable hosting this Python; empty in the bpy module and outside Blender."""
    bpy = sys.modules.get("bpy")
    return str(getattr(getattr(bpy, "app", None), "binary_path", "") or "")


def host_interpreter() -> str:
    """What runs this process's nodes, as run records name it: the hosting Blender executable,
    else the Python executable."""
    return blender_binary() or sys.executable


def inside_blender_executable() -> bool:
    """True in a Blender executable's Python (not the bpy module): a process spawned from here
    starts a bare Python without bpy and re-runs Blender's `-P` script, so nodes run in-process."""
    return bool(blender_binary())
