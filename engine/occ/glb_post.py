"""GLB post-processing in plain Python: share instance meshes and make CAD materials dielectric.

OCCT's glTF writer gives each instance of a product its own mesh entry (accessors shared), so
importers make N mesh datablocks; after `share_instance_meshes` N nodes point at one mesh.
It writes only `baseColorFactor`, and glTF's default metallic factor is 1 (dark metal in
spec-following viewers), so `make_dielectric` writes metallic/roughness explicitly.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..glb import read_glb, write_glb


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


def postprocess_glb(path: str | Path) -> dict[str, int]:
    """Apply the fixes in place; returns node and mesh counts for the glb artifact."""
    document, binary = read_glb(path)
    removed = share_instance_meshes(document)
    make_dielectric(document)
    name_materials_after_parts(document)
    write_glb(path, document, binary)
    return {"nodes": len(document.get("nodes", [])), "meshes": len(document.get("meshes", [])),
            "shared_meshes_removed": removed}
