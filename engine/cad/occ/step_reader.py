"""Read a STEP file into an XCAF document, refusing bad input with an error naming the file.

OCCT can crash or silently return nothing on garbage, so the file is checked before OCCT sees it
(exists, not empty, a STEP header, a complete DATA section) and the transfer is checked after
(status, roots, at least one face to tessellate).
"""

from __future__ import annotations

import os
import stat
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ...errors import NodeInputError
from .codepage import AUTO, CodepageChoice, choose
from .product_names import unnamed_product_names
from .quiet import silence_occt

UNIT_NAMES = {
    "millimetre": "mm", "millimeter": "mm", "mm": "mm", "centimetre": "cm", "centimeter": "cm",
    "metre": "m", "meter": "m", "m": "m", "inch": "inch", "in": "inch", "foot": "ft", "feet": "ft",
    "micrometre": "um", "micrometer": "um", "kilometre": "km", "kilometer": "km", "mil": "mil",
}


@dataclass
class StepDocument:
    """A read STEP file: its XCAF document and tools, its free (root) labels, its unit."""

    source: Path
    doc: Any
    shape_tool: Any
    colour_tool: Any
    layer_tool: Any
    roots: list[Any]
    length_unit: str
    codepage: CodepageChoice
    meshed_with: Any = None  # the MeshParams its triangulation was made with, if any
    # label entry -> (name, id) of the PRODUCT of labels OCCT left nameless (see product_names)
    product_names: dict[str, tuple[str, str]] = field(default_factory=dict)


def check_step_file(path: Path) -> os.stat_result:
    """Cheap checks that turn the usual bad uploads into clear errors before OCCT parses them;
    returns the file's stat (one stat call: this runs before every read)."""
    try:
        info = os.stat(path)
    except FileNotFoundError:
        raise NodeInputError(f"STEP file not found: {path}") from None
    if not stat.S_ISREG(info.st_mode):
        raise NodeInputError(f"STEP path is not a file: {path}")
    if info.st_size == 0:
        raise NodeInputError(f"STEP file is empty: {path}")
    with open(path, "rb") as handle:
        head = handle.read(256).lstrip(b"\xef\xbb\xbf \t\r\n")
        handle.seek(max(0, info.st_size - 1024))
        tail = handle.read()
    if not head.upper().startswith(b"ISO-10303-21"):
        raise NodeInputError(f"not a STEP file (no ISO-10303-21 header): {path}")
    if b"END-ISO-10303-21" not in tail.upper():
        raise NodeInputError(f"STEP file is truncated (no END-ISO-10303-21 line): {path}")
    return info


def _new_document() -> Any:
    from OCP.TCollection import TCollection_ExtendedString
    from OCP.TDocStd import TDocStd_Document
    from OCP.XCAFApp import XCAFApp_Application

    doc = TDocStd_Document(TCollection_ExtendedString("XmlOcaf"))
    XCAFApp_Application.GetApplication_s().InitDocument(doc)
    return doc


def _file_length_unit(reader: Any) -> str:
    """The file's own length unit ('mm', 'inch', ...), from its unit context entities."""
    from OCP.OCP.collections import Sequence_TCollection_AsciiString as Names

    lengths, angles, solid_angles = Names(), Names(), Names()
    reader.ChangeReader().FileUnits(lengths, angles, solid_angles)
    found = [lengths.Value(i).ToCString().strip().lower() for i in range(1, len(lengths) + 1)]
    return UNIT_NAMES.get(found[0], found[0]) if found else "mm"


def _free_labels(shape_tool: Any) -> list[Any]:
    from OCP.OCP.collections import Sequence_TDF_Label as Labels

    labels = Labels()
    shape_tool.GetFreeShapes(labels)
    return [labels.Value(i) for i in range(1, len(labels) + 1)]


def has_faces(shape: Any) -> bool:
    from OCP.TopAbs import TopAbs_FACE
    from OCP.TopExp import TopExp_Explorer

    return bool(shape is not None and not shape.IsNull() and TopExp_Explorer(shape, TopAbs_FACE).More())


READ_PRECISION_MM = 1e-3


def set_read_precision() -> None:
    """Check and heal shapes at 1 µm rather than at the file's own uncertainty.

    Exporters often write an uncertainty far finer than any mesh needs (OCCT writes 1e-7 to
    5e-6 mm); the shape healing run during the transfer then works at that scale: ~20% of the
    transfer on the 300-part bench assembly. 1 µm is still 100x finer than the default 0.1 mm
    deflection, and the shapes keep their own tolerances. A process-wide OCCT setting, so it is
    set for every read, once a reader exists: the first STEPCAFControl_Reader of a process
    registers the STEP settings with their defaults, and a value set before that is lost."""
    from OCP.Interface import Interface_Static

    Interface_Static.SetIVal_s("read.precision.mode", 1)  # 1 = "User": read.precision.val, in mm
    Interface_Static.SetRVal_s("read.precision.val", READ_PRECISION_MM)


def read_step(path: str | Path, names: bool = True, colours: bool = True, layers: bool = True,
              codepage: str = AUTO) -> StepDocument:
    """Read `path` with STEPCAFControl_Reader (lengths come out in mm whatever the file unit);
    `codepage` names the code page of 8-bit names, or `auto` to detect it."""
    source = Path(path)
    check_step_file(source)
    return _read_checked(source, names, colours, layers, codepage)


def set_codepage(choice: CodepageChoice) -> None:
    """Tell OCCT how to decode 8-bit string bytes (process-wide, so set before every read)."""
    from OCP.Interface import Interface_Static

    if not Interface_Static.SetCVal_s("read.step.codepage", choice.occt):
        raise NodeInputError(f"OpenCascade does not know the code page {choice.name} ({choice.occt})")


def _read_checked(source: Path, names: bool, colours: bool, layers: bool, codepage: str = AUTO) -> StepDocument:
    """read_step after check_step_file passed (shared_step checks the file itself first)."""
    from OCP.IFSelect import IFSelect_RetDone
    from OCP.STEPCAFControl import STEPCAFControl_Reader
    from OCP.XCAFDoc import XCAFDoc_DocumentTool, XCAFDoc_ShapeTool

    silence_occt()
    reader = STEPCAFControl_Reader()
    set_read_precision()  # after the reader: its first construction registers the defaults
    chosen = choose(source, codepage)
    set_codepage(chosen)
    reader.SetNameMode(names)
    reader.SetColorMode(colours)
    reader.SetLayerMode(layers)
    for switch_off in (reader.SetGDTMode, reader.SetPropsMode, reader.SetMatMode, reader.SetViewMode,
                       reader.SetMetaMode, reader.SetSHUOMode):
        switch_off(False)  # nothing downstream uses PMI, properties, materials, views or metadata
    if reader.ReadFile(str(source)) != IFSelect_RetDone:
        raise NodeInputError(f"STEP file could not be parsed: {source}")
    if reader.NbRootsForTransfer() == 0:
        raise NodeInputError(f"STEP file has no shapes to transfer: {source}")
    unit = _file_length_unit(reader)
    doc = _new_document()
    if not reader.Transfer(doc):
        raise NodeInputError(f"STEP file could not be transferred to shapes: {source}")
    main = doc.Main()
    shape_tool = XCAFDoc_DocumentTool.ShapeTool_s(main)
    roots = _free_labels(shape_tool)
    if not any(has_faces(XCAFDoc_ShapeTool.GetShape_s(label)) for label in roots):
        raise NodeInputError(f"STEP file has no solids or surfaces to tessellate: {source}")
    return StepDocument(source, doc, shape_tool, XCAFDoc_DocumentTool.ColorTool_s(main),
                        XCAFDoc_DocumentTool.LayerTool_s(main), roots, unit, chosen,
                        product_names=unnamed_product_names(reader, shape_tool) if names else {})


_shared: dict[str, Any] = {"key": None, "step": None, "layers": None}
_shared_lock = threading.Lock()


@contextmanager
def shared_step(path: str | Path, names: bool = True, colours: bool = True, layers: bool | None = True,
                fingerprint: str = "", codepage: str = AUTO) -> Iterator[StepDocument]:
    """The read document of `path`, reused by consecutive nodes in one process (extract, then GLB
    export, then STLs all read the same file). One document is kept; the lock keeps concurrent
    nodes from using it at once. A changed file (sha256 when given, size, mtime) is read again.

    `layers=None` is for callers that never look at layers (the GLB and STL writers): they take
    the kept document whether it has layers or not, and read without them when they must read."""
    source = Path(path)
    info = check_step_file(source)
    key = (os.path.abspath(source), fingerprint, info.st_size, info.st_mtime_ns, info.st_ino, names, colours,
           codepage)
    with _shared_lock:
        if _shared["key"] != key or layers not in (None, _shared["layers"]):
            _shared.update(key=None, step=None)  # free the old document before reading the next
            _shared.update(step=_read_checked(source, names, colours, bool(layers), codepage), key=key, layers=bool(layers))
        yield _shared["step"]


def clear_shared_step() -> None:
    """Drop the kept document (tests and benches that must read from scratch)."""
    with _shared_lock:
        _shared.update(key=None, step=None)
