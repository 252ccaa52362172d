"""GLB post-processing in plain Python: share instance meshes and make CAD materials dielectric.

OCCT's glTF writer gives each instance of a product its own mesh entry (accessors shared), so
importers make N mesh datablocks; after `share_instance_meshes` N nodes point at one mesh.
It writes only `baseColorFactor`, and glTF's default metallic factor is 1 (dark metal in
spec-following viewers), so `make_dielectric` writes metallic/roughness explicitly.

Only the tail of OCCT's JSON is parsed and rewritten: its writer puts the top-level keys in
alphabetical order, so accessors, asset, bufferViews and buffers (most of the text, and no names
from the STEP file in them) come before the first `"materials"` or `"meshes"` key and are kept as
bytes: the same GLB for about half the JSON work.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ..glb import rewrite_glb_json

# Keys OCCT writes after the part it alone fills; the first match is the top-level key.
_TAIL_KEYS = (b',"materials":', b',"meshes":')


def share_instance_meshes(document: dict[str, Any]) -> int:
    """Point nodes whose meshes have identical primitives at one mesh; returns meshes removed."""
    meshes = document.get("meshes", [])
    canonical: dict[str, int] = {}
    remap: dict[int, int] = {}
    kept: list[dict[str, Any]] = []
    for index, mesh in enumerate(meshes):
        key = repr(mesh.get("primitives", []))  # one writer made them all: same key order
        if key not in canonical:
            canonical[key] = len(kept)
            kept.append(mesh)
        remap[index] = canonical[key]
    for node in document.get("nodes", []):
        if "mesh" in node:
            node["mesh"] = remap[node["mesh"]]
    document["meshes"] = kept
    return len(meshes) - len(kept)


def make_dielectric(document: dict[str, Any], metallic: float = 0.0, roughness: float = 0.5) -> None:
    """Explicit PBR factors on every material that leaves them to glTF's metal defaults."""
    for material in document.get("materials", []):
        pbr = material.setdefault("pbrMetallicRoughness", {})
        pbr.setdefault("metallicFactor", metallic)
        pbr.setdefault("roughnessFactor", roughness)


def name_materials_after_parts(document: dict[str, Any]) -> None:
    """OCCT names materials mat_N; name each after the first mesh (part) that uses it."""
    named: set[int] = set()
    for mesh in document.get("meshes", []):
        for primitive in mesh.get("primitives", []):
            index = primitive.get("material")
            if index is not None and index not in named and mesh.get("name"):
                document["materials"][index]["name"] = mesh["name"]
                named.add(index)


def split_tail(text: bytes) -> tuple[bytes, dict[str, Any]]:
    """OCCT's JSON as (raw head, parsed tail object from materials or meshes on); the head is
    empty (everything parsed) when neither key is found."""
    starts = [index for index in (text.find(key) for key in _TAIL_KEYS) if index > 0]
    if not starts:
        return b"", json.loads(text)
    cut = min(starts)
    return text[:cut], json.loads(b"{" + text[cut + 1:])


def join_tail(head: bytes, tail: dict[str, Any]) -> bytes:
    """The JSON text of split_tail's parts, the tail serialised again."""
    body = json.dumps(tail, separators=(",", ":")).encode()
    return head + b"," + body[1:] if head else body


def fix_json(text: bytes, counts: dict[str, int]) -> bytes:
    """OCCT's JSON chunk with the fixes applied; fills `counts` for the glb artifact."""
    head, document = split_tail(text.rstrip(b" "))
    counts["shared_meshes_removed"] = share_instance_meshes(document)
    make_dielectric(document)
    name_materials_after_parts(document)
    counts["nodes"], counts["meshes"] = len(document.get("nodes", [])), len(document.get("meshes", []))
    return join_tail(head, document)


def postprocess_glb(path: str | Path) -> dict[str, int]:
    """Apply the fixes in place; returns node and mesh counts for the glb artifact."""
    counts: dict[str, int] = {}
    rewrite_glb_json(path, lambda text: fix_json(text, counts))
    return counts
