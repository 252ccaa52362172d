"""A fresh render scene per node, without touching the user's own scenes.

One warm Blender process serves many jobs (and a desktop Blender keeps the TD's file open), so a
render node never opens a main file: it appends the template's scene under a fixed name, makes
it the window's scene, and removes the previous render scene and its orphaned data first.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

RENDER_SCENE = "HartOMat_Render"


def _window(bpy: Any) -> Any:
    if bpy.context.window is not None:
        return bpy.context.window
    windows = bpy.context.window_manager.windows if bpy.context.window_manager else []
    return windows[0] if len(windows) else None


def activate(scene: Any) -> None:
    """Make `scene` the context scene, so operators (the glTF importer) work in it."""
    import bpy

    window = _window(bpy)
    if window is not None:
        window.scene = scene


def reset() -> None:
    """Remove the previous render scene and everything only it used."""
    import bpy

    old = bpy.data.scenes.get(RENDER_SCENE)
    if old is None:
        return
    if len(bpy.data.scenes) == 1:
        bpy.data.scenes.new("Scene")
    if bpy.context.scene == old:
        activate(next(s for s in bpy.data.scenes if s != old))
    for obj in list(old.collection.all_objects):
        bpy.data.objects.remove(obj, do_unlink=True)
    bpy.data.scenes.remove(old)
    bpy.data.orphans_purge(do_local_ids=True, do_linked_ids=True, do_recursive=True)


def _append_scene(bpy: Any, template: Path) -> Any:
    with bpy.data.libraries.load(str(template), link=False) as (source, target):
        if not source.scenes:
            raise ValueError(f"template {template} has no scene")
        target.scenes = [source.scenes[0]]
    return target.scenes[0]


def new_render_scene(template: Path | None = None, style: str = "studio_white") -> Any:
    """The scene a render node works in: the template's scene appended, or the built-in studio."""
    import bpy

    from .studio import build_studio

    reset()
    if template is not None:
        scene = _append_scene(bpy, template)
        scene.name = RENDER_SCENE
    else:
        scene = bpy.data.scenes.new(RENDER_SCENE)
        build_studio(scene, style)
    activate(scene)
    return scene
