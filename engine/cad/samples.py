"""Sample STEP files built with OCP: test fixtures, bench inputs and the README's sample.

Every builder writes a real STEP file through XCAF (names, colours, layers, instances) so the CAD
nodes are exercised on the same kind of file a customer sends. OCP is imported inside functions:
the engine must import without OpenCascade.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

BEARING_BALLS = 9
# Bearing 6200-like proportions in millimetres.
BORE_R, INNER_R, OUTER_IN_R, OUTER_R, WIDTH = 5.0, 8.0, 12.0, 15.0, 9.0
PITCH_R, BALL_R = 10.0, 2.4

INCH = 25.4


@dataclass
class PartSpec:
    """A product to put in a sample document: its shape, name, colour and layer, and colours of
    single faces (by their index in TopExp_Explorer order) that differ from the part's."""

    name: str
    shape: Any
    colour: str | None = None
    layer: str | None = None
    face_colours: dict[int, str] = field(default_factory=dict)


@dataclass
class AssemblySpec:
    """An assembly: a name and its components (part or assembly, placement as a gp_Trsf)."""

    name: str
    components: list[tuple[PartSpec | AssemblySpec, Any]] = field(default_factory=list)


# --- geometry helpers ---------------------------------------------------------------------------

def _cylinder(radius: float, height: float, z0: float = 0.0) -> Any:
    from OCP.BRepPrimAPI import BRepPrimAPI_MakeCylinder
    from OCP.gp import gp_Ax2, gp_Dir, gp_Pnt

    return BRepPrimAPI_MakeCylinder(gp_Ax2(gp_Pnt(0, 0, z0), gp_Dir(0, 0, 1)), radius, height).Shape()


def _cut(shape: Any, *tools: Any) -> Any:
    from OCP.BRepAlgoAPI import BRepAlgoAPI_Cut

    for tool in tools:
        shape = BRepAlgoAPI_Cut(shape, tool).Shape()
    return shape


def _tube(r_in: float, r_out: float, height: float, z0: float = 0.0) -> Any:
    return _cut(_cylinder(r_out, height, z0), _cylinder(r_in, height + 2, z0 - 1))


def _torus(major: float, minor: float, z: float) -> Any:
    from OCP.BRepPrimAPI import BRepPrimAPI_MakeTorus
    from OCP.gp import gp_Ax2, gp_Dir, gp_Pnt

    return BRepPrimAPI_MakeTorus(gp_Ax2(gp_Pnt(0, 0, z), gp_Dir(0, 0, 1)), major, minor).Shape()


def _sphere(radius: float, x: float = 0.0, y: float = 0.0, z: float = 0.0) -> Any:
    from OCP.BRepPrimAPI import BRepPrimAPI_MakeSphere
    from OCP.gp import gp_Pnt

    return BRepPrimAPI_MakeSphere(gp_Pnt(x, y, z), radius).Shape()


def box(dx: float, dy: float, dz: float, x: float = 0.0, y: float = 0.0, z: float = 0.0) -> Any:
    from OCP.BRepPrimAPI import BRepPrimAPI_MakeBox
    from OCP.gp import gp_Pnt

    return BRepPrimAPI_MakeBox(gp_Pnt(x, y, z), dx, dy, dz).Shape()


def placement(x: float = 0.0, y: float = 0.0, z: float = 0.0, angle_z: float = 0.0) -> Any:
    """A placement: rotation about Z (radians) then translation."""
    from OCP.gp import gp_Ax1, gp_Dir, gp_Pnt, gp_Trsf, gp_Vec

    rotation = gp_Trsf()
    rotation.SetRotation(gp_Ax1(gp_Pnt(0, 0, 0), gp_Dir(0, 0, 1)), angle_z)
    translation = gp_Trsf()
    translation.SetTranslation(gp_Vec(x, y, z))
    return translation.Multiplied(rotation)


# --- XCAF document writing ----------------------------------------------------------------------

def _rgb(colour: str) -> tuple[float, float, float]:
    """'#rrggbb' as sRGB fractions: STEP's COLOUR_RGB holds display (sRGB) values."""
    return tuple(int(colour[i:i + 2], 16) / 255.0 for i in (1, 3, 5))  # type: ignore[return-value]


class _DocWriter:
    """Builds an XCAF document from specs; a product used many times is added once."""

    def __init__(self, length_unit_m: float = 0.001) -> None:
        from OCP.TCollection import TCollection_ExtendedString
        from OCP.TDocStd import TDocStd_Document
        from OCP.XCAFApp import XCAFApp_Application
        from OCP.XCAFDoc import XCAFDoc_DocumentTool

        self.doc = TDocStd_Document(TCollection_ExtendedString("XmlOcaf"))
        XCAFApp_Application.GetApplication_s().InitDocument(self.doc)
        XCAFDoc_DocumentTool.SetLengthUnit_s(self.doc, length_unit_m)
        self.shapes = XCAFDoc_DocumentTool.ShapeTool_s(self.doc.Main())
        self.colours = XCAFDoc_DocumentTool.ColorTool_s(self.doc.Main())
        self.layers = XCAFDoc_DocumentTool.LayerTool_s(self.doc.Main())
        self._labels: dict[int, Any] = {}

    @staticmethod
    def _name(label: Any, name: str) -> None:
        from OCP.TCollection import TCollection_ExtendedString
        from OCP.TDataStd import TDataStd_Name

        TDataStd_Name.Set_s(label, TCollection_ExtendedString(name, True))  # UTF-8 in

    def _part(self, spec: PartSpec) -> Any:
        from OCP.Quantity import Quantity_Color, Quantity_TOC_sRGB
        from OCP.TCollection import TCollection_ExtendedString
        from OCP.XCAFDoc import XCAFDoc_ColorGen

        label = self.shapes.AddShape(spec.shape, False)
        self._name(label, spec.name)
        if spec.colour:
            self.colours.SetColor(label, Quantity_Color(*_rgb(spec.colour), Quantity_TOC_sRGB), XCAFDoc_ColorGen)
        if spec.layer:
            self.layers.SetLayer(label, TCollection_ExtendedString(spec.layer, True))
        if spec.face_colours:
            self._colour_faces(label, spec)
        return label

    def _colour_faces(self, label: Any, spec: PartSpec) -> None:
        from OCP.Quantity import Quantity_Color, Quantity_TOC_sRGB
        from OCP.TopAbs import TopAbs_FACE
        from OCP.TopExp import TopExp_Explorer
        from OCP.XCAFDoc import XCAFDoc_ColorSurf

        explorer, index = TopExp_Explorer(spec.shape, TopAbs_FACE), 0
        while explorer.More():
            if index in spec.face_colours:
                face = self.shapes.AddSubShape(label, explorer.Current())
                colour = Quantity_Color(*_rgb(spec.face_colours[index]), Quantity_TOC_sRGB)
                self.colours.SetColor(face, colour, XCAFDoc_ColorSurf)
            explorer.Next()
            index += 1

    def label(self, spec: PartSpec | AssemblySpec) -> Any:
        key = id(spec)
        if key not in self._labels:
            self._labels[key] = self._part(spec) if isinstance(spec, PartSpec) else self._assembly(spec)
        return self._labels[key]

    def _assembly(self, spec: AssemblySpec) -> Any:
        from OCP.TopLoc import TopLoc_Location

        label = self.shapes.NewShape()
        self._name(label, spec.name)
        for index, (child, placement) in enumerate(spec.components, start=1):
            component = self.shapes.AddComponent(label, self.label(child), TopLoc_Location(placement))
            self._name(component, f"{child.name}:{index}")
        return label

    def write(self, path: Path, unit: str = "MM") -> Path:
        from OCP.IFSelect import IFSelect_RetDone
        from OCP.Interface import Interface_Static
        from OCP.STEPCAFControl import STEPCAFControl_Writer
        from OCP.STEPControl import STEPControl_AsIs

        self.shapes.UpdateAssemblies()
        writer = STEPCAFControl_Writer()
        writer.SetNameMode(True)
        writer.SetColorMode(True)
        writer.SetLayerMode(True)
        Interface_Static.SetCVal_s("write.step.unit", unit)
        try:
            writer.Transfer(self.doc, STEPControl_AsIs)
            path.parent.mkdir(parents=True, exist_ok=True)
            if writer.Write(str(path)) != IFSelect_RetDone:
                raise OSError(f"could not write STEP file {path}")
        finally:
            Interface_Static.SetCVal_s("write.step.unit", "MM")
        return path


def write_step(root: PartSpec | AssemblySpec, path: str | Path, unit: str = "MM") -> Path:
    """Write one part or assembly to a STEP file; `unit` is the file's length unit (MM, INCH)."""
    from .occ.quiet import silence_occt

    silence_occt()
    unit_m = {"MM": 0.001, "INCH": 0.0254, "M": 1.0}[unit]
    writer = _DocWriter(unit_m)
    writer.label(root)
    return writer.write(Path(path), unit)


# --- the samples --------------------------------------------------------------------------------

def bearing_spec(balls: int = BEARING_BALLS) -> AssemblySpec:
    """A deep-groove ball bearing: two grooved rings, a cage with pockets, balls as instances."""
    mid = WIDTH / 2
    groove = _torus(PITCH_R, BALL_R * 1.04, mid)
    inner = PartSpec("inner_ring", _cut(_tube(BORE_R, INNER_R, WIDTH), groove), "#b4b4be", "rings")
    outer = PartSpec("outer_ring", _cut(_tube(OUTER_IN_R, OUTER_R, WIDTH), groove), "#6e7380", "rings")
    pockets = [_sphere(BALL_R * 1.08, PITCH_R * math.cos(a), PITCH_R * math.sin(a), mid)
               for a in (2 * math.pi * i / balls for i in range(balls))]
    cage = PartSpec("cage", _cut(_tube(PITCH_R - 0.6, PITCH_R + 0.6, 6.6, mid - 3.3), *pockets),
                    "#c8962d", "cage")
    ball = PartSpec("ball", _sphere(BALL_R), "#e6e6f0", "rolling")
    bearing = AssemblySpec("bearing_6200", [(outer, placement()), (inner, placement()), (cage, placement())])
    for i in range(balls):
        angle = 2 * math.pi * i / balls
        bearing.components.append((ball, placement(PITCH_R * math.cos(angle), PITCH_R * math.sin(angle), mid)))
    return bearing


def single_part_spec() -> PartSpec:
    """An L-bracket with two holes: one solid, one colour."""
    plate = box(40, 20, 4)
    upright = box(4, 20, 30)
    from OCP.BRepAlgoAPI import BRepAlgoAPI_Fuse

    body = BRepAlgoAPI_Fuse(plate, upright).Shape()
    from OCP.gp import gp_Trsf, gp_Vec

    holes = []
    for x in (15.0, 30.0):
        move = gp_Trsf()
        move.SetTranslation(gp_Vec(x, 10, 0))
        from OCP.BRepBuilderAPI import BRepBuilderAPI_Transform

        holes.append(BRepBuilderAPI_Transform(_cylinder(3, 10, -2), move).Shape())
    return PartSpec("bracket", _cut(body, *holes), "#2a5db0", "body")


def nested_spec() -> AssemblySpec:
    """Two levels of instancing: a frame holding two wheel units, each a hub with four bolts."""
    bolt = PartSpec("bolt", _cut(_cylinder(1.5, 8), _cylinder(0.6, 3, 6)), "#3c3c3c", "fasteners")
    hub = PartSpec("hub", _tube(2, 10, 6), "#d23c28", "wheels")
    wheel = AssemblySpec("wheel_unit", [(hub, placement())])
    for i in range(4):
        angle = math.pi / 2 * i
        wheel.components.append((bolt, placement(6 * math.cos(angle), 6 * math.sin(angle), -1)))
    frame = PartSpec("frame", box(60, 10, 4, -30, -5, -6), "#46a050", "body")
    return AssemblySpec("trolley", [(frame, placement()), (wheel, placement(-20, 0, 0)), (wheel, placement(20, 0, 0, 0.3))])


def inch_spec() -> PartSpec:
    """A 2 x 1 x 0.5 inch block with a 0.25 inch hole, built in inch units."""
    block = _cut(box(2.0, 1.0, 0.5), _cylinder(0.25, 1.0, -0.25))
    return PartSpec("inch_block", block, "#aa7733", "body")


def large_assembly_spec(parts: int = 300) -> AssemblySpec:
    """Hundreds of distinct parts (each unique: meshing cost grows with parts) on a grid."""
    root = AssemblySpec(f"large_assembly_{parts}")
    side = max(1, math.ceil(math.sqrt(parts)))
    for i in range(parts):
        radius = 3.0 + (i % 7) * 0.4
        height = 4.0 + (i % 5)
        body = _cut(_cylinder(radius, height), _cylinder(radius * 0.4, height + 2, -1))
        body = _cut(body, _sphere(radius * 0.5, radius, 0, height))
        colour = f"#{(40 + 37 * i) % 256:02x}{(90 + 53 * i) % 256:02x}{(160 + 11 * i) % 256:02x}"
        part = PartSpec(f"part_{i:04d}", body, colour, f"layer_{i % 4}")
        root.components.append((part, placement(16.0 * (i % side), 16.0 * (i // side), 0)))
    return root


# 8 saturated CAD colours and 4 neutrals: the colour chart of docs/rendering.md
CHART_COLOURS = ("#e02020", "#f08020", "#f0d020", "#30b040", "#20a0c0", "#2050d0", "#a020f0", "#e03090",
                 "#ffffff", "#a5a5a5", "#505050", "#202020")


def colour_chart_spec() -> AssemblySpec:
    """12 blocks on a 4 x 3 grid, one CAD colour each: saturated hues and neutrals, for colour tests."""
    chart = AssemblySpec("colour_chart")
    for i, colour in enumerate(CHART_COLOURS):
        block = PartSpec(f"chip_{i:02d}", box(16, 16, 6), colour, "chart")
        chart.components.append((block, placement(20.0 * (i % 4), -20.0 * (i // 4), 0)))
    return chart


def plain_bearing_spec(balls: int = BEARING_BALLS) -> AssemblySpec:
    """The bearing as a vendor exports it: every part one grey, named by item number only (608zz-100, ...)."""
    generic = AssemblySpec("608zz")
    copies: dict[int, PartSpec] = {}
    for child, where in bearing_spec(balls).components:
        assert isinstance(child, PartSpec)
        part = copies.setdefault(id(child), PartSpec(f"608zz-{len(copies) + 1}00", child.shape, "#a5a5a5"))
        generic.components.append((part, where))
    return generic


def bracket_plate_spec() -> AssemblySpec:
    """A plate standing upright (a wall) with two brackets, two bolts and two nuts on its back face
    (+Y, the side the default still camera does not see): a test of `view: auto`."""
    plate = PartSpec("plate", box(80, 4, 50, -40, 0, 0), "#46a050")
    bracket = PartSpec("bracket", _cut(box(14, 14, 4, 0, 0, 0), _cylinder(2.2, 8, -2)), "#2a5db0")
    bolt = PartSpec("bolt", _cylinder(2.0, 10.0), "#3c3c3c")
    nut = PartSpec("nut", _tube(2.0, 4.0, 3.0), "#c8962d")
    assembly = AssemblySpec("bracket_plate", [(plate, placement())])
    for x in (-25.0, 11.0):
        assembly.components.append((bracket, _on_back(x, 8.0, 4.0)))
        assembly.components.append((bolt, _on_back(x + 7, 8.0 + 7, 4.0)))
        assembly.components.append((nut, _on_back(x + 7, 8.0 + 7, 8.0)))
    return assembly


def _on_back(x: float, z: float, y: float) -> Any:
    """A placement that turns a part's +Z onto +Y (out of the plate's back face) at (x, y, z)."""
    from OCP.gp import gp_Ax1, gp_Dir, gp_Pnt, gp_Trsf, gp_Vec

    turn = gp_Trsf()
    turn.SetRotation(gp_Ax1(gp_Pnt(0, 0, 0), gp_Dir(1, 0, 0)), -math.pi / 2)
    move = gp_Trsf()
    move.SetTranslation(gp_Vec(x, y, z + 25.0))
    return move.Multiplied(turn)


def make_colour_chart_step(path: str | Path) -> Path:
    return write_step(colour_chart_spec(), path)


def make_plain_bearing_step(path: str | Path) -> Path:
    return write_step(plain_bearing_spec(), path)


def make_bracket_plate_step(path: str | Path) -> Path:
    return write_step(bracket_plate_spec(), path)


def make_bearing_step(path: str | Path, balls: int = BEARING_BALLS) -> Path:
    return write_step(bearing_spec(balls), path)


def make_single_part_step(path: str | Path) -> Path:
    return write_step(single_part_spec(), path)


def make_nested_assembly_step(path: str | Path) -> Path:
    return write_step(nested_spec(), path)


def make_inch_part_step(path: str | Path) -> Path:
    return write_step(inch_spec(), path, unit="INCH")


def make_large_assembly_step(path: str | Path, parts: int = 300) -> Path:
    return write_step(large_assembly_spec(parts), path)


def make_broken_step(path: str | Path) -> Path:
    """A real STEP file cut off part-way through its DATA section (an interrupted upload)."""
    target = Path(path)
    make_bearing_step(target)
    content = target.read_bytes()
    target.write_bytes(content[: len(content) * 2 // 5])
    return target


def make_no_solid_step(path: str | Path) -> Path:
    """A valid STEP file holding only a wire (no solids, no faces): nothing to tessellate."""
    from OCP.BRepBuilderAPI import BRepBuilderAPI_MakeEdge
    from OCP.gp import gp_Pnt

    edge = BRepBuilderAPI_MakeEdge(gp_Pnt(0, 0, 0), gp_Pnt(10, 0, 0)).Edge()
    return write_step(PartSpec("sketch_line", edge), path)


SAMPLES = {
    "bearing": make_bearing_step,
    "single": make_single_part_step,
    "nested": make_nested_assembly_step,
    "inch": make_inch_part_step,
    "colour_chart": make_colour_chart_step,
    "plain_bearing": make_plain_bearing_step,
    "bracket_plate": make_bracket_plate_step,
}


# --- files as other CAD systems write them ------------------------------------------------------

REPRESENTATION_ENTITIES = ("ADVANCED_BREP_SHAPE_REPRESENTATION", "MANIFOLD_SOLID_BREP", "SHAPE_REPRESENTATION",
                           "SHELL_BASED_SURFACE_MODEL", "GEOMETRICALLY_BOUNDED_WIREFRAME_SHAPE_REPRESENTATION")
FOUR_COLOURS = {"PLATE": "#d02020", "L-BRACKET": "#20a040", "NUT": "#2040d0", "BOLT": "#e0c020"}


def rename_representations(path: Path, name: str = "SOLID") -> Path:
    """Name every shape representation and solid of a STEP file `name`, as Pro/E and others do."""
    import re

    pattern = re.compile(rb"\b(" + b"|".join(e.encode() for e in REPRESENTATION_ENTITIES) + rb")\('[^']*'")
    path.write_bytes(pattern.sub(lambda m: m.group(1) + b"('" + name.encode() + b"'", path.read_bytes()))
    return path


def four_colour_spec() -> AssemblySpec:
    """PLATE, L-BRACKET, NUT and BOLT (placed 3 times), each product wrapping its geometry in a
    representation named SOLID: the structure that made every part 'SOLID' in a Pro/E export."""
    shapes = {"PLATE": box(40, 30, 3), "L-BRACKET": _cut(box(5, 20, 20), box(3, 16, 16, 1, 2, 2)),
              "NUT": _cut(_cylinder(3, 3), _cylinder(1.5, 5, -1)), "BOLT": _cylinder(1.4, 14)}
    wrapped = {name: AssemblySpec(name, [(PartSpec("SOLID", shape, FOUR_COLOURS[name]), placement())])
               for name, shape in shapes.items()}
    return AssemblySpec("ASM", [(wrapped["PLATE"], placement()), (wrapped["L-BRACKET"], placement(30, 5, 3)),
                                (wrapped["NUT"], placement(12, 15, 3)), (wrapped["BOLT"], placement(5, 5, -4)),
                                (wrapped["BOLT"], placement(12, 24, -4)), (wrapped["BOLT"], placement(22, 24, -4))])


def make_solid_named_step(path: str | Path) -> Path:
    return rename_representations(write_step(four_colour_spec(), path))


CODEPAGE_NAMES = {
    "cp1251": {"PLATE": "Деталь1", "NUT": "Гайка М6", "BOLT": "Болт"},
    "cp1252": {"PLATE": "Plaque d'écrou", "NUT": "Écrou à œil", "BOLT": "Schraube für Würfel"},
}
CODEPAGE_LAYERS = {"cp1251": "Крепёж", "cp1252": "Fixations mécaniques"}


def make_codepage_step(path: str | Path, codepage: str) -> Path:
    """Three coloured products with PRODUCT names (name and id) and the BOLT's layer name written as
    raw bytes of `codepage`, as exporters on a Windows of that locale do (no \\X2\\ escapes)."""
    spec = AssemblySpec("ASM", [(PartSpec(name, shape, colour, "FASTENERS" if name == "BOLT" else None), at)
                                for name, shape, colour, at in _plain_three()])
    target = write_step(spec, path)
    data = target.read_bytes().replace(b"'FASTENERS'", b"'" + CODEPAGE_LAYERS[codepage].encode(codepage) + b"'")
    for ascii_name, name in CODEPAGE_NAMES[codepage].items():
        raw = name.replace("'", "''").encode(codepage)
        data = data.replace(f"PRODUCT('{ascii_name}','{ascii_name}'".encode(), b"PRODUCT('" + raw + b"','" + raw + b"'")
    target.write_bytes(data)
    return target


def _plain_three() -> list[tuple[str, Any, str, Any]]:
    return [("PLATE", box(40, 30, 3), FOUR_COLOURS["PLATE"], placement()),
            ("NUT", _cylinder(3, 3), FOUR_COLOURS["NUT"], placement(12, 15, 3)),
            ("BOLT", _cylinder(1.4, 14), FOUR_COLOURS["BOLT"], placement(5, 5, -4))]


def _polylines(*lines: list[tuple[float, float, float]]) -> Any:
    from OCP.BRep import BRep_Builder
    from OCP.BRepBuilderAPI import BRepBuilderAPI_MakePolygon
    from OCP.gp import gp_Pnt
    from OCP.TopoDS import TopoDS_Compound

    builder, compound = BRep_Builder(), TopoDS_Compound()
    builder.MakeCompound(compound)
    for points in lines:
        polygon = BRepBuilderAPI_MakePolygon()
        for point in points:
            polygon.Add(gp_Pnt(*point))
        builder.Add(compound, polygon.Wire())
    return compound


PMI_TEXT = """#{a} = DRAUGHTING_MODEL('PMI',(#{b},#{c}),#{ctx});
#{b} = ANNOTATION_CURVE_OCCURRENCE('linear dimension',(),#{set});
#{set} = GEOMETRIC_CURVE_SET('dimension lines',(#{line}));
#{line} = POLYLINE('',(#{p1},#{p2}));
#{p1} = CARTESIAN_POINT('',(0.,-4.,0.));
#{p2} = CARTESIAN_POINT('',(40.,-4.,0.));
#{c} = ANNOTATION_TEXT_OCCURRENCE('note',(),#{text});
#{text} = TEXT_LITERAL('note','40 mm',#{axis},.MIDDLE.,.LEFT.);
#{axis} = AXIS2_PLACEMENT_3D('',#{p1},$,$);
"""


def make_pmi_step(path: str | Path) -> Path:
    """A bracket with annotation geometry beside it, as AP242 exporters write PMI: the dimension's
    polylines as a shape of their own (the reader transfers it as a curves-only compound), and a
    draughting model with an annotation curve and a text annotation."""
    import re

    lines = _polylines([(0, -4, 0), (40, -4, 0)], [(0, -6, 0), (0, -2, 0)], [(40, -6, 0), (40, -2, 0)])
    spec = AssemblySpec("BRACKET", [(PartSpec("BRACKET", box(40, 20, 4), "#2a5db0"), placement()),
                                    (PartSpec("COMPOUND", lines, "#000000"), placement())])
    target = write_step(spec, path)
    text = target.read_text()
    next_id = max(int(n) for n in re.findall(r"^#(\d+) =", text, re.M)) + 1
    context = re.search(r"^#(\d+) = \( GEOMETRIC_REPRESENTATION_CONTEXT\(3\)", text, re.M)
    names = ("a", "b", "c", "set", "line", "p1", "p2", "text", "axis")
    ids = {name: next_id + i for i, name in enumerate(names)}
    block = PMI_TEXT.format(ctx=context.group(1) if context else 1, **ids)
    cut = text.rfind("ENDSEC;")
    target.write_text(text[:cut] + block + text[cut:])
    return target


def make_tessellated_step(path: str | Path) -> Path:
    """An AP242 part whose only geometry is a triangulated surface set (no B-rep), as scanners and
    mesh-based exporters write: a 20 mm box's six faces as triangles only."""
    from OCP.BRep import BRep_Builder, BRep_Tool
    from OCP.Interface import Interface_Static
    from OCP.STEPCAFControl import STEPCAFControl_Writer
    from OCP.TopAbs import TopAbs_FACE
    from OCP.TopExp import TopExp_Explorer
    from OCP.TopLoc import TopLoc_Location
    from OCP.TopoDS import TopoDS, TopoDS_Compound, TopoDS_Face

    from .occ.tessellate import MeshParams, mesh_shapes

    solid = box(20, 20, 20)
    mesh_shapes([solid], MeshParams.defaults())
    builder, compound = BRep_Builder(), TopoDS_Compound()
    builder.MakeCompound(compound)
    explorer = TopExp_Explorer(solid, TopAbs_FACE)
    while explorer.More():
        face = TopoDS_Face()
        builder.MakeFace(face, BRep_Tool.Triangulation_s(TopoDS.Face(explorer.Current()), TopLoc_Location()))
        builder.Add(compound, face)
        explorer.Next()
    STEPCAFControl_Writer()  # registers the writer's settings before they are changed
    schema, tessellated = Interface_Static.CVal_s("write.step.schema"), Interface_Static.IVal_s("write.step.tessellated")
    Interface_Static.SetCVal_s("write.step.schema", "AP242DIS")
    Interface_Static.SetIVal_s("write.step.tessellated", 1)
    try:
        return write_step(PartSpec("MESH_PART", compound, "#30a0a0"), path)
    finally:
        Interface_Static.SetCVal_s("write.step.schema", schema)
        Interface_Static.SetIVal_s("write.step.tessellated", tessellated)


# --- names only in PRODUCT entities, placeholder names (issue 25) --------------------------------

PROE_PRODUCTS = ("PLATE", "L-BRACKET", "BOLT", "NUT", "ROD")


def _next_id(text: str) -> int:
    import re

    return max(int(n) for n in re.findall(r"^#(\d+) =", text, re.M)) + 1


def _unname_instances(text: str) -> str:
    """Every NEXT_ASSEMBLY_USAGE_OCCURRENCE with an empty id and name, as Pro/E writes them."""
    import re

    return re.sub(r"NEXT_ASSEMBLY_USAGE_OCCURRENCE\('[^']*','[^']*',", "NEXT_ASSEMBLY_USAGE_OCCURRENCE('','',", text)


def _relate_through_shape_representation(text: str) -> str:
    """Point each part's shape definition at a bare `SHAPE_REPRESENTATION('SOLID')` related to its
    B-rep representation by a SHAPE_REPRESENTATION_RELATIONSHIP, the placements still placing the
    B-rep: OCCT then cannot tie the PRODUCT to the part's label, which keeps no name, and its
    instances OCCT's reference names (`=>[0:1:1:3]`), as in the Pro/E export of issue 25."""
    import re

    next_id, extra = _next_id(text), []
    breps = {m.group(1): (m.group(2), m.group(3)) for m in re.finditer(
        r"^#(\d+) = ADVANCED_BREP_SHAPE_REPRESENTATION\('[^']*',\((#\d+),[^)]*\),(#\d+)\);", text, re.M)}

    def relate(match: Any) -> str:
        nonlocal next_id
        sdr, definition, rep = match.groups()
        if rep not in breps:
            return str(match.group(0))
        axis, context = breps[rep]
        extra.append(f"#{next_id} = SHAPE_REPRESENTATION('SOLID',({axis}),{context});\n"
                     f"#{next_id + 1} = SHAPE_REPRESENTATION_RELATIONSHIP('','',#{next_id},#{rep});\n")
        next_id += 2
        return f"#{sdr} = SHAPE_DEFINITION_REPRESENTATION(#{definition},#{next_id - 2});"

    text = re.sub(r"^#(\d+) = SHAPE_DEFINITION_REPRESENTATION\(#(\d+),#(\d+)\);", relate, text, flags=re.M)
    cut = text.rfind("ENDSEC;")
    return text[:cut] + "".join(extra) + text[cut:]


def proe_spec() -> AssemblySpec:
    """An inch assembly of 5 parts in 4 assemblies (11 instances), like the Pro/E AP203 export of issue 25."""
    shapes = {"PLATE": box(4, 3, 0.25), "L-BRACKET": _cut(box(0.5, 2, 2), box(0.3, 1.6, 1.6, 0.1, 0.2, 0.2)),
              "BOLT": _cylinder(0.125, 1.4), "NUT": _cut(_cylinder(0.3, 0.25), _cylinder(0.13, 0.5, -0.1)),
              "ROD": _cylinder(0.1, 3.0)}
    parts = {name: PartSpec(name, shape) for name, shape in shapes.items()}
    base = AssemblySpec("BASE_ASM", [(parts["PLATE"], placement()), (parts["L-BRACKET"], placement(0.2, 0.5, 0.25))])
    support = AssemblySpec("SUPPORT_ASM", [(base, placement())])
    fastener = AssemblySpec("FASTENER_ASM", [(parts["BOLT"], placement(0, 0, -0.6)), (parts["NUT"], placement(0, 0, 0.3))])
    top = AssemblySpec("TOP_ASM", [(support, placement()), (parts["ROD"], placement(1.5, 1.5, 0.25))])
    for x, y in ((0.5, 0.5), (3.5, 0.5), (0.5, 2.5), (3.5, 2.5)):
        top.components.append((fastener, placement(x, y, 0)))
    return top


def make_product_names_only_step(path: str | Path) -> Path:
    """Names only in PRODUCT entities: unnamed instances, representations named SOLID reached
    through a shape representation relationship, inch units."""
    target = rename_representations(write_step(proe_spec(), path, unit="INCH"))
    target.write_text(_relate_through_shape_representation(_unname_instances(target.read_text())))
    return target


PLACEHOLDER_PRODUCTS = {"BALL_A": ("UNIDENTIFIED_PRODUCT", "NONE"), "BALL_B": ("UNIDENTIFIED_PRODUCT", "NONE"),
                        "BALL_C": ("UNIDENTIFIED_PRODUCT", "NONE"), "SHAFT": ("SHAFT-7", "the product name"),
                        "HOUSING": ("HOUSING", ""), "ASM": ("UNIDENTIFIED_PRODUCT", "NONE")}


def make_placeholder_names_step(path: str | Path) -> Path:
    """Products named with placeholders: `PRODUCT('UNIDENTIFIED_PRODUCT','NONE',$,())` (AP203 bodies),
    Euclid's `the product name` with a real id, CATIA's empty name with the name in the id; the
    instances unnamed."""
    spec = AssemblySpec("ASM", [(PartSpec(name, _sphere(2.0 + i * 0.5) if name.startswith("BALL") else box(6, 4, 3 + i)),
                                 placement(12.0 * i)) for i, name in enumerate(n for n in PLACEHOLDER_PRODUCTS if n != "ASM")])
    target = write_step(spec, path)
    text = _unname_instances(target.read_text())
    for name, (product_id, product_name) in PLACEHOLDER_PRODUCTS.items():
        text = text.replace(f"PRODUCT('{name}','{name}',''", f"PRODUCT('{product_id}','{product_name}',$")
    target.write_text(text)
    return target


# --- a tessellated-only CATIA part with a pre-defined colour and an override (issue 25) ---------

_CUBE_FACES = {  # outward, counter-clockwise: (points, normal)
    "bottom": ((1, 4, 3, 2), (0, 0, -1)), "top": ((5, 6, 7, 8), (0, 0, 1)), "front": ((1, 2, 6, 5), (0, -1, 0)),
    "back": ((3, 4, 8, 7), (0, 1, 0)), "left": ((4, 1, 5, 8), (-1, 0, 0)), "right": ((2, 3, 7, 6), (1, 0, 0))}

TESSELLATED_CUBE = """ISO-10303-21;
HEADER;
FILE_DESCRIPTION(('CATIA V5 STEP Exchange'),'2;1');
FILE_NAME('cube','2026-12-07T12:00:00',('none'),('none'),'CATIA Version 5 Release 31','CATIA V5 STEP AP242','none');
FILE_SCHEMA(('AP242_MANAGED_MODEL_BASED_3D_ENGINEERING_MIM_LF {{ 1 0 10303 442 1 1 4 }}'));
ENDSEC;
DATA;
#1 = APPLICATION_PROTOCOL_DEFINITION('international standard','ap242_managed_model_based_3d_engineering',2013,#2);
#2 = APPLICATION_CONTEXT('Managed model based 3d engineering');
#3 = SHAPE_DEFINITION_REPRESENTATION(#4,#10);
#4 = PRODUCT_DEFINITION_SHAPE('','',#5);
#5 = PRODUCT_DEFINITION('design','',#6,#9);
#6 = PRODUCT_DEFINITION_FORMATION('','',#7);
#7 = PRODUCT('{name}','{name}','',(#8));
#8 = PRODUCT_CONTEXT('',#2,'mechanical');
#9 = PRODUCT_DEFINITION_CONTEXT('part definition',#2,'design');
#10 = TESSELLATED_SHAPE_REPRESENTATION('{name}',(#11,#20),#30);
#11 = AXIS2_PLACEMENT_3D('',#12,#13,#14);
#12 = CARTESIAN_POINT('',(0.,0.,0.));
#13 = DIRECTION('',(0.,0.,1.));
#14 = DIRECTION('',(1.,0.,0.));
#20 = TESSELLATED_SOLID('Tessellated solid',({faces}),$);
#21 = COORDINATES_LIST('',8,({points}));
{face_lines}
#30 = ( GEOMETRIC_REPRESENTATION_CONTEXT(3) GLOBAL_UNCERTAINTY_ASSIGNED_CONTEXT((#34)) GLOBAL_UNIT_ASSIGNED_CONTEXT((#31,#32,#33)) REPRESENTATION_CONTEXT('NONE','WORKSPACE') );
#31 = ( LENGTH_UNIT() NAMED_UNIT(*) SI_UNIT(.MILLI.,.METRE.) );
#32 = ( NAMED_UNIT(*) PLANE_ANGLE_UNIT() SI_UNIT($,.RADIAN.) );
#33 = ( NAMED_UNIT(*) SI_UNIT($,.STERADIAN.) SOLID_ANGLE_UNIT() );
#34 = UNCERTAINTY_MEASURE_WITH_UNIT(LENGTH_MEASURE(0.005),#31,'distance_accuracy_value','CATIA V5 tolerance');
#40 = MECHANICAL_DESIGN_GEOMETRIC_PRESENTATION_REPRESENTATION('',(#41,#50),#30);
#41 = STYLED_ITEM('',(#42),#20);
#42 = PRESENTATION_STYLE_ASSIGNMENT((#43));
#43 = SURFACE_STYLE_USAGE(.BOTH.,#44);
#44 = SURFACE_SIDE_STYLE('',(#45));
#45 = SURFACE_STYLE_FILL_AREA(#46);
#46 = FILL_AREA_STYLE('',(#47));
#47 = FILL_AREA_STYLE_COLOUR('',#48);
#48 = DRAUGHTING_PRE_DEFINED_COLOUR('{colour}');
#50 = OVER_RIDING_STYLED_ITEM('overriding color',(#51),#{override_face},#41);
#51 = PRESENTATION_STYLE_ASSIGNMENT((#52));
#52 = SURFACE_STYLE_USAGE(.BOTH.,#53);
#53 = SURFACE_SIDE_STYLE('',(#54));
#54 = SURFACE_STYLE_FILL_AREA(#55);
#55 = FILL_AREA_STYLE('',(#56));
#56 = FILL_AREA_STYLE_COLOUR('',#57);
#57 = COLOUR_RGB('',0.,0.,1.);
ENDSEC;
END-ISO-10303-21;
"""


def make_tessellated_coloured_step(path: str | Path, size: float = 20.0, colour: str = "red",
                                   override: str = "top") -> Path:
    """A CATIA V5 AP242 part whose only geometry is one TESSELLATED_SOLID of six
    COMPLEX_TRIANGULATED_FACEs (one triangle strip and per-point normals each), coloured by a
    DRAUGHTING_PRE_DEFINED_COLOUR with an OVER_RIDING_STYLED_ITEM in blue on the `override` face."""
    corners = [(x, y, z) for z in (0, size) for x, y in ((0, 0), (size, 0), (size, size), (0, size))]
    ids, lines = {}, []
    for offset, (face, (points, normal)) in enumerate(_CUBE_FACES.items()):
        ids[face] = 22 + offset
        normals = ",".join(f"({normal[0]:.1f},{normal[1]:.1f},{normal[2]:.1f})" for _ in points)
        lines.append(f"#{ids[face]} = COMPLEX_TRIANGULATED_FACE('',#21,4,({normals}),$,"
                     f"({','.join(map(str, points))}),((1,2,4,3)),());")
    text = TESSELLATED_CUBE.format(
        name="CUBE_TESS", colour=colour, override_face=ids[override], face_lines="\n".join(lines),
        faces=",".join(f"#{ids[face]}" for face in _CUBE_FACES),
        points=",".join(f"({x:.1f},{y:.1f},{z:.1f})" for x, y, z in corners))
    target = Path(path)
    target.write_text(text)
    return target


# --- bearings with no usable names or colours, and look-alikes that are not bearings (issue 25) --

def _ball_bearing(name: str, bore: float, outer: float, width: float, balls: int, ball_r: float,
                  colour: str | None = None, parts_named: str | None = None,
                  shields: bool = False, split_cage: bool = False) -> AssemblySpec:
    """A deep-groove ball bearing, every ball its own product (as Onshape and part-file exports
    write them); `parts_named` names every product the same."""
    pitch, mid = (bore + outer) / 2, width / 2
    gap = ball_r * 0.85  # ring shoulders reach into the ball's diameter
    groove = _torus(pitch, ball_r * 1.04, mid)

    def label(default: str) -> str:
        return parts_named or default

    inner = PartSpec(label("inner"), _cut(_tube(bore, pitch - gap, width), groove), colour)
    outer_ring = PartSpec(label("outer"), _cut(_tube(pitch + gap, outer, width), groove))
    pockets = [_sphere(ball_r * 1.08, pitch * math.cos(a), pitch * math.sin(a), mid)
               for a in (2 * math.pi * i / balls for i in range(balls))]
    bearing = AssemblySpec(name, [(outer_ring, placement()), (inner, placement())])
    if split_cage:
        for z0 in (mid - ball_r * 0.7, mid):
            bearing.components.append((PartSpec(label("cage"), _cut(_tube(pitch - 0.3, pitch + 0.3, ball_r * 0.7, z0), *pockets)),
                                       placement()))
    else:
        cage = _cut(_tube(pitch - 0.3, pitch + 0.3, ball_r * 1.4, mid - ball_r * 0.7), *pockets)
        bearing.components.append((PartSpec(label("cage"), cage), placement()))
    if shields:
        for z0 in (0.1, width - 0.4):
            bearing.components.append((PartSpec(label("shield"), _tube(pitch - gap + 0.2, pitch + gap + 0.5, 0.3, z0)),
                                       placement()))
    for i in range(balls):
        angle = 2 * math.pi * i / balls
        ball = PartSpec(label(f"ball_{i + 1}"), _sphere(ball_r))
        bearing.components.append((ball, placement(pitch * math.cos(angle), pitch * math.sin(angle), mid)))
    return bearing


def make_onshape_608_step(path: str | Path) -> Path:
    """An Onshape 608ZZ: 13 products all named `608zz` (rings, two shields, a two-piece cage, 7
    balls), one of them grey, in metre units."""
    spec = _ball_bearing("608zz", 4.0, 11.0, 7.0, 7, 1.98, "#a5a5a5", "608zz", shields=True, split_cage=True)
    return write_step(_scaled(spec, 0.001), path, unit="M")


def make_bodies_bearing_step(path: str | Path) -> Path:
    """A 32-body ball bearing part file: two rings, a cage and 29 balls, every product
    `PRODUCT('UNIDENTIFIED_PRODUCT','NONE',$,())`, no colours, no instance names."""
    target = write_step(_ball_bearing("bearing", 14.0, 26.0, 8.0, 29, 1.9), path)
    text = _unname_instances(target.read_text())
    import re

    text = re.sub(r"PRODUCT\('[^']*','[^']*',''", "PRODUCT('UNIDENTIFIED_PRODUCT','NONE',$", text)
    target.write_text(text)
    return target


def _scaled(spec: PartSpec | AssemblySpec, factor: float) -> Any:
    """The same product in another length unit (shapes and placements scaled)."""
    from OCP.BRepBuilderAPI import BRepBuilderAPI_Transform
    from OCP.gp import gp_Pnt, gp_Trsf

    scale = gp_Trsf()
    scale.SetScale(gp_Pnt(0, 0, 0), factor)
    done: dict[int, Any] = {}

    def copy(item: PartSpec | AssemblySpec) -> Any:
        if id(item) not in done:
            if isinstance(item, PartSpec):
                done[id(item)] = PartSpec(item.name, BRepBuilderAPI_Transform(item.shape, scale, True).Shape(),
                                          item.colour, item.layer)
            else:
                done[id(item)] = AssemblySpec(item.name, [(copy(child), _scale_placement(at, factor))
                                                          for child, at in item.components])
        return done[id(item)]

    return copy(spec)


def _scale_placement(trsf: Any, factor: float) -> Any:
    from OCP.gp import gp_Trsf, gp_Vec

    moved = gp_Trsf()
    moved.SetTransformation(trsf.GetRotation(), gp_Vec(trsf.TranslationPart().Multiplied(factor)))
    return moved


def flange_spec() -> AssemblySpec:
    """A pipe joint: a pipe, two bolted flanges and a gasket about one axis, 8 bolts and nuts on
    the bolt circle (turned parts on a circle, but nothing rolls between nested rings)."""
    holes = []
    for i in range(8):
        move = placement(48 * math.cos(2 * math.pi * i / 8), 48 * math.sin(2 * math.pi * i / 8), 0)
        from OCP.BRepBuilderAPI import BRepBuilderAPI_Transform

        holes.append(BRepBuilderAPI_Transform(_cylinder(4.5, 40, -10), move).Shape())
    flange = PartSpec("flange", _cut(_tube(24, 60, 12), *holes), "#8a8f96")
    pipe = PartSpec("pipe", _tube(19, 24, 80, -34), "#6a6f76")
    gasket = PartSpec("gasket", _tube(24, 40, 2, 12), "#202020")
    bolt = PartSpec("bolt", _cylinder(4, 40, -8), "#3c3c3c")
    nut = PartSpec("nut", _tube(4, 7.5, 6), "#3c3c3c")
    joint = AssemblySpec("pipe_joint", [(pipe, placement()), (flange, placement()), (gasket, placement()),
                                        (flange, placement(0, 0, 14))])
    for i in range(8):
        angle = 2 * math.pi * i / 8
        x, y = 48 * math.cos(angle), 48 * math.sin(angle)
        joint.components += [(bolt, placement(x, y, 0)), (nut, placement(x, y, 26)), (nut, placement(x, y, -6))]
    return joint


def keyed_shaft_spec() -> AssemblySpec:
    """A shaft with a parallel key and the hub it drives (a ring on a shaft, no rolling elements)."""
    shaft = PartSpec("shaft", _cut(_cylinder(10, 120), box(4, 6, 30, -2, 7, 45)), "#9aa0a8")
    key = PartSpec("key", box(4, 6, 30, -2, 7, 45), "#555555")
    hub = PartSpec("hub", _cut(_tube(10, 28, 36, 42), box(4, 6, 40, -2, 12, 40)), "#2a5db0")
    return AssemblySpec("keyed_shaft", [(shaft, placement()), (key, placement()), (hub, placement())])


def make_flange_step(path: str | Path) -> Path:
    return write_step(flange_spec(), path)


def make_keyed_shaft_step(path: str | Path) -> Path:
    return write_step(keyed_shaft_spec(), path)


def make_box_step(path: str | Path) -> Path:
    return write_step(PartSpec("box", box(40, 30, 20), "#c8c8c8"), path)
