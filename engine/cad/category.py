"""The product category read from the parts' geometry facts: a rolling bearing is recognised by
two turned rings about one axis, one inside the other, with at least three like rolling elements
(balls, or rollers along the axis) on one circle in the gap between them.

Vendors name bearing parts `608zz`, `NONE` or `Body12` and often leave them one grey, so names and
colours cannot tell; the extraction already knows each part's shape, axis, radii and placements.
A flange with bolts, a trolley's hubs with bolts around them or a shaft with a key have turned
parts and bolt circles too, but no element sits between two rings nested about the same axis.
Pure arithmetic on the extraction record (millimetres, row-major 4x4 placements): tested alone.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

AXIS_COS = math.cos(math.radians(2.0))  # coaxial: axes within 2 degrees
MIN_ELEMENTS = 3
SAME_SIZE = 0.03  # rolling elements of one set differ by under 3% in radius and pitch
GAP_FILL = (0.5, 1.6)  # element diameter over the radial gap between the rings (grooves make it > 1)
Vector = tuple[float, float, float]


@dataclass(frozen=True)
class Placed:
    """One placed turned part or ball in world millimetres."""

    name: str
    shape: str
    centre: Vector
    axis: Vector | None
    radius: float
    bore: float
    length: float


def _apply(matrix: list[float], point: Vector, direction: bool = False) -> Vector:
    w = 0.0 if direction else 1.0
    x, y, z = point
    return tuple(matrix[4 * r] * x + matrix[4 * r + 1] * y + matrix[4 * r + 2] * z + matrix[4 * r + 3] * w
                 for r in range(3))  # type: ignore[return-value]


def _dot(a: Vector, b: Vector) -> float:
    return a[0] * b[0] + a[1] * b[1] + a[2] * b[2]


def _sub(a: Vector, b: Vector) -> Vector:
    return a[0] - b[0], a[1] - b[1], a[2] - b[2]


def _unit(a: Vector) -> Vector:
    length = math.sqrt(_dot(a, a)) or 1.0
    return a[0] / length, a[1] / length, a[2] / length


def placed_parts(parts: list[dict[str, Any]]) -> list[Placed]:
    """Every instance of a ring, cylinder or ball, placed in the world."""
    identity = [1.0, 0, 0, 0, 0, 1.0, 0, 0, 0, 0, 1.0, 0, 0, 0, 0, 1.0]
    found = []
    for part in parts:
        facts = part.get("geometry") or {}
        if facts.get("shape") not in ("ring", "cylinder", "ball") or "centre_mm" not in facts:
            continue
        for matrix in part.get("placements") or [identity]:
            axis = facts.get("axis")
            found.append(Placed(str(part.get("name", "")), facts["shape"], _apply(matrix, tuple(facts["centre_mm"])),
                                _unit(_apply(matrix, tuple(axis), True)) if axis else None,
                                float(facts.get("radius_mm", 0.0)), float(facts.get("bore_mm", 0.0)),
                                float(facts.get("length_mm", 0.0))))
    return found


def _off_axis(point: Vector, origin: Vector, axis: Vector) -> tuple[float, float]:
    """(distance from the axis line, position along it) of a point."""
    offset = _sub(point, origin)
    along = _dot(offset, axis)
    radial = _sub(offset, (axis[0] * along, axis[1] * along, axis[2] * along))
    return math.sqrt(_dot(radial, radial)), along


def _coaxial(inner: Placed, outer: Placed) -> bool:
    assert inner.axis is not None and outer.axis is not None
    return abs(_dot(inner.axis, outer.axis)) >= AXIS_COS and \
        _off_axis(inner.centre, outer.centre, outer.axis)[0] <= 0.02 * outer.radius + 0.01


def _ring_pairs(placed: list[Placed]) -> list[tuple[Placed, Placed]]:
    """(inner, outer) rings about one axis, the inner one inside the outer one's bore."""
    rings = [p for p in placed if p.shape == "ring" and p.axis is not None]
    return [(a, b) for a in rings for b in rings
            if a is not b and a.radius <= b.bore * 1.02 and b.bore - a.radius > 0 and _coaxial(a, b)]


def _element_sets(placed: list[Placed]) -> list[list[Placed]]:
    """Balls, and cylinders, grouped by radius (a set of rolling elements is alike)."""
    sets: list[list[Placed]] = []
    for element in (p for p in placed if p.shape in ("ball", "cylinder")):
        for group in sets:
            if group[0].shape == element.shape and abs(group[0].radius - element.radius) <= SAME_SIZE * element.radius:
                group.append(element)
                break
        else:
            sets.append([element])
    return [group for group in sets if len(group) >= MIN_ELEMENTS]


def _rolls_between(elements: list[Placed], inner: Placed, outer: Placed) -> dict[str, Any] | None:
    """The evidence that `elements` roll in the gap between the two rings, or None."""
    axis, origin = outer.axis, outer.centre
    assert axis is not None
    where = [_off_axis(e.centre, origin, axis) for e in elements]
    pitch = sum(d for d, _ in where) / len(where)
    radius = elements[0].radius
    if any(abs(d - pitch) > SAME_SIZE * pitch for d, _ in where):
        return None  # not on one circle
    if not (inner.radius - radius <= pitch <= outer.bore + radius):
        return None  # not between the rings
    if not GAP_FILL[0] <= 2 * radius / (outer.bore - inner.radius) <= GAP_FILL[1]:
        return None  # far smaller or larger than the gap: not what rolls in it
    spans = [(_off_axis(ring.centre, origin, axis)[1], ring.length / 2) for ring in (inner, outer)]
    low, high = max(s - h for s, h in spans) - radius, min(s + h for s, h in spans) + radius
    if any(not low <= along <= high for _, along in where):
        return None  # beside the rings, not between them
    if elements[0].shape == "cylinder" and any(e.axis is None or abs(_dot(e.axis, axis)) < AXIS_COS for e in elements):
        return None  # rollers of a cylindrical or needle bearing lie along its axis
    return {"rolling_elements": {"kind": "balls" if elements[0].shape == "ball" else "rollers",
                                 "count": len(elements), "radius_mm": round(radius, 3),
                                 "names": sorted({e.name for e in elements})[:5]},
            "pitch_radius_mm": round(pitch, 3), "axis": [round(c, 4) for c in axis],
            "inner_ring": inner.name, "outer_ring": outer.name}


def detect_category(parts: list[dict[str, Any]]) -> dict[str, Any] | None:
    """`{"name": "bearing", "evidence": {...}}` when the parts make a rolling bearing, else None."""
    placed = placed_parts(parts)
    pairs = _ring_pairs(placed)
    if not pairs:
        return None
    for elements in _element_sets(placed):
        for inner, outer in pairs:
            evidence = _rolls_between(elements, inner, outer)
            if evidence is not None:
                return {"name": "bearing", "evidence": evidence}
    return None


def resolve_category(setting: str, order_line: str, detected: dict[str, Any] | None) -> dict[str, Any]:
    """The category the rules use and where it came from: the node's setting, else the order
    line's (`none` turns detection off), else the one detected from the geometry."""
    for value, source in ((setting, "node setting"), (order_line, "order line")):
        if value and value.strip().lower() == "none":
            return {"name": "", "source": f"{source}: none (detection off)"}
        if value:
            return {"name": value, "source": source}
    if detected:
        return {"name": detected["name"], "source": "geometry", "evidence": detected.get("evidence", {})}
    return {"name": "", "source": "none"}


def describe_evidence(evidence: dict[str, Any]) -> str:
    """One log line's worth of the evidence."""
    rolling = evidence.get("rolling_elements", {})
    return (f"{rolling.get('count')} {rolling.get('kind')} on a {evidence.get('pitch_radius_mm')} mm pitch circle "
            f"between '{evidence.get('inner_ring')}' and '{evidence.get('outer_ring')}'")
