"""The studio rig, built by code: cyclorama backdrop, three area lights, camera, world.

`save_studio` writes it as a template .blend (`scripts/build_templates.py` for the bundled files,
the template library for a Blender that cannot read those), and the render nodes build it in
memory when no template is given, so all come from this one definition. The rig is modelled
for a product with a 1 m diagonal standing on the floor at the origin; at render time
`camera.place_studio` scales it to the product and turns it with the camera, so the backdrop is
always behind the product and light sizes and distances follow the product's size.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .shading import ensure_nodes

RIG_NAME = "HartOMat_Rig"
CAMERA_NAME = "HartOMat_Camera"  # not "Camera": a session's own (or the startup) camera would suffix ours
BASE_POWER = "hartomat_base_power"


def scene_object(scene: Any, name: str) -> Any:
    """The scene's object called `name`, or `name.001` etc.: an appended template scene gets
    suffixed names when the open file already holds objects so named (e.g. the template itself)."""
    exact = scene.objects.get(name)
    if exact is not None:
        return exact
    prefix = name + "."
    return next((o for o in scene.objects if o.name.startswith(prefix) and o.name[len(prefix):].isdigit()), None)


@dataclass(frozen=True)
class LightSpec:
    name: str
    location: tuple[float, float, float]
    size: float
    power: float


@dataclass(frozen=True)
class StudioStyle:
    """What differs between templates: backdrop, world and light levels."""

    name: str
    backdrop: tuple[float, float, float]
    backdrop_roughness: float
    world: tuple[float, float, float]
    world_strength: float
    lights: tuple[LightSpec, ...]
    look: str = "None"
    # Standard (no tone curve) keeps a CAD colour's hue and saturation in the lit mid-tones, where
    # AgX and Filmic desaturate towards white; the exposure keeps a white part's lit face below 1.
    view_transform: str = "Standard"
    exposure: float = -3.0
    backdrop_specular: float = 0.5  # Principled 'Specular IOR Level': low keeps a dark floor dark at grazing angles


THREE_POINT = (
    LightSpec("Key", (-2.4, -2.6, 2.8), 2.0, 900.0),
    LightSpec("Fill", (3.0, -1.8, 1.4), 3.0, 300.0),
    LightSpec("Rim", (0.6, 2.8, 3.2), 1.5, 700.0),
)

STYLES: dict[str, StudioStyle] = {
    "studio_white": StudioStyle("studio_white", (0.95, 0.95, 0.95), 0.9, (0.9, 0.9, 0.92), 0.08, THREE_POINT),
    "studio_dark": StudioStyle(
        "studio_dark", (0.01, 0.01, 0.012), 0.9, (0.02, 0.02, 0.025), 0.2,
        (LightSpec("Key", (-2.4, -2.6, 2.8), 2.0, 700.0), LightSpec("Fill", (3.0, -1.8, 1.4), 3.0, 120.0),
         LightSpec("Rim", (0.6, 2.8, 3.2), 1.5, 1400.0)),
        backdrop_specular=0.05,
    ),
}

PRODUCT_TARGET = (0.0, 0.0, 0.35)  # where the unit-size rig's lights and camera aim


def _cyclorama_profile(steps: int = 12) -> list[tuple[float, float]]:
    """(y, z) points: a floor running back into a quarter-circle cove and a back wall."""
    floor_front, cove_y, radius, wall_top = -7.0, 3.0, 2.0, 7.0
    points = [(floor_front, 0.0), (cove_y, 0.0)]
    for i in range(1, steps + 1):
        angle = math.pi / 2 * i / steps
        points.append((cove_y + radius * math.sin(angle), radius * (1 - math.cos(angle))))
    points.append((cove_y + radius, wall_top))
    return points


def _backdrop_mesh(bpy: Any, half_width: float = 9.0) -> Any:
    profile = _cyclorama_profile()
    verts = [(x, y, z) for (y, z) in profile for x in (-half_width, half_width)]
    faces = [(2 * i, 2 * i + 1, 2 * i + 3, 2 * i + 2) for i in range(len(profile) - 1)]
    mesh = bpy.data.meshes.new("Backdrop")
    mesh.from_pydata(verts, [], faces)
    for poly in mesh.polygons:
        poly.use_smooth = True
    mesh.update()
    return mesh


def _backdrop_material(bpy: Any, style: StudioStyle) -> Any:
    mat: Any = bpy.data.materials.new(f"{style.name}_backdrop")
    ensure_nodes(mat)
    bsdf = mat.node_tree.nodes["Principled BSDF"]
    bsdf.inputs["Base Color"].default_value = (*style.backdrop, 1.0)
    bsdf.inputs["Roughness"].default_value = style.backdrop_roughness
    bsdf.inputs["Specular IOR Level"].default_value = style.backdrop_specular
    return mat


def _aim(obj: Any, target: tuple[float, float, float]) -> None:
    from mathutils import Vector

    direction = Vector(target) - obj.location
    obj.rotation_euler = direction.to_track_quat("-Z", "Y").to_euler()


def _link(scene: Any, obj: Any, parent: Any = None) -> Any:
    scene.collection.objects.link(obj)
    if parent is not None:
        obj.parent = parent
    return obj


def _add_lights(bpy: Any, scene: Any, rig: Any, lights: tuple[LightSpec, ...]) -> None:
    for spec in lights:
        data = bpy.data.lights.new(spec.name, type="AREA")
        data.shape = "DISK"
        data.size = spec.size
        data.energy = spec.power
        data[BASE_POWER] = spec.power
        obj = _link(scene, bpy.data.objects.new(spec.name, data), rig)
        obj.location = spec.location
        _aim(obj, PRODUCT_TARGET)


def _add_world(bpy: Any, scene: Any, style: StudioStyle) -> None:
    world = bpy.data.worlds.new(f"{style.name}_world")
    ensure_nodes(world)
    background = world.node_tree.nodes["Background"]
    background.inputs["Color"].default_value = (*style.world, 1.0)
    background.inputs["Strength"].default_value = style.world_strength
    scene.world = world


def _add_camera(bpy: Any, scene: Any) -> Any:
    cam = _link(scene, bpy.data.objects.new(CAMERA_NAME, bpy.data.cameras.new(CAMERA_NAME)))
    cam.data.lens = 50.0
    cam.location = (1.6, -2.3, 1.5)
    _aim(cam, PRODUCT_TARGET)
    scene.camera = cam
    return cam


def _colour_management(scene: Any, style: StudioStyle) -> None:
    scene.display_settings.display_device = "sRGB"
    scene.view_settings.view_transform = style.view_transform
    scene.view_settings.exposure = style.exposure
    try:
        scene.view_settings.look = style.look
    except TypeError:  # a build without that look keeps the neutral one
        scene.view_settings.look = "None"


def build_studio(scene: Any, style_name: str = "studio_white") -> None:
    """Fill `scene` with the studio of one style: rig (backdrop + lights), camera, world, colour."""
    import bpy

    style = STYLES[style_name]
    rig = _link(scene, bpy.data.objects.new(RIG_NAME, None))
    rig.empty_display_size = 0.5
    backdrop = _link(scene, bpy.data.objects.new("Backdrop", _backdrop_mesh(bpy)), rig)
    backdrop.data.materials.append(_backdrop_material(bpy, style))
    _add_lights(bpy, scene, rig, style.lights)
    _add_camera(bpy, scene)
    _add_world(bpy, scene, style)
    _colour_management(scene, style)
    scene.render.engine = "CYCLES"
    scene["hartomat_template"] = style.name


def set_transparent(scene: Any, transparent: bool) -> None:
    """On a transparent film the backdrop only catches the product's shadows (Cycles) or is
    hidden (Workbench), so the PNG's alpha holds just the product and its shadow."""
    backdrop = scene_object(scene, "Backdrop")
    if backdrop is None:
        return
    cycles = scene.render.engine == "CYCLES"
    backdrop.is_shadow_catcher = transparent and cycles
    backdrop.hide_render = transparent and not cycles


def save_studio(target: Path, style: str, name: str, camera: str = CAMERA_NAME) -> None:
    """Write a .blend holding only the studio scene of one style. The scene is built in the
    running session and removed again, so a warm worker or a TD's open file keeps its own data."""
    import bpy

    from .scene import remove_scene

    scene: Any = bpy.data.scenes.new(name)
    try:
        build_studio(scene, style)
        scene.camera.name = camera
        bpy.data.libraries.write(str(target), {scene}, fake_user=True, compress=True)
    finally:
        remove_scene(scene)
