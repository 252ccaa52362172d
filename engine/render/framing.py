"""Camera framing as pure math: where the camera goes so the product fills the frame to a margin.

Kept free of bpy so it is testable and reusable (the add-on's preview, the farm's planner). All
coordinates are Blender world coordinates (metres, Z-up); `box_from_bbox_artifact` converts the
`bbox` artifact's glTF Y-up box the way Blender's glTF importer maps axes: (x, y, z) -> (x, -z, y).

The camera is aimed at the box centre from an azimuth/elevation. For every corner `v` (relative
to the centre) with camera-space offsets `x`, `y` and depth `d - v.b` (`b` points from the centre
to the camera), the corner stays inside the frame shrunk by the margin when
`|x| <= tan_x * (d - v.b)` (same for `y`). The smallest such `d` over the 8 corners is the
distance: exact, from any angle, never cut off.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from itertools import product
from typing import Any

Vec3 = tuple[float, float, float]

MIN_CLIP_START = 1e-6  # Blender's lower bound for camera.clip_start


def _sub(a: Vec3, b: Vec3) -> Vec3:
    return (a[0] - b[0], a[1] - b[1], a[2] - b[2])


def _add(a: Vec3, b: Vec3) -> Vec3:
    return (a[0] + b[0], a[1] + b[1], a[2] + b[2])


def _scale(a: Vec3, k: float) -> Vec3:
    return (a[0] * k, a[1] * k, a[2] * k)


def _dot(a: Vec3, b: Vec3) -> float:
    return a[0] * b[0] + a[1] * b[1] + a[2] * b[2]


def _cross(a: Vec3, b: Vec3) -> Vec3:
    return (a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0])


@dataclass(frozen=True)
class Box:
    """An axis-aligned box in Blender world coordinates (metres, Z-up)."""

    min: Vec3
    max: Vec3

    @property
    def center(self) -> Vec3:
        return _scale(_add(self.min, self.max), 0.5)

    @property
    def size(self) -> Vec3:
        return _sub(self.max, self.min)

    @property
    def diagonal(self) -> float:
        return math.sqrt(_dot(self.size, self.size))

    def corners(self) -> list[Vec3]:
        return [(x, y, z) for x, y, z in product(*zip(self.min, self.max, strict=True))]


def box_from_bbox_artifact(data: dict[str, Any]) -> Box:
    """The `bbox` artifact (glTF Y-up metres) as a Blender Z-up box; ValueError when unusable."""
    try:
        lo = [float(v) for v in data["min"]]
        hi = [float(v) for v in data["max"]]
    except (KeyError, TypeError, ValueError) as exc:
        raise ValueError(f"bbox needs numeric 'min' and 'max' triples ({exc})") from None
    if len(lo) != 3 or len(hi) != 3 or any(not math.isfinite(v) for v in lo + hi):
        raise ValueError("bbox 'min'/'max' must be three finite numbers each")
    if any(h < low for low, h in zip(lo, hi, strict=True)):
        raise ValueError(f"bbox max {hi} is below min {lo}")
    box = Box(min=(lo[0], -hi[2], lo[1]), max=(hi[0], -lo[2], hi[1]))
    if box.diagonal <= 0:
        raise ValueError("bbox is empty (zero size): the GLB has no geometry to frame")
    return box


@dataclass(frozen=True)
class Lens:
    """A perspective camera: focal length and sensor (Blender's 'AUTO' fit) and image size."""

    focal_mm: float = 50.0
    sensor_mm: float = 36.0
    res_x: int = 1024
    res_y: int = 1024

    def tan_half(self) -> tuple[float, float]:
        """Tangents of the half field of view along x and y; the sensor spans the longer side."""
        wide = self.sensor_mm / 2.0 / self.focal_mm
        longer = max(self.res_x, self.res_y)
        return wide * self.res_x / longer, wide * self.res_y / longer


@dataclass(frozen=True)
class CameraPose:
    """Where the camera sits and how it looks; `rotation` is Blender's XYZ Euler in radians."""

    location: Vec3
    rotation: Vec3
    target: Vec3
    distance: float
    clip_start: float
    clip_end: float
    back: Vec3
    right: Vec3
    up: Vec3


def view_basis(azimuth_deg: float, elevation_deg: float) -> tuple[Vec3, Vec3, Vec3]:
    """(back, right, up): back points from the target to the camera. Azimuth 0 looks along +Y
    (Blender's front view), 90 from +X; elevation lifts the camera above the horizon."""
    az, el = math.radians(azimuth_deg), math.radians(elevation_deg)
    back = (math.sin(az) * math.cos(el), -math.cos(az) * math.cos(el), math.sin(el))
    right = (math.cos(az), math.sin(az), 0.0)
    forward = _scale(back, -1.0)
    return back, right, _cross(right, forward)


def fit_distance(box: Box, azimuth_deg: float, elevation_deg: float, lens: Lens, margin: float) -> float:
    """The smallest distance from the box centre at which all 8 corners lie inside the margin."""
    if not 0 <= margin < 0.5:
        raise ValueError(f"margin {margin} must be in [0, 0.5)")
    back, right, up = view_basis(azimuth_deg, elevation_deg)
    tan_x, tan_y = (t * (1.0 - 2.0 * margin) for t in lens.tan_half())
    centre = box.center
    needed = 0.0
    for corner in box.corners():
        v = _sub(corner, centre)
        needed = max(needed, max(abs(_dot(v, right)) / tan_x, abs(_dot(v, up)) / tan_y) + _dot(v, back))
    return max(needed, box.diagonal * 1e-3 + max(_dot(_sub(c, centre), back) for c in box.corners()))


def pose_at(box: Box, azimuth_deg: float, elevation_deg: float, distance: float) -> CameraPose:
    """The camera pose at `distance` from the box centre, with clip planes scaled to the product."""
    back, right, up = view_basis(azimuth_deg, elevation_deg)
    centre = box.center
    nearest = min(distance - _dot(_sub(c, centre), back) for c in box.corners())
    return CameraPose(
        location=_add(centre, _scale(back, distance)),
        rotation=(math.radians(90.0 - elevation_deg), 0.0, math.radians(azimuth_deg)),
        target=centre,
        distance=distance,
        clip_start=max(MIN_CLIP_START, nearest * 0.5),
        clip_end=distance + box.diagonal * 100.0,
        back=back,
        right=right,
        up=up,
    )


def frame_box(box: Box, azimuth_deg: float, elevation_deg: float, lens: Lens, margin: float) -> CameraPose:
    """The camera pose that frames the box from one angle."""
    return pose_at(box, azimuth_deg, elevation_deg, fit_distance(box, azimuth_deg, elevation_deg, lens, margin))


def orbit_distance(box: Box, azimuths: list[float], elevation_deg: float, lens: Lens, margin: float) -> float:
    """One distance that frames the box from every azimuth of a turntable (no zoom pumping)."""
    return max(fit_distance(box, az, elevation_deg, lens, margin) for az in azimuths)


def turntable_azimuths(frame_count: int, start_deg: float = 0.0) -> list[float]:
    """Evenly spaced azimuths for one full turn; the last frame stops one step short of the first."""
    return [start_deg + 360.0 * i / frame_count for i in range(frame_count)]


def project(point: Vec3, pose: CameraPose, lens: Lens) -> Vec3:
    """Normalised view coordinates like bpy_extras' world_to_camera_view: (0..1, 0..1, depth)."""
    v = _sub(point, pose.location)
    depth = -_dot(v, pose.back)
    tan_x, tan_y = lens.tan_half()
    return (0.5 + _dot(v, pose.right) / (depth * tan_x) / 2.0, 0.5 + _dot(v, pose.up) / (depth * tan_y) / 2.0, depth)


def studio_scale(box: Box) -> float:
    """The factor a unit-size studio rig (built for a 1 m diagonal product) is scaled by."""
    return box.diagonal
