"""Add-on preferences: the queue server (URL, token), the deps folder (OCP for this Blender's
Python, from `hartomat blender-deps`), the helper interpreter, auto-validation."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

import bpy

BUILD_INFO = Path(__file__).with_name("build_info.json")


def default_helper_python() -> str:
    """The README set-up's interpreter: $HARTOMAT_HELPER_PYTHON, the repo's .venv (running from
    the repo), or the one recorded when the extension was built."""
    if os.environ.get("HARTOMAT_HELPER_PYTHON"):
        return os.environ["HARTOMAT_HELPER_PYTHON"]
    repo_venv = Path(__file__).resolve().parent.parent / ".venv" / "bin" / "python"
    if repo_venv.exists():
        return str(repo_venv)
    if BUILD_INFO.exists():
        return str(json.loads(BUILD_INFO.read_text()).get("helper_python", ""))
    return sys.executable if "bpy" not in sys.modules else ""


def deps_problem(folder: str) -> str:
    """What is wrong with the deps folder ('' when fine or unset): missing, or for another Python."""
    from .engine_link import engine_module

    if not folder:
        return ""
    try:
        engine_module("render.blender_deps").check_folder(bpy.path.abspath(folder))
    except engine_module("errors").HartomatError as exc:
        return str(exc)
    return ""


def use_deps_folder(folder: str) -> str:
    """Put the deps folder first on sys.path, so OCP imports inside Blender and CAD nodes run
    here; returns the problem ('' when fine)."""
    from .engine_link import engine_module

    problem = deps_problem(folder)
    path = bpy.path.abspath(folder) if folder else ""
    if path and not problem and path not in sys.path:
        sys.path.insert(0, path)
        engine_module("model.capabilities").detect_capabilities.cache_clear()
    return problem


def _deps_changed(self: Any, context: Any) -> None:
    problem = use_deps_folder(self.deps_folder)
    if problem:
        print(f"HartOMat: {problem}", file=sys.stderr)


class HartomatPreferences(bpy.types.AddonPreferences):
    bl_idname = __package__

    server_url: bpy.props.StringProperty(
        name="Queue Server URL", default="", description="HartOMat queue server, e.g. http://farm:8470")
    server_token: bpy.props.StringProperty(
        name="Token", default="", subtype="PASSWORD", description="API token for the queue server")
    deps_folder: bpy.props.StringProperty(
        name="Dependencies Folder", subtype="DIR_PATH", default=os.environ.get("HARTOMAT_WORKER_DEPS", ""),
        update=_deps_changed,
        description="Folder made by `hartomat blender-deps --blender BLENDER -o DIR`: OCP for this Blender's "
                    "Python, so CAD nodes run inside Blender instead of the helper interpreter")
    helper_python: bpy.props.StringProperty(
        name="Helper Interpreter", subtype="FILE_PATH", default=default_helper_python(),
        description="Python with the HartOMat project and OCP installed; runs CAD nodes when OCP does not "
                    "import inside Blender")
    auto_validate: bpy.props.BoolProperty(
        name="Validate on Change", default=True,
        description="Validate edited workflows a moment after each change (the editor only)")

    def draw(self, context: Any) -> None:
        layout = self.layout
        box = layout.box()
        box.label(text="Queue Server", icon="URL")
        box.prop(self, "server_url")
        box.prop(self, "server_token")
        box = layout.box()
        box.label(text="Local Runs", icon="CONSOLE")
        box.prop(self, "deps_folder")
        problem = deps_problem(self.deps_folder)
        if problem:
            box.label(text=problem, icon="ERROR")
        box.prop(self, "helper_python")
        box.prop(self, "auto_validate")


def addon_prefs(context: Any = None) -> Any:
    context = context or bpy.context
    addon = context.preferences.addons.get(__package__)
    return addon.preferences if addon else None


CLASSES = (HartomatPreferences,)
