"""Triangle winding that agrees with the normals, for tessellated-only (AP242 mesh) parts.

OCCT reads the triangle strips of a COMPLEX_TRIANGULATED_FACE with the opposite winding from
the one the file's own normals state (a CATIA V5 cube: every triangle wound inward, every normal
pointing out), and its glTF writer keeps both. A renderer takes the winding for the geometric
normal and the normals for shading: Cycles and three.js see the outside as a back face, turn the
shading normal inward and draw the part black whatever its colour. Tessellated geometry has no
surface to trust, but the exporter's normals are what it meant, so each triangle is turned to
agree with the normals at its corners. B-rep parts (meshed by OCCT itself) are never touched.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .glb import COMPONENTS, _positions, read_glb, write_glb

INDEX_TYPES = {5121: "<u1", 5123: "<u2", 5125: "<u4"}


def _index_view(document: dict[str, Any], binary: bytearray, accessor_index: int) -> Any:
    """The triangle index triples of an accessor, as a writable view into `binary`."""
    import numpy as np

    accessor = document["accessors"][accessor_index]
    view = document["bufferViews"][accessor["bufferView"]]
    dtype = INDEX_TYPES[accessor["componentType"]]
    start = view.get("byteOffset", 0) + accessor.get("byteOffset", 0)
    count = accessor["count"] - accessor["count"] % 3
    return np.frombuffer(binary, dtype=dtype, count=count, offset=start).reshape(-1, 3)


def orient_primitive(document: dict[str, Any], original: bytes, binary: bytearray, primitive: dict[str, Any]) -> int:
    """Flip the triangles of one primitive whose winding opposes its corner normals, in `binary`
    (a copy of `original` being rewritten); returns how many were flipped (0 without normals,
    indices or triangles)."""
    import numpy as np

    attributes = primitive.get("attributes", {})
    if primitive.get("mode", 4) != 4 or "indices" not in primitive or "NORMAL" not in attributes:
        return 0
    if COMPONENTS.get(document["accessors"][attributes["POSITION"]]["componentType"], ("", 0))[0] != "<f4":
        return 0
    triangles = _index_view(document, binary, primitive["indices"])
    positions = _positions(document, original, attributes["POSITION"])
    normals = _positions(document, original, attributes["NORMAL"])
    corners = positions[triangles]
    wound = np.cross(corners[:, 1] - corners[:, 0], corners[:, 2] - corners[:, 0])
    stated = normals[triangles].sum(axis=1)
    flip = np.einsum("ij,ij->i", wound, stated) < 0
    if flip.any():
        triangles[flip] = triangles[flip][:, [0, 2, 1]]
    return int(flip.sum())


def orient_to_normals(path: str | Path, part_keys: set[str], part_key: str = "hartomat_part") -> int:
    """Rewrite the GLB at `path` so the triangles of the parts in `part_keys` agree with their
    normals; returns the number of triangles flipped (the file is left as it was when none is)."""
    document, data = read_glb(path)
    binary = bytearray(data)
    meshes = {node["mesh"] for node in document.get("nodes", [])
              if "mesh" in node and node.get("extras", {}).get(part_key) in part_keys}
    done: set[int] = set()  # an index accessor shared by two primitives is flipped once
    flipped = 0
    for mesh in sorted(meshes):
        for primitive in document["meshes"][mesh].get("primitives", []):
            if primitive.get("indices") in done:
                continue
            done.add(primitive.get("indices", -1))
            flipped += orient_primitive(document, data, binary, primitive)
    if flipped:
        write_glb(path, document, bytes(binary))
    return flipped
