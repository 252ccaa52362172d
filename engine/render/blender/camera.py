"""Applies `engine.render.framing` to Blender: the camera's pose and lens, and the studio rig's placement."""

from __future__ import annotations

import math
from typing import Any

from ..framing import Box, CameraPose, Lens, studio_scale
from .studio import BASE_POWER, CAMERA_NAME, RIG_NAME, scene_object


def scene_camera(scene: Any) -> Any:
    """The template's camera (the scene camera or one named CAMERA_NAME), or a new one."""
    import bpy

    cam = scene.camera or scene_object(scene, CAMERA_NAME)
    if cam is None or cam.type != "CAMERA":
        cam = bpy.data.objects.new(CAMERA_NAME, bpy.data.cameras.new(CAMERA_NAME))
        scene.collection.objects.link(cam)
    cam.parent = None
    scene.camera = cam
    return cam


def view_angles(cam: Any, target: tuple[float, float, float] = (0.0, 0.0, 0.0)) -> tuple[float, float]:
    """(azimuth, elevation) in degrees of a camera's viewing direction, as `framing` defines them."""
    from mathutils import Vector

    back = (cam.matrix_world.to_quaternion() @ Vector((0.0, 0.0, 1.0))).normalized()
    elevation = math.degrees(math.asin(max(-1.0, min(1.0, back.z))))
    azimuth = math.degrees(math.atan2(back.x, -back.y))
    return azimuth, elevation


def apply_pose(cam: Any, pose: CameraPose, lens: Lens) -> None:
    cam.location = pose.location
    cam.rotation_mode = "XYZ"
    cam.rotation_euler = pose.rotation
    cam.data.type = "PERSP"
    cam.data.lens = lens.focal_mm
    cam.data.sensor_width = lens.sensor_mm
    cam.data.sensor_fit = "AUTO"
    cam.data.shift_x = cam.data.shift_y = 0.0
    cam.data.clip_start = pose.clip_start
    cam.data.clip_end = pose.clip_end


def place_studio(scene: Any, box: Box, azimuth_deg: float) -> None:
    """Stand the unit-size rig under the product, scaled to it and turned to face the camera;
    light power grows with the square of the scale so the product is lit the same at any size."""
    rig = scene_object(scene, RIG_NAME)
    if rig is None:
        return
    scale = studio_scale(box)
    centre = box.center
    rig.location = (centre[0], centre[1], box.min[2])
    rig.rotation_euler = (0.0, 0.0, math.radians(azimuth_deg))
    rig.scale = (scale, scale, scale)
    for child in rig.children:
        if child.type == "LIGHT" and BASE_POWER in child.data:
            child.data.energy = float(child.data[BASE_POWER]) * scale * scale
