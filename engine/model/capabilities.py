"""What this interpreter can run: `bpy`, `ocp` (OpenCascade), a headless `browser`, and whether
its Blender can `denoise`.

Detection looks for the modules without importing them (importing bpy or OCP costs seconds);
`denoise` is known only once bpy is loaded (inside Blender, or a worker's verified report).
"""

from __future__ import annotations

import functools
import importlib.util
import shutil
import sys

from .vocabulary import Capability

BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")


def _importable(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False


OCP_HINT = ("run `hartomat blender-deps --blender BLENDER -o DIR` and start the worker with --deps DIR "
            "(or pip install cadquery-ocp-novtk)")


def _ocp_problem(verify: bool) -> str | None:
    if not _importable("OCP"):
        return f"no module named OCP; {OCP_HINT}"
    if verify:
        try:
            import OCP  # noqa: F401
        except ImportError as exc:
            return f"OCP does not import ({exc}); {OCP_HINT}"
    return None


DENOISE_UNKNOWN = "not known until bpy is loaded"


def denoiser_problem(verify: bool = False) -> str | None:
    """None when this Blender's Cycles has OpenImageDenoise; else why not. Without `verify` a
    process that has not loaded bpy yet is not asked (that would load Blender)."""
    if not _importable("bpy"):
        return "no module named bpy"
    if sys.modules.get("bpy") is None and not verify:
        return DENOISE_UNKNOWN
    import bpy  # noqa: F401 - loads Cycles' _cycles module

    try:
        import _cycles  # type: ignore[import-not-found]
    except ImportError:
        return "this Blender has no Cycles"
    if not getattr(_cycles, "with_openimagedenoise", False):
        return ("this Blender's Cycles was built without OpenImageDenoise (Debian's 4.3): stills render "
                "without a denoiser, at more samples")
    return None


def capability_report(verify: bool = False) -> dict[Capability, str | None]:
    """Each capability: None when this interpreter has it, else why not and what to do. With
    `verify`, OCP is imported (about a second: a worker pays it once, at start)."""
    return {
        Capability.BPY: None if _importable("bpy") else "no module named bpy; run the worker inside Blender "
                                               "(blender -b -P scripts/farm_worker.py) or pip install bpy",
        Capability.OCP: _ocp_problem(verify),
        Capability.BROWSER: None if any(shutil.which(name) for name in BROWSERS)
        else f"no headless browser on PATH (looked for {', '.join(BROWSERS)})",
        Capability.DENOISE: denoiser_problem(verify),
    }


@functools.lru_cache(maxsize=1)
def detect_capabilities() -> frozenset[str]:
    return frozenset(name for name, problem in capability_report().items() if problem is None)


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
