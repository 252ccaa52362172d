"""`view: auto`: the camera angle that shows the most of the product, judged from its meshes.

Every candidate angle is framed exactly as the still would be (`engine.render.framing`), and a coarse
grid of camera rays is cast against one BVH of the product's triangles (no render, no GPU: works
in bpy and in a desktop Blender alike). A view scores by how much of each distinct part (part
key) it shows, against that part's best view, averaged over the parts; a little for the share of
objects it shows (instances: a bearing's balls), less a little for straying from the preferred
3/4 view, so a product that looks alike from every side keeps the classic angle.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass
from typing import Any

from ..framing import Box, Lens, frame_box
from .shading import part_key

PREFERRED = (35.0, 25.0)
AZIMUTHS = tuple((PREFERRED[0] + 30.0 * i) % 360.0 for i in range(12))
ELEVATIONS = (10.0, PREFERRED[1], 45.0)
GRID = 32


@dataclass(frozen=True)
class Look:
    """What a grid of rays from one candidate camera saw."""

    azimuth: float
    elevation: float
    hits: dict[int, float]
    distance: float
    coverage: float


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
        self.keys = [part_key(obj) or obj.name for obj in meshes]  # a GLB without part keys: each object
        self.tree = BVHTree.FromPolygons(vertices, polygons)

    def owner(self, polygon: int) -> int:
        return bisect.bisect_right(self.starts, polygon) - 1

    def look(self, box: Box, azimuth: float, elevation: float, lens: Lens, margin: float,
             grid: int = GRID) -> Look:
        """The surface of each object (by index) a grid of rays from the framed camera sees: each
        hit weighs 1 / cos of its angle to the surface (capped at 5), so a view that shows three
        faces of a box sees more of it than one that shows a single face flat on; and the camera's
        distance (a ray covers an area growing with its square)."""
        from mathutils import Vector

        pose = frame_box(box, azimuth, elevation, lens, margin)
        origin, back, right, up = (Vector(v) for v in (pose.location, pose.back, pose.right, pose.up))
        tan_x, tan_y = lens.tan_half()
        hits: dict[int, float] = {}
        count = 0
        for row in range(grid):
            v = (2 * (row + 0.5) / grid - 1) * tan_y
            for col in range(grid):
                u = (2 * (col + 0.5) / grid - 1) * tan_x
                direction = (-back + right * u + up * v).normalized()
                _, normal, index, _ = self.tree.ray_cast(origin, direction)
                if index is not None and normal is not None:
                    owner = self.owner(index)
                    hits[owner] = hits.get(owner, 0.0) + 1.0 / max(0.2, abs(normal.dot(direction)))
                    count += 1
        return Look(azimuth, elevation, hits, pose.distance, count / (grid * grid))


def _deviation(azimuth: float, elevation: float) -> float:
    turn = abs((azimuth - PREFERRED[0] + 180.0) % 360.0 - 180.0) / 180.0
    return turn + abs(elevation - PREFERRED[1]) / 90.0


def auto_view(meshes: list[Any], box: Box, lens: Lens, margin: float,
              elevations: tuple[float, ...] = ELEVATIONS) -> ViewScore:
    """The best-scoring candidate angle for these product meshes (world space, framed on `box`).

    Each part (part key, its instances together) scores its visible surface in a view as a share
    of its largest visible surface over all candidates, so a part seen edge-on or peeking round a
    corner counts little and the product's main body counts as much as a small fastener."""
    rays = ProductRays(meshes)
    views = [rays.look(box, az, el, lens, margin) for el in elevations for az in AZIMUTHS]
    by_part: list[dict[str, float]] = [{} for _ in views]
    for view, part_hits in zip(views, by_part, strict=True):
        for index, seen in view.hits.items():  # surface seen, whatever the framing's zoom
            key = rays.keys[index]
            part_hits[key] = part_hits.get(key, 0.0) + seen * view.distance * view.distance
    keys = set(rays.keys)
    best = {key: max(max(h.get(key, 0.0) for h in by_part), 1e-12) for key in keys}
    scores = []
    for view, part_hits in zip(views, by_part, strict=True):
        az, el, hits = view.azimuth, view.elevation, view.hits
        area = sum(part_hits.get(key, 0.0) / best[key] for key in keys) / len(keys)
        objects = len(hits) / max(1, rays.count)
        scores.append(ViewScore(az, el, len(part_hits), len(keys), len(hits), rays.count,
                                view.coverage,
                                area + 0.05 * objects - 0.15 * _deviation(az, el)))
    return max(scores, key=lambda s: (s.score, -_deviation(s.azimuth, s.elevation)))
