"""Walk an XCAF document into plain data: parts (unique products) with instances, and the tree.

A product placed N times (a bearing's balls) is one part with N placements, never N copies.
All lengths are millimetres (the reader converted them), placements are world 4x4 row-major.

Identity never depends on names: a part's key is its product label's entry (`0:1:1:3`), an
instance's key the path of label entries from the root (`0:1:1:1/0:1:1:1:2`), which is also how
the GLB writer's nodes are tied back to parts. Names are for people: the product's name, else the
product wrapping a bare representation (exporters name those `SOLID`, `COMPOUND`), else the
PRODUCT read from the file where OCCT left the label nameless (product_names), else the instance
name, a numbered name (`PART12`), a generated `<assembly> <n>` last; placeholders (`NONE`,
`=>[0:1:1:3]`) are no names; unique through a `_2` suffix.
Shapes with no faces (PMI and annotation curves, points, text) are not parts: they are counted.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Any

from .geometry_facts import shape_facts
from .product_names import is_numbered_name, is_placeholder_name
from .step_reader import StepDocument

# Names exporters give shape representations and their items, not products (compared upper-case,
# trailing digits and separators ignored): a part so named is named after its product instead.
REPRESENTATION_NAMES = frozenset({
    "", "SOLID", "SOLIDS", "COMPOUND", "SHELL", "SHELLS", "SURFACE", "SURFACES", "BODY", "BODIES", "FACE",
    "MANIFOLD_SOLID_BREP", "BREP", "SHAPE", "NONE", "UNKNOWN",
    "SHELL_BASED_SURFACE_MODEL", "MESH", "TESSELLATED_SOLID", "TESSELLATED_SHELL", "GEOMETRIC_CURVE_SET"})


def is_representation_name(name: str | None) -> bool:
    """Whether a label name is what exporters call a representation (`SOLID`, `Body2`, `COMPOUND:1`)
    or OCCT a shape it had no name for, rather than a product's name."""
    text = (name or "").strip().upper()
    return re.sub(r"[\s_\-.:]*\d*$", "", text) in REPRESENTATION_NAMES or text.startswith(
        "OPEN CASCADE STEP TRANSLATOR")


def is_real_name(name: str | None) -> bool:
    """A name a person gave: not empty, not a placeholder, not a representation's name."""
    return bool(name) and not is_placeholder_name(name) and not is_representation_name(name)


@dataclass
class PartInfo:
    """One unique product: its label and key, a unique name (and where it came from), colour,
    layers, geometry facts and world placements with their instance keys."""

    label: Any
    key: str
    name: str
    name_source: str
    colour: str | None
    layers: list[str]
    bbox_mm: dict[str, list[float]] | None
    geometry: dict[str, Any] = field(default_factory=dict)
    placements: list[list[float]] = field(default_factory=list)
    instance_keys: list[str] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return {"key": self.key, "name": self.name, "name_source": self.name_source, "colour": self.colour,
                "instances": len(self.placements), "instance_keys": self.instance_keys, "bbox_mm": self.bbox_mm,
                "geometry": self.geometry, "layers": self.layers, "placements": self.placements}


def has_tessellated_face(shape: Any) -> bool:
    """Whether a shape has a face that is a triangulation only (AP242 tessellated geometry)."""
    from OCP.BRep import BRep_Tool
    from OCP.TopAbs import TopAbs_FACE
    from OCP.TopExp import TopExp_Explorer
    from OCP.TopoDS import TopoDS

    explorer = TopExp_Explorer(shape, TopAbs_FACE)
    while explorer.More():
        if not BRep_Tool.IsGeometric_s(TopoDS.Face(explorer.Current())):
            return True
        explorer.Next()
    return False


def has_open_surface(shape: Any) -> bool:
    """Whether a shape has a shell outside any solid or a face outside any shell (seen from both
    sides, so it must render double-sided)."""
    from OCP.TopAbs import TopAbs_FACE, TopAbs_SHELL, TopAbs_SOLID
    from OCP.TopExp import TopExp_Explorer

    return TopExp_Explorer(shape, TopAbs_SHELL, TopAbs_SOLID).More() or \
        TopExp_Explorer(shape, TopAbs_FACE, TopAbs_SHELL).More()


def shape_counts(shape: Any) -> dict[str, int]:
    """Counts that say what kind of geometry a part is: solids, shells outside solids (open
    surface models), faces outside shells (free surfaces), faces with a triangulation but no
    surface (AP242 tessellated geometry), and edges outside faces (wireframe)."""
    from OCP.BRep import BRep_Tool
    from OCP.TopAbs import TopAbs_EDGE, TopAbs_FACE, TopAbs_SHELL, TopAbs_SOLID
    from OCP.TopExp import TopExp_Explorer
    from OCP.TopoDS import TopoDS

    def count(kind: Any, avoid: Any = None) -> int:
        explorer = TopExp_Explorer(shape, kind) if avoid is None else TopExp_Explorer(shape, kind, avoid)
        found = 0
        while explorer.More():
            found += 1
            explorer.Next()
        return found

    tessellated, faces = 0, 0
    explorer = TopExp_Explorer(shape, TopAbs_FACE)
    while explorer.More():
        faces += 1
        tessellated += not BRep_Tool.IsGeometric_s(TopoDS.Face(explorer.Current()))
        explorer.Next()
    return {"solids": count(TopAbs_SOLID), "shells": count(TopAbs_SHELL, TopAbs_SOLID),
            "free_faces": count(TopAbs_FACE, TopAbs_SHELL), "faces": faces, "tessellated_faces": tessellated,
            "free_edges": count(TopAbs_EDGE, TopAbs_FACE)}


def part_geometry(shape: Any, bbox: dict[str, list[float]] | None) -> dict[str, Any]:
    """What the extraction records of a part's geometry: its counts (what kind of geometry it
    is) and, for a solid, the facts material rules match on (rotational, shape, thin walls, size)."""
    return {**shape_counts(shape), **(shape_facts(shape, bbox) or {})}


def label_name(label: Any, unfit: bool = False) -> str | None:
    """The label's name; `unfit` when the file was read without code page conversion (its 8-bit
    bytes fit no code page): the bytes are then decoded as UTF-8 with replacement characters."""
    from OCP.TDataStd import TDataStd_Name

    from .codepage import decode_unfit

    if not label.IsAttribute(TDataStd_Name.GetID_s()):
        return None  # FindAttribute on a label without a name crashes through the bindings
    attribute = TDataStd_Name()
    if label.FindAttribute(TDataStd_Name.GetID_s(), attribute):
        name = str(attribute.Get().ToExtString()).strip()
        return (decode_unfit(name) if unfit else name) or None
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
    """Collects unique parts, the assembly tree, what each written occurrence (a root or a component
    label, by entry) is, and the shapes that are not parts, from the document's free shapes."""

    def __init__(self, step: StepDocument, facts: bool = True) -> None:
        self.step = step
        self.facts = facts  # bbox and geometry counts: extraction wants them, the GLB writer not
        self.unfit = step.codepage.name == "none"
        self.parts: dict[str, PartInfo] = {}
        # entry of each written root or component label -> (part key or None, name, instance name)
        self.occurrences: dict[str, tuple[str | None, str, str | None]] = {}
        self.open_surfaces: set[str] = set()  # keys of parts with open shells or free faces
        self.tessellated: set[str] = set()  # keys of parts with triangulation-only faces
        self.skipped: dict[str, str] = {}  # product entry -> name, for shapes without faces
        self._names: set[str] = set()
        self._generated_count: dict[str, int] = {}

    def name(self, label: Any) -> str | None:
        return label_name(label, self.unfit)

    def _unique(self, name: str) -> str:
        candidate, suffix = name, 2
        while candidate in self._names:
            candidate, suffix = f"{name}_{suffix}", suffix + 1
        self._names.add(candidate)
        return candidate

    def _product(self, label: Any) -> tuple[str, str]:
        """(name, id) of the label's PRODUCT read from the file where OCCT left the label nameless."""
        return self.step.product_names.get(label_entry(label), ("", "")) if label is not None else ("", "")

    def _generated(self, context: str) -> str:
        """`<assembly or file name> <n>`: a readable name for a part the file names nowhere."""
        self._generated_count[context] = self._generated_count.get(context, 0) + 1
        return f"{context} {self._generated_count[context]}"

    def _part_name(self, label: Any, wrapper: Any, instance_name: str | None, context: str) -> tuple[str, str]:
        """(name, where it came from): the product's own name; the product that only wraps this
        representation; the PRODUCT read from the file (name, then id); the instance; a numbered
        name (`PART12`); a generated one. Placeholders and representation names are no names."""
        own, outer = self.name(label), self.name(wrapper) if wrapper is not None else None
        for name in (own, outer):
            if is_real_name(name):
                return str(name), "product"
        for product_name, product_id in (self._product(label), self._product(wrapper)):
            if is_real_name(product_name):
                return product_name, "product"
            if is_real_name(product_id):
                return product_id, "product_id"
        if is_real_name(instance_name):
            return str(instance_name), "instance"
        for name in (own, outer, instance_name):
            if is_numbered_name(name):
                return str(name), "numbered"
        return self._generated(context), "generated"

    def _assembly_name(self, label: Any, instance_name: str | None) -> str | None:
        """An assembly's real name: its instance's, its own, its PRODUCT's (name, then id)."""
        for name in (instance_name, self.name(label), *self._product(label)):
            if is_real_name(name):
                return name
        return None

    def _part(self, label: Any, wrapper: Any, instance_name: str | None, context: str) -> PartInfo | None:
        from OCP.XCAFDoc import XCAFDoc_ShapeTool

        from .step_reader import has_faces

        entry = label_entry(label)
        if entry in self.parts:
            return self.parts[entry]
        if entry in self.skipped:
            return None
        shape = XCAFDoc_ShapeTool.GetShape_s(label)
        if not has_faces(shape):
            self.skipped[entry] = self.name(label) or instance_name or entry
            return None
        name, source = self._part_name(label, wrapper, instance_name, context)
        bbox = shape_bbox_mm(shape) if self.facts else None
        part = PartInfo(label, entry, self._unique(name), source, label_colour(label) if self.facts else None,
                        label_layers(self.step, label) if self.facts else [],
                        bbox, part_geometry(shape, bbox) if self.facts else {})
        self.parts[entry] = part
        if has_open_surface(shape):
            self.open_surfaces.add(entry)
        if has_tessellated_face(shape):
            self.tessellated.add(entry)
        return part

    def walk(self, label: Any, world: Any, path: str, occurrence: Any = None, wrapper: Any = None,
             instance_name: str | None = None, context: str = "") -> dict[str, Any] | None:
        """The tree node of `label` placed at `world` (a gp_Trsf), reached by the instance path
        `path` through `occurrence` (its component label, or itself at the root); None for a
        shape that is not a part. `context` is the nearest named assembly (or the file's name),
        which generated part names start with."""
        from OCP.OCP.collections import Sequence_TDF_Label as Labels
        from OCP.TDF import TDF_Label
        from OCP.XCAFDoc import XCAFDoc_ShapeTool

        written = label_entry(occurrence if occurrence is not None else label)
        if not XCAFDoc_ShapeTool.IsAssembly_s(label):
            part = self._part(label, wrapper, instance_name, context or self.step.source.stem)
            self.occurrences[written] = (part.key if part else None, part.name if part else "", instance_name)
            if part is None:
                return None
            part.placements.append(trsf_matrix(world))
            part.instance_keys.append(path)
            return {"name": instance_name or part.name, "children": [], "part": part.name, "part_key": part.key,
                    "instance": path}
        named = self._assembly_name(label, instance_name)
        node_name = named or (f"{context} assembly" if context else self.step.source.stem)
        self.occurrences[written] = (None, node_name, None)
        node: dict[str, Any] = {"name": node_name, "children": [], "part": None, "instance": path}
        components = Labels()
        XCAFDoc_ShapeTool.GetComponents_s(label, components, False)
        only = label if len(components) == 1 else None  # a product wrapping one representation
        for index in range(1, len(components) + 1):
            component = components.Value(index)
            referred = TDF_Label()
            XCAFDoc_ShapeTool.GetReferredShape_s(component, referred)
            local = XCAFDoc_ShapeTool.GetLocation_s(component).Transformation()
            instance = self.name(component)
            child = self.walk(referred, world.Multiplied(local), f"{path}/{label_entry(component)}", component,
                              only, instance if is_real_name(instance) else None, named or context)
            if child is not None:
                node["children"].append(child)
        return node


def label_entry(label: Any) -> str:
    from OCP.TCollection import TCollection_AsciiString
    from OCP.TDF import TDF_Tool

    entry = TCollection_AsciiString()
    TDF_Tool.Entry_s(label, entry)
    return str(entry.ToCString())


def walk_document(step: StepDocument, facts: bool = True) -> tuple[AssemblyWalker, dict[str, Any]]:
    """The walker after visiting every free shape, and the tree rooted at them."""
    from OCP.gp import gp_Trsf

    walker = AssemblyWalker(step, facts)
    trees = [tree for tree in (walker.walk(label, gp_Trsf(), label_entry(label)) for label in step.roots) if tree]
    parts = {part.name for part in walker.parts.values()}
    for entry, (key, name, instance) in walker.occurrences.items():
        if key is None and name in parts:  # an assembly never takes a part's name (Blender would rename the part)
            walker.occurrences[entry] = (key, f"{name} (assembly)", instance)
    tree = trees[0] if len(trees) == 1 else {"name": step.source.stem, "children": trees, "part": None}
    return walker, tree


def describe_assembly(step: StepDocument) -> tuple[list[PartInfo], dict[str, Any]]:
    """Every unique part (in first-seen order) and the tree rooted at the file's free shapes."""
    walker, tree = walk_document(step)
    return list(walker.parts.values()), tree
