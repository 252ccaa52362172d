"""An object-ID pass of the render scene: which product object each pixel shows.

Rendered with Workbench (flat light, one exact colour per object, no anti-aliasing, no dither,
the 'Raw' view transform), so each pixel decodes to exactly one object or to nothing. The tests
and docs use it to measure colours per part and to count the parts a view shows, independently
of the ray casts `engine.render.blender.view` chooses views with.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any


def _id_colour(index: int) -> tuple[float, float, float, float]:
    number = index + 1  # 0 is the background
    return ((number & 255) / 255, ((number >> 8) & 255) / 255, 0.0, 1.0)


def _read_ids(path: Path, width: int, height: int) -> list[int]:
    """Per-pixel object number (0 = none), rows from the top, read with Blender's own image API."""
    import bpy

    image = bpy.data.images.load(str(path))
    try:
        pixels = [0.0] * (width * height * 4)
        image.pixels.foreach_get(pixels)
    finally:
        bpy.data.images.remove(image)
    ids = [round(pixels[i] * 255) + 256 * round(pixels[i + 1] * 255) if pixels[i + 3] > 0 else 0
           for i in range(0, len(pixels), 4)]
    rows = [ids[y * width:(y + 1) * width] for y in range(height)]
    return [value for row in reversed(rows) for value in row]  # Blender's pixels start at the bottom


def render_ids(scene: Any, objects: list[Any]) -> list[Any | None]:
    """The object each pixel of `scene`'s camera view shows (None for background), at the scene's
    resolution, rows from the top; the scene's render settings are restored afterwards."""
    import bpy

    render, display, view = scene.render, scene.display, scene.view_settings
    saved = (render.engine, render.film_transparent, render.dither_intensity, display.render_aa,
             display.shading.light, display.shading.color_type, view.view_transform, view.look, view.exposure,
             view.gamma, view.use_curve_mapping)
    colours = {obj.name: tuple(obj.color) for obj in objects}
    hidden = [o for o in scene.objects if o.type == "MESH" and o not in objects and not o.hide_render]
    try:
        render.engine, render.film_transparent, render.dither_intensity = "BLENDER_WORKBENCH", True, 0.0
        display.render_aa, display.shading.light, display.shading.color_type = "OFF", "FLAT", "OBJECT"
        view.view_transform, view.look, view.exposure, view.gamma, view.use_curve_mapping = \
            "Raw", "None", 0.0, 1.0, False
        for obj in hidden:
            obj.hide_render = True
        for index, obj in enumerate(objects):
            obj.color = _id_colour(index)
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "ids.png"
            image = render.image_settings
            saved_format = (image.file_format, image.color_mode, image.color_depth)
            image.file_format, image.color_mode, image.color_depth = "PNG", "RGBA", "8"
            render.filepath = str(path)
            bpy.ops.render.render(write_still=True, scene=scene.name)
            image.file_format, image.color_mode, image.color_depth = saved_format
            width = render.resolution_x * render.resolution_percentage // 100
            height = render.resolution_y * render.resolution_percentage // 100
            ids = _read_ids(path, width, height)
    finally:
        (render.engine, render.film_transparent, render.dither_intensity, display.render_aa,
         display.shading.light, display.shading.color_type, view.view_transform, view.look, view.exposure,
         view.gamma, view.use_curve_mapping) = saved
        for obj in hidden:
            obj.hide_render = False
        for obj in objects:
            obj.color = colours[obj.name]
    return [objects[i - 1] if 0 < i <= len(objects) else None for i in ids]
