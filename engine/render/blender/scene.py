"""A fresh render scene per node, without touching the user's own scenes.

One warm Blender process serves many jobs (and a desktop Blender keeps the TD's file open), so a
render node never opens a main file: it appends the template's scene under a fixed name, makes
it the window's scene, and removes the previous render scene and its orphaned data first.
"""

from __future__ import annotations

import shutil
import tempfile
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


def _owned_data(scene: Any) -> list[Any]:
    """The datablocks a render scene brought in: objects, their data and materials, world, collections."""
    objects = list(scene.collection.all_objects)
    blocks: list[Any] = [o.data for o in objects if o.data is not None]
    blocks += [slot.material for o in objects for slot in o.material_slots if slot.material is not None]
    blocks += [m for o in objects if o.type == "MESH" for m in o.data.materials if m is not None]
    blocks += list(scene.collection.children_recursive)
    if scene.world is not None:
        blocks.append(scene.world)
    return objects + blocks


def reset() -> None:
    """Remove the previous render scene and whatever only it used."""
    import bpy

    old = bpy.data.scenes.get(RENDER_SCENE)
    if old is not None:
        remove_scene(old)


def remove_scene(old: Any) -> None:
    """Remove a scene the engine made and whatever only it used (never a global orphan purge:
    a desktop session's own unused data, such as a workflow node tree, must survive)."""
    import bpy

    if len(bpy.data.scenes) == 1:
        bpy.data.scenes.new("Scene")
    if bpy.context.scene == old:
        activate(next(s for s in bpy.data.scenes if s != old))
    owned = _owned_data(old)
    objects = [b for b in owned if isinstance(b, bpy.types.Object)]
    for obj in objects:
        bpy.data.objects.remove(obj, do_unlink=True)
    bpy.data.scenes.remove(old)
    pointers = {b.as_pointer(): b for b in owned[len(objects):]}  # data first, then materials, world
    for block in pointers.values():
        if block.users == 0:
            bpy.data.batch_remove([block])


def forbid_scripts(bpy: Any) -> None:
    """Python auto-execution off before a .blend is read: a template's drivers and text scripts
    must not run code on a worker or in `hartomat render` (Blender honours this flag for scripted
    drivers and registered texts). Only in background processes: a desktop Blender keeps its
    user's choice, which its preferences would otherwise save."""
    if bpy.app.background:
        bpy.context.preferences.filepaths.use_scripts_auto_execute = False


def _append_scene(bpy: Any, template: Path) -> Any:
    forbid_scripts(bpy)
    if bpy.data.filepath and Path(bpy.data.filepath).resolve() == template.resolve():
        # Blender cannot append from the open file itself: append from a copy of it
        with tempfile.TemporaryDirectory() as tmp:
            return _append_scene(bpy, Path(shutil.copy(template, Path(tmp) / template.name)))
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
