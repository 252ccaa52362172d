"""Write a meshed XCAF document as GLB with RWGltf_CafWriter: metres, Y-up, names, colours."""

from __future__ import annotations

from pathlib import Path

from ...errors import NodeInputError
from ..winding import orient_to_normals
from .assembly import walk_document
from .glb_post import PART_KEY, Occurrences, postprocess_glb
from .step_reader import StepDocument


def write_document_glb(step: StepDocument, path: Path, merge_faces: bool = True,
                       instance_names: bool = False, parallel: bool = True) -> dict[str, int]:
    """Write `step` (already meshed) to `path`; the reader's document is in millimetres, Z-up.

    OCCT names each node `product [instance] [entry]`; the post-processing reads the label entry
    back, names the node after its part and writes the part and instance keys as node extras;
    tessellated parts get their triangles wound as their normals say (see cad.winding)."""
    from OCP.Message import Message_ProgressRange
    from OCP.OCP.collections import IndexedDataMap_TCollection_AsciiString_TCollection_AsciiString as Meta
    from OCP.RWGltf import RWGltf_CafWriter
    from OCP.RWMesh import (
        RWMesh_CoordinateSystem_glTF,
        RWMesh_CoordinateSystem_Zup,
        RWMesh_NameFormat_Product,
        RWMesh_NameFormat_ProductAndInstanceAndOcaf,
    )
    from OCP.TCollection import TCollection_AsciiString

    writer = RWGltf_CafWriter(TCollection_AsciiString(str(path)), True)
    writer.SetNodeNameFormat(RWMesh_NameFormat_ProductAndInstanceAndOcaf)
    writer.SetMeshNameFormat(RWMesh_NameFormat_Product)
    writer.SetMergeFaces(merge_faces)
    writer.SetParallel(parallel)
    converter = writer.ChangeCoordinateSystemConverter()
    converter.SetInputLengthUnit(0.001)
    converter.SetInputCoordinateSystem(RWMesh_CoordinateSystem_Zup)
    converter.SetOutputLengthUnit(1.0)
    converter.SetOutputCoordinateSystem(RWMesh_CoordinateSystem_glTF)
    walker, _tree = walk_document(step, facts=False)
    if not writer.Perform(step.doc, Meta(), Message_ProgressRange()) or not path.is_file():
        raise NodeInputError(f"could not write a GLB for {step.source} (no triangulated faces?)")
    counts = postprocess_glb(path, Occurrences(walker.occurrences, walker.open_surfaces, instance_names))
    if walker.tessellated:  # OCCT winds tessellated faces against their normals: they render black
        counts["triangles_reoriented"] = orient_to_normals(path, walker.tessellated, PART_KEY)
    return counts
