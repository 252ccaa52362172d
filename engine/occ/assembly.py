"""Walk an XCAF document into plain data: parts (unique products) with instances, and the tree.

A product placed N times (a bearing's balls) is one part with N placements, never N copies.
All lengths are millimetres (the reader converted them), placements are world 4x4 row-major.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from .geometry_facts import shape_facts
from .step_reader import StepDocument


@dataclass
class PartInfo:
    """One unique product: its label, a unique name, colour, layers and world placements."""

    label: Any
    name: str
    colour: str | None
    layers: list[str]
    bbox_mm: dict[str, list[float]] | None
    placements: list[list[float]] = field(default_factory=list)
    geometry: dict[str, Any] | None = None

    def as_json(self) -> dict[str, Any]:
        return {"name": self.name, "colour": self.colour, "instances": len(self.placements),
                "bbox_mm": self.bbox_mm, "layers": self.layers, "placements": self.placements,
                "geometry": self.geometry}


def label_name(label: Any) -> str | None:
    from OCP.TDataStd import TDataStd_Name

    if not label.IsAttribute(TDataStd_Name.GetID_s()):
        return None  # FindAttribute on a label without a name crashes through the bindings
    attribute = TDataStd_Name()
    if label.FindAttribute(TDataStd_Name.GetID_s(), attribute):
        return str(attribute.Get().ToExtString()).strip() or None
    return None


def colour_hex(colour: Any) -> str:
    """An OCCT colour (linear RGB inside) as the '#rrggbb' sRGB a person sees in CAD."""
    from OCP.Quantity import Quantity_TOC_sRGB

    r, g, b = colour.Values(Quantity_TOC_sRGB)
    return "#" + "".join(f"{round(max(0.0, min(1.0, c)) * 255):02x}" for c in (r, g, b))


def label_colour(label: Any) -> str | None:
    """Colour set on the product (generic, surface or curve), else the first coloured sub-shape."""
    from OCP.OCP.collections import Sequence_TDF_Label as Labels
    from OCP.Quantity import Quantity_Color
    from OCP.XCAFDoc import (
        XCAFDoc_ColorCurv,
        XCAFDoc_ColorGen,
        XCAFDoc_ColorSurf,
        XCAFDoc_ColorTool,
        XCAFDoc_ShapeTool,
    )

    colour = Quantity_Color()
    for kind in (XCAFDoc_ColorSurf, XCAFDoc_ColorGen, XCAFDoc_ColorCurv):
        if XCAFDoc_ColorTool.GetColor_s(label, kind, colour):
            return colour_hex(colour)
    subs = Labels()
    XCAFDoc_ShapeTool.GetSubShapes_s(label, subs)
    for index in range(1, len(subs) + 1):
        for kind in (XCAFDoc_ColorSurf, XCAFDoc_ColorGen):
            if XCAFDoc_ColorTool.GetColor_s(subs.Value(index), kind, colour):
                return colour_hex(colour)
    return None


def label_layers(step: StepDocument, label: Any) -> list[str]:
    names = step.layer_tool.GetLayers(label)
    return sorted({str(names.Value(i).ToExtString()) for i in range(1, len(names) + 1)})


def shape_bbox_mm(shape: Any) -> dict[str, list[float]] | None:
    """OCCT's optimal box of a shape from its exact geometry (no triangulation needed, so extract
    stays cheap). Tight for planes, cylinders and whole surfaces; a trimmed curved patch is bounded
    by its UV rectangle, so it can be loose (the sample cage's spherical pockets widen it ~2 mm).

    The optimal box of a face is costly (an optimisation over its surface), so faces are taken
    largest first and a face whose cheap, conservative box lies inside the box so far is skipped:
    the same box as AddOptimal on the whole shape, in about 40% of the time."""
    from OCP.Bnd import Bnd_Box
    from OCP.BRepBndLib import BRepBndLib

    box = Bnd_Box()
    faces = _faces_largest_first(shape)
    if not faces:
        BRepBndLib.AddOptimal_s(shape, box, False, False)  # wires or points only
    for loose, face in faces:
        if box.IsVoid() or not _inside(loose, _corners(box)):
            BRepBndLib.AddOptimal_s(face, box, False, False)
    if box.IsVoid():
        return None
    low_high = _corners(box)
    return {"min": [round(v, 6) for v in low_high[:3]], "max": [round(v, 6) for v in low_high[3:]]}


def _corners(box: Any) -> tuple[float, ...]:
    low, high = box.CornerMin(), box.CornerMax()
    return low.X(), low.Y(), low.Z(), high.X(), high.Y(), high.Z()


def _inside(inner: tuple[float, ...], outer: tuple[float, ...]) -> bool:
    return all(inner[i] >= outer[i] for i in range(3)) and all(inner[i] <= outer[i] for i in range(3, 6))


def _faces_largest_first(shape: Any) -> list[tuple[tuple[float, ...], Any]]:
    """Each face with its quick box (curve and pole hulls, widened by tolerance: never too small)."""
    from OCP.Bnd import Bnd_Box
    from OCP.BRepBndLib import BRepBndLib
    from OCP.TopAbs import TopAbs_FACE
    from OCP.TopExp import TopExp_Explorer

    faces = []
    explorer = TopExp_Explorer(shape, TopAbs_FACE)
    while explorer.More():
        loose = Bnd_Box()
        BRepBndLib.Add_s(explorer.Current(), loose, False)
        unknown = (-math.inf,) * 3 + (math.inf,) * 3  # no quick box: always take the exact one
        faces.append((unknown if loose.IsVoid() else _corners(loose), explorer.Current()))
        explorer.Next()
    return sorted(faces, key=lambda item: -max(item[0][i + 3] - item[0][i] for i in range(3)))


def trsf_matrix(trsf: Any) -> list[float]:
    """A gp_Trsf as 16 floats, row-major 4x4 (translation in the last column, mm)."""
    rows = [[trsf.Value(r, c) for c in range(1, 5)] for r in range(1, 4)]
    return [round(v, 9) for row in rows for v in row] + [0.0, 0.0, 0.0, 1.0]


class AssemblyWalker:
    """Collects unique parts and the assembly tree from the document's free shapes."""

    def __init__(self, step: StepDocument) -> None:
        self.step = step
        self.parts: dict[str, PartInfo] = {}
        self._names: set[str] = set()

    def _unique(self, name: str) -> str:
        candidate, suffix = name, 2
        while candidate in self._names:
            candidate, suffix = f"{name}_{suffix}", suffix + 1
        self._names.add(candidate)
        return candidate

    def _part(self, label: Any) -> PartInfo:
        from OCP.XCAFDoc import XCAFDoc_ShapeTool

        entry = label_entry(label)
        if entry not in self.parts:
            name = self._unique(label_name(label) or f"part_{len(self.parts) + 1}")
            shape = XCAFDoc_ShapeTool.GetShape_s(label)
            bbox = shape_bbox_mm(shape)
            self.parts[entry] = PartInfo(label, name, label_colour(label), label_layers(self.step, label), bbox,
                                         geometry=shape_facts(shape, bbox))
        return self.parts[entry]

    def walk(self, label: Any, world: Any, instance_name: str | None = None) -> dict[str, Any]:
        """The tree node of `label` placed at `world` (a gp_Trsf), recording part placements."""
        from OCP.OCP.collections import Sequence_TDF_Label as Labels
        from OCP.TDF import TDF_Label
        from OCP.XCAFDoc import XCAFDoc_ShapeTool

        if not XCAFDoc_ShapeTool.IsAssembly_s(label):
            part = self._part(label)
            part.placements.append(trsf_matrix(world))
            return {"name": instance_name or part.name, "children": [], "part": part.name}
        node: dict[str, Any] = {"name": instance_name or label_name(label) or "assembly", "children": [],
                                "part": None}
        components = Labels()
        XCAFDoc_ShapeTool.GetComponents_s(label, components, False)
        for index in range(1, len(components) + 1):
            component = components.Value(index)
            referred = TDF_Label()
            XCAFDoc_ShapeTool.GetReferredShape_s(component, referred)
            local = XCAFDoc_ShapeTool.GetLocation_s(component).Transformation()
            node["children"].append(self.walk(referred, world.Multiplied(local), label_name(component)))
        return node


def label_entry(label: Any) -> str:
    from OCP.TCollection import TCollection_AsciiString
    from OCP.TDF import TDF_Tool

    entry = TCollection_AsciiString()
    TDF_Tool.Entry_s(label, entry)
    return str(entry.ToCString())


def describe_assembly(step: StepDocument) -> tuple[list[PartInfo], dict[str, Any]]:
    """Every unique part (in first-seen order) and the tree rooted at the file's free shapes."""
    from OCP.gp import gp_Trsf

    walker = AssemblyWalker(step)
    trees = [walker.walk(label, gp_Trsf()) for label in step.roots]
    tree = trees[0] if len(trees) == 1 else {"name": step.source.stem, "children": trees, "part": None}
    return list(walker.parts.values()), tree
