"""`view: auto`: the camera angle that shows the most of the product, judged from its meshes.

Every candidate angle is framed exactly as the still would be (`engine.framing`), and a coarse
grid of camera rays is cast against one BVH of the product's triangles (no render, no GPU: works
in bpy and in a desktop Blender alike). A view scores by the share of distinct parts (part keys)
it shows, a little for the share of objects (instances: a bearing's balls) and for its
covered share of the frame, less a little for straying from the preferred 3/4 view, so a product
that looks alike from every side keeps the classic angle.
"""

from __future__ import annotations

import bisect
import math
from dataclasses import dataclass
from typing import Any

from ..framing import Box, Lens, frame_box
from .shading import part_key

PREFERRED = (35.0, 25.0)
AZIMUTHS = tuple((PREFERRED[0] + 30.0 * i) % 360.0 for i in range(12))
ELEVATIONS = (10.0, PREFERRED[1], 45.0)
GRID = 32


@dataclass(frozen=True)
class ViewScore:
    azimuth: float
    elevation: float
    visible: int
    parts: int
    visible_objects: int
    objects: int
    coverage: float
    score: float


class ProductRays:
    """The product's triangles in one BVH, with which object each polygon belongs to."""

    def __init__(self, meshes: list[Any]) -> None:
        from mathutils.bvhtree import BVHTree

        vertices: list[Any] = []
        polygons: list[tuple[int, ...]] = []
        self.starts: list[int] = []
        for obj in meshes:
            self.starts.append(len(polygons))
            offset, matrix = len(vertices), obj.matrix_world
            vertices += [matrix @ v.co for v in obj.data.vertices]
            polygons += [tuple(offset + i for i in p.vertices) for p in obj.data.polygons]
        self.count = len(meshes)
        self.keys = [part_key(obj) for obj in meshes]
        self.tree = BVHTree.FromPolygons(vertices, polygons)

    def owner(self, polygon: int) -> int:
        return bisect.bisect_right(self.starts, polygon) - 1

    def look(self, box: Box, azimuth: float, elevation: float, lens: Lens, margin: float,
             grid: int = GRID) -> tuple[set[int], float]:
        """The objects hit by a grid of rays from the framed camera, and the share of rays that hit."""
        from mathutils import Vector

        pose = frame_box(box, azimuth, elevation, lens, margin)
        origin, back, right, up = (Vector(v) for v in (pose.location, pose.back, pose.right, pose.up))
        tan_x, tan_y = lens.tan_half()
        seen: set[int] = set()
        hits = 0
        for row in range(grid):
            v = (2 * (row + 0.5) / grid - 1) * tan_y
            for col in range(grid):
                u = (2 * (col + 0.5) / grid - 1) * tan_x
                _, _, index, _ = self.tree.ray_cast(origin, (-back + right * u + up * v).normalized())
                if index is not None:
                    hits += 1
                    seen.add(self.owner(index))
        return seen, hits / (grid * grid)


def _score(azimuth: float, elevation: float, parts: float, objects: float, coverage: float) -> float:
    """parts, objects and coverage are shares in 0..1."""
    turn = abs((azimuth - PREFERRED[0] + 180.0) % 360.0 - 180.0) / 180.0
    lift = abs(elevation - PREFERRED[1]) / 90.0
    return parts + 0.05 * objects + 0.05 * coverage - 0.05 * (turn + lift)


def score_view(rays: ProductRays, box: Box, azimuth: float, elevation: float, lens: Lens, margin: float) -> ViewScore:
    seen, coverage = rays.look(box, azimuth, elevation, lens, margin)
    keys, seen_keys = set(rays.keys), {rays.keys[i] for i in seen}
    return ViewScore(azimuth, elevation, len(seen_keys), len(keys), len(seen), rays.count, coverage,
                     _score(azimuth, elevation, len(seen_keys) / len(keys), len(seen) / max(1, rays.count), coverage))


def auto_view(meshes: list[Any], box: Box, lens: Lens, margin: float,
              elevations: tuple[float, ...] = ELEVATIONS) -> ViewScore:
    """The best-scoring candidate angle for these product meshes (world space, framed on `box`)."""
    rays = ProductRays(meshes)
    scores = [score_view(rays, box, az, el, lens, margin) for el in elevations for az in AZIMUTHS]
    return max(scores, key=lambda s: (s.score, -math.hypot(s.azimuth - PREFERRED[0], s.elevation - PREFERRED[1])))
