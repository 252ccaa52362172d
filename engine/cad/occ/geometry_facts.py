"""Simple geometry facts of a part's exact shape, for material rules that know products.

From OCCT's volume and surface properties (no triangulation): volume, area, principal moments.
- `rotational`: two principal moments agree and the part is no fuller than its bounding cylinder
  (a turned part; an N-fold part such as a cage too; not a square prism).
- `shape`: `ball` (all three moments agree and they match a sphere of the same volume), `ring`
  (rotational with a bore: its axial moment exceeds a solid cylinder's of the same outer radius),
  `cylinder` (rotational, solid), else `other`.
- `thin_walled`: mean wall thickness (2 V / A) under 5% of the part's largest size (a cage, a
  shield, sheet metal).
- `size_mm`: the diagonal of the part's box, for sizes relative to the assembly.
- For a turned part or a ball, where it sits (what product detection needs): `centre_mm` (centre
  of mass, part coordinates), `radius_mm`; a turned part's `axis` (unit direction) and
  `length_mm` along it; a ring's `bore_mm` (the inner radius of the tube of the same moments).
"""

from __future__ import annotations

import math
from typing import Any

MOMENT_TOLERANCE = 0.02
SPHERE_TOLERANCE = 0.04
BORE_RATIO = 1.12
THIN_WALL = 0.05


def _close(a: float, b: float, tolerance: float) -> bool:
    return abs(a - b) <= tolerance * max(abs(a), abs(b), 1e-12)


def _axis_extent(bbox: dict[str, list[float]], axis: tuple[float, float, float]) -> tuple[float, float]:
    """(outer radius, length) about an axis along one of the box's directions."""
    size = [hi - lo for lo, hi in zip(bbox["min"], bbox["max"], strict=True)]
    along = max(range(3), key=lambda i: abs(axis[i]))
    return max(size[i] for i in range(3) if i != along) / 2, size[along]


def classify(volume: float, area: float, moments: tuple[float, float, float],
             axes: tuple[tuple[float, float, float], ...], bbox: dict[str, list[float]],
             centre: tuple[float, float, float] | None = None) -> dict[str, Any]:
    """The facts from mass properties (density 1) and the part's box; pure arithmetic, tested alone."""
    size = [hi - lo for lo, hi in zip(bbox["min"], bbox["max"], strict=True)]
    largest = max(size) if size else 0.0
    facts: dict[str, Any] = {"rotational": False, "shape": "other", "thin_walled": False,
                             "size_mm": round(math.dist(bbox["min"], bbox["max"]), 4)}
    if volume <= 0 or largest <= 0:
        return facts
    facts["thin_walled"] = bool(area > 0 and 2 * volume / area < THIN_WALL * largest)
    pairs = [(i, j) for i in range(3) for j in range(i + 1, 3) if _close(moments[i], moments[j], MOMENT_TOLERANCE)]
    if not pairs:
        return facts
    sphere_r2 = (3 * volume / (4 * math.pi)) ** (2 / 3)
    where = {"centre_mm": [round(c, 4) for c in centre]} if centre is not None else {}
    if len(pairs) == 3 and _close(moments[0] / volume, 0.4 * sphere_r2, SPHERE_TOLERANCE):
        facts.update(rotational=True, shape="ball", radius_mm=round(math.sqrt(sphere_r2), 4), **where)
        return facts
    i, j = pairs[0]
    axis_index = ({0, 1, 2} - {i, j}).pop()
    radius, height = _axis_extent(bbox, axes[axis_index])
    if radius <= 0 or height <= 0 or volume > 1.03 * math.pi * radius * radius * height:
        return facts  # fuller than its bounding cylinder: square or other prism, not turned
    axial = moments[axis_index] / volume  # mean squared distance from the axis
    ring = axial > BORE_RATIO * radius * radius / 2
    facts.update(rotational=True, shape="ring" if ring else "cylinder", axis=[round(c, 6) for c in axes[axis_index]],
                 radius_mm=round(radius, 4), length_mm=round(height, 4), **where)
    if ring:
        facts["bore_mm"] = round(math.sqrt(max(0.0, 2 * axial - radius * radius)), 4)  # (R² + r²) / 2 = axial
    return facts


def shape_facts(shape: Any, bbox: dict[str, list[float]] | None) -> dict[str, Any] | None:
    """The facts of an OCCT shape (None without solids or box: wires, sheets)."""
    from OCP.BRepGProp import BRepGProp
    from OCP.GProp import GProp_GProps

    if bbox is None:
        return None
    volume_props, area_props = GProp_GProps(), GProp_GProps()
    BRepGProp.VolumeProperties_s(shape, volume_props)
    BRepGProp.SurfaceProperties_s(shape, area_props)
    volume = abs(volume_props.Mass())  # a solid read back with reversed faces has a negative volume
    if volume <= 1e-12:
        return None
    principal = volume_props.PrincipalProperties()
    moments = tuple(abs(m) for m in principal.Moments())
    axes = tuple((v.X(), v.Y(), v.Z()) for v in (principal.FirstAxisOfInertia(), principal.SecondAxisOfInertia(),
                                                 principal.ThirdAxisOfInertia()))
    centre = volume_props.CentreOfMass()
    return classify(volume, area_props.Mass(), moments, axes, bbox,  # type: ignore[arg-type]
                    (centre.X(), centre.Y(), centre.Z()))
