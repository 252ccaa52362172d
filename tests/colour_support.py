"""Renders a STEP file with the still preset in this process and measures its pixels per part.

The part of each pixel comes from an object-ID pass of the same scene and camera
(`engine.render.blender.id_pass`), so every figure is about one part's own pixels: the median HSV
saturation and hue of its interior pixels (edges blend with neighbours), and the share of them
clipped to white. Used by the colour, bearing and view tests and by scripts/make_colour_chart.py.
"""

from __future__ import annotations

import colorsys
import statistics
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from engine.legacy.presets import preset_workflow
from engine.model.context import OrderLine
from engine.runtime import RunOptions, run_workflow


@dataclass
class PartPixels:
    key: str
    cad_colour: str | None
    pixels: list[tuple[int, int, int]] = field(default_factory=list)
    objects: set[str] = field(default_factory=set)
    material: str = ""

    def hsv(self) -> list[tuple[float, float, float]]:
        return [colorsys.rgb_to_hsv(r / 255, g / 255, b / 255) for r, g, b in self.pixels]

    @property
    def saturation(self) -> float:
        return statistics.median(s for _, s, _ in self.hsv())

    @property
    def value(self) -> float:
        return statistics.median(v for _, _, v in self.hsv())

    @property
    def hue(self) -> float:
        """Median hue, taken on the circle around the CAD hue so red's 0/1 wrap does not split it."""
        centre = cad_hsv(self.cad_colour or "#808080")[0]
        return (centre + statistics.median(hue_offset(h, centre) for h, _, _ in self.hsv())) % 1.0

    @property
    def clipped(self) -> float:
        return sum(1 for p in self.pixels if min(p) >= 250) / max(1, len(self.pixels))


def cad_hsv(colour: str) -> tuple[float, float, float]:
    r, g, b = (int(colour[i:i + 2], 16) / 255 for i in (1, 3, 5))
    return colorsys.rgb_to_hsv(r, g, b)


def hue_offset(hue: float, centre: float) -> float:
    """Signed distance from centre to hue on the hue circle, in -0.5..0.5."""
    return (hue - centre + 0.5) % 1.0 - 0.5


@dataclass
class Measured:
    image: Path
    parts: dict[str, PartPixels]
    visible_objects: set[str]
    run: Any


def part_key(obj: Any) -> str:
    from engine.render.blender.shading import part_key as key

    return key(obj)


def product_meshes(scene: Any) -> list[Any]:
    from engine.render.blender.importer import PRODUCT_ROOT

    root = next(o for o in scene.objects if o.name.startswith(PRODUCT_ROOT))
    return [o for o in root.children_recursive if o.type == "MESH"]


def render_still(step: Path, out: Path, size: int = 128, samples: int = 16, category: str = "",
                 overrides: dict[str, dict[str, Any]] | None = None, preset: str = "still") -> Any:
    line = OrderLine(product=step.stem, step_path=str(step), output_type=preset, category=category)
    settings = {"resolution_x": size, "resolution_y": size, "samples": samples, "denoise": False}
    changes = {"still": settings, **(overrides or {})}
    changes["still"] = {**settings, **changes["still"]}
    options = RunOptions(out_dir=out, use_cache=False, overrides=changes, store_path=out / "runs.sqlite")
    result = run_workflow(preset_workflow(preset), line, options)
    assert result.ok, result.error
    return result


def _interior(ids: list[Any], width: int) -> list[bool]:
    """Pixels whose four neighbours show the same object: no edge blending with anything else."""
    height = len(ids) // width
    keep = [False] * len(ids)
    for y in range(1, height - 1):
        for x in range(1, width - 1):
            i = y * width + x
            obj = ids[i]
            keep[i] = obj is not None and ids[i - 1] is obj and ids[i + 1] is obj and \
                ids[i - width] is obj and ids[i + width] is obj
    return keep


def measure(result: Any) -> Measured:
    """Per-part pixels of the still the run just rendered (its scene is still loaded)."""
    import bpy
    from PIL import Image

    from engine.render.blender.id_pass import render_ids
    from engine.render.blender.scene import RENDER_SCENE

    image_path = Path(result.node_results["still"].outputs[0].path)
    parts_record = result.node_results["extract"].outputs[0].data["parts"]
    colours = {str(p["key"]): p.get("colour") for p in parts_record}
    names = {str(p["key"]): str(p["name"]) for p in parts_record}  # parts are reported by name
    assignments = result.node_results["materials"].outputs[0].data["assignments"]
    scene = bpy.data.scenes[RENDER_SCENE]
    meshes = product_meshes(scene)
    ids = render_ids(scene, meshes)
    rgb = [tuple(p) for p in np.asarray(Image.open(image_path).convert("RGB")).reshape(-1, 3).tolist()]
    width = scene.render.resolution_x
    parts: dict[str, PartPixels] = {}
    for obj in meshes:
        key = part_key(obj)
        entry = assignments.get(key, {})
        name = names.get(key, key)
        parts.setdefault(name, PartPixels(name, colours.get(key), material=str(entry.get("material", ""))))
    for index, inside in enumerate(_interior(ids, width)):
        if inside:
            obj = ids[index]
            part = parts[names.get(part_key(obj), part_key(obj))]
            part.pixels.append(rgb[index])
            part.objects.add(obj.name)
    visible = {o.name for o in ids if o is not None}
    return Measured(image=image_path, parts=parts, visible_objects=visible, run=result)
