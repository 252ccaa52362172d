"""A run's images in an Image Editor inside the window the run started from, never a new OS window.

An Image Editor already on the screen is reused; otherwise the editor's area is split and the new
half becomes one, so the graph and its result stay side by side.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import bpy

from . import run_record
from .layout import graph_share


def _split_off_image_editor(window: Any, area: Any) -> Any:
    """Split `area` side by side; the new half becomes an Image Editor."""
    before = set(window.screen.areas[:])
    region = next((r for r in area.regions if r.type == "WINDOW"), None)
    with bpy.context.temp_override(window=window, screen=window.screen, area=area, region=region):
        bpy.ops.screen.area_split(direction="VERTICAL", factor=graph_share(area.width, area.height))
    (new,) = [a for a in window.screen.areas if a not in before]
    new.ui_type = "IMAGE_EDITOR"
    return new


def image_editor(window: Any, area: Any | None) -> Any:
    """An Image Editor area in `window`: one already there, else one split off `area` (the
    largest area when none is given). A maximised area goes back to its layout first (Blender
    cannot split inside one)."""
    found = next((a for a in window.screen.areas if a.type == "IMAGE_EDITOR"), None)
    if found is not None:
        return found
    if area is not None and window.screen.show_fullscreen:
        kind = area.ui_type
        with bpy.context.temp_override(window=window, screen=window.screen, area=area):
            bpy.ops.screen.back_to_previous()
        area = max((a for a in window.screen.areas if a.ui_type == kind), key=lambda a: a.width * a.height,
                   default=None)
    area = area or max(window.screen.areas, key=lambda a: a.width * a.height)
    return _split_off_image_editor(window, area)


def show_images(context: Any, record: dict[str, Any], area: Any | None = None) -> list[Any]:
    """Load the run's images; in the editor, show the first in an Image Editor of this window."""
    loaded = [bpy.data.images.load(path, check_existing=True) for path in run_record.images(record)
              if Path(path).is_file()]
    window = getattr(context, "window", None)
    if loaded and window is not None and not bpy.app.background:
        try:
            editor = image_editor(window, area)
            loaded[0].reload()  # a file re-rendered at the same path shows its new pixels
            editor.spaces.active.image = loaded[0]
            region = next(r for r in editor.regions if r.type == "WINDOW")
            with bpy.context.temp_override(window=window, area=editor, region=region):
                bpy.ops.image.view_all(fit_view=True)
        except (RuntimeError, AttributeError, ValueError, StopIteration) as exc:  # the image is loaded either way
            print(f"HartOMat: could not open an Image Editor for {loaded[0].filepath}: {exc}")
    return loaded


def forget_images(record: dict[str, Any]) -> None:
    """A new run starts: the last run's images leave the Image Editors and the file."""
    paths = {bpy.path.abspath(p) for p in run_record.images(record)}
    stale = [image for image in bpy.data.images if image.filepath and bpy.path.abspath(image.filepath) in paths]
    if not stale:
        return
    for window in bpy.context.window_manager.windows if bpy.context.window_manager else ():
        for area in window.screen.areas:
            for space in area.spaces:
                if space.type == "IMAGE_EDITOR" and space.image in stale:
                    space.image = None
    bpy.data.batch_remove(stale)
