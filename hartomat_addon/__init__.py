"""HartOMat for Blender: author, validate, run and inspect render workflows as node graphs.

A thin layer: node classes are generated from the engine's registry; the tree maps to and from
the canonical workflow JSON; operators call the engine. No engine logic lives here.
"""

from __future__ import annotations

from typing import Any

import bpy

_REGISTERED: list[type] = []
_TIMERS: list[Any] = []


def _classes() -> list[type]:
    from . import ops_farm_runs, ops_io, ops_local_run, ops_run, ops_validate, panels, prefs, status_report
    from .nodes import node_classes
    from .sockets import socket_classes
    from .tree import HartomatWorkflowTree

    return [*prefs.CLASSES, *socket_classes(), HartomatWorkflowTree, *node_classes(), *ops_io.CLASSES,
            *ops_validate.CLASSES, *status_report.CLASSES, *ops_run.CLASSES, *ops_local_run.CLASSES, *ops_farm_runs.CLASSES,
            *panels.CLASSES]


def _menu_import(self: Any, context: Any) -> None:
    self.layout.operator("hartomat.import_json", text="HartOMat Workflow (.json)")


def running_version() -> tuple[int, ...]:
    return tuple(bpy.app.version)


def require_supported_blender(version: tuple[int, ...]) -> None:
    """Refuse a Blender older than the engine supports, naming both versions (HartomatError)."""
    from .engine_link import engine_module

    engine_module("render.blender_deps").check_blender_version(version, "the HartOMat add-on")


def register() -> None:
    from . import menus, ops_validate
    from .tree import _Registration

    require_supported_blender(running_version())
    _Registration.active = True
    try:
        for cls in _classes():
            bpy.utils.register_class(cls)
            _REGISTERED.append(cls)
    finally:
        _Registration.active = False
    menus.register()
    bpy.types.TOPBAR_MT_file_import.append(_menu_import)
    _use_deps_folder()
    if not bpy.app.background:
        bpy.app.timers.register(ops_validate.auto_validate, first_interval=1.0, persistent=True)
        _TIMERS.append(ops_validate.auto_validate)


def _use_deps_folder() -> None:
    """The deps folder of the preferences on sys.path from the start (OCP inside Blender)."""
    from .prefs import addon_prefs, use_deps_folder

    prefs = addon_prefs()
    problem = use_deps_folder(prefs.deps_folder) if prefs is not None else ""
    if problem:
        print(f"HartOMat: {problem}")


def unregister() -> None:
    from . import menus
    from .tree import _Registration

    for timer in _TIMERS:
        if bpy.app.timers.is_registered(timer):
            bpy.app.timers.unregister(timer)
    _TIMERS.clear()
    bpy.types.TOPBAR_MT_file_import.remove(_menu_import)
    menus.unregister()
    _Registration.active = True
    try:
        for cls in reversed(_REGISTERED):
            bpy.utils.unregister_class(cls)
    finally:
        _Registration.active = False
    _REGISTERED.clear()
