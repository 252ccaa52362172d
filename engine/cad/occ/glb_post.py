"""GLB post-processing in plain Python: tie nodes to parts, share instance meshes and make CAD
materials dielectric.

OCCT names each node `product [instance] [label entry]`; `label_nodes` reads the entry back, names
the node after its part, writes the part and instance keys as node extras (`hartomat_part`,
`hartomat_instance`; Blender's glTF importer makes them custom properties, three.js `userData`)
and drops what is not a part: point and line primitives (annotation curves) and their nodes.

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
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..glb import rewrite_glb_json

# Keys OCCT writes after the part it alone fills; the first match is the top-level key.
_TAIL_KEYS = (b',"materials":', b',"meshes":')
_ENTRY = re.compile(r"\[(\d+(?::\d+)*)\]\s*$")  # the label entry OCCT ends a node name with
SURFACE_MODES = (4, 5, 6)  # triangles, strips, fans; 0-3 are points and lines (annotation curves)
PART_KEY, INSTANCE_KEY = "hartomat_part", "hartomat_instance"


@dataclass
class Occurrences:
    """What each label entry OCCT wrote a node for is: entry -> (part key or None for an assembly,
    name, instance name); a leaf entry with an empty name is a shape that is not a part."""

    entries: dict[str, tuple[str | None, str, str | None]] = field(default_factory=dict)
    open_surfaces: set[str] = field(default_factory=set)
    instance_names: bool = False


def _node_paths(document: dict[str, Any]) -> dict[int, str]:
    """Each node's instance path: the label entries from its scene root down, joined by '/'."""
    nodes = document.get("nodes", [])
    scenes = document.get("scenes") or [{"nodes": list(range(len(nodes)))}]
    paths: dict[int, str] = {}
    stack = [(index, "") for scene in scenes for index in scene.get("nodes", [])]
    while stack:
        index, parent = stack.pop()
        match = _ENTRY.search(nodes[index].get("name", ""))
        entry = match.group(1) if match else str(index)
        paths[index] = f"{parent}/{entry}" if parent else entry
        stack.extend((child, paths[index]) for child in nodes[index].get("children", []))
    return paths


def label_nodes(document: dict[str, Any], occurrences: Occurrences) -> int:
    """Name every node after its part (or assembly), put the part and instance keys in its extras,
    keep only surface primitives, and drop the nodes of shapes that are not parts; returns how
    many nodes were dropped."""
    nodes = document.get("nodes", [])
    drop: set[int] = set()
    for index, path in _node_paths(document).items():
        node, entry = nodes[index], path.rsplit("/", 1)[-1]
        key, name, instance = occurrences.entries.get(entry, (None, node.get("name", ""), None))
        if key is None and "mesh" in node and not name:
            drop.add(index)
            continue
        node["name"] = (instance or name) if occurrences.instance_names and key else name
        node["extras"] = {**({PART_KEY: key} if key else {}), INSTANCE_KEY: path}
        if key and "mesh" in node:
            document["meshes"][node["mesh"]]["name"] = name  # the part's name, whatever the node's
    _keep_surfaces(document, occurrences)
    drop |= {i for i, node in enumerate(nodes) if "mesh" not in node and not node.get("children")
             and PART_KEY in node.get("extras", {})}
    if drop:
        _drop_nodes(document, drop)
    return len(drop)


def _keep_surfaces(document: dict[str, Any], occurrences: Occurrences) -> None:
    """Drop point and line primitives (annotation curves); a mesh left empty leaves its nodes and
    the file; the materials of parts with open surfaces become double-sided."""
    meshes = document.get("meshes", [])
    for mesh in meshes:
        mesh["primitives"] = [p for p in mesh.get("primitives", []) if p.get("mode", 4) in SURFACE_MODES]
    for node in document.get("nodes", []):
        mesh = meshes[node["mesh"]] if "mesh" in node else None
        if mesh is None:
            continue
        if not mesh["primitives"]:
            del node["mesh"]
            continue
        if node.get("extras", {}).get(PART_KEY) in occurrences.open_surfaces:
            for primitive in mesh["primitives"]:
                if "material" in primitive:
                    document["materials"][primitive["material"]]["doubleSided"] = True
    if any(not mesh["primitives"] for mesh in meshes):
        renumber: dict[int, int] = {}
        for index, mesh in enumerate(meshes):
            if mesh["primitives"]:
                renumber[index] = len(renumber)
        document["meshes"] = [mesh for mesh in meshes if mesh["primitives"]]
        for node in document.get("nodes", []):
            if "mesh" in node:
                node["mesh"] = renumber[node["mesh"]]


def _drop_nodes(document: dict[str, Any], drop: set[int]) -> None:
    """Remove nodes by index, renumbering children and scene roots."""
    nodes = document.get("nodes", [])
    renumber: dict[int, int] = {}
    kept: list[dict[str, Any]] = []
    for index, node in enumerate(nodes):
        if index not in drop:
            renumber[index] = len(kept)
            kept.append(node)
    for node in kept:
        if "children" in node:
            node["children"] = [renumber[c] for c in node["children"] if c in renumber]
            if not node["children"]:
                del node["children"]
    for scene in document.get("scenes", []):
        scene["nodes"] = [renumber[n] for n in scene.get("nodes", []) if n in renumber]
    document["nodes"] = kept


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


def fix_json(text: bytes, counts: dict[str, int], occurrences: Occurrences | None = None) -> bytes:
    """OCCT's JSON chunk with the fixes applied; fills `counts` for the glb artifact."""
    head, document = split_tail(text.rstrip(b" "))
    if occurrences is not None:
        counts["dropped_nodes"] = label_nodes(document, occurrences)
    counts["shared_meshes_removed"] = share_instance_meshes(document)
    make_dielectric(document)
    name_materials_after_parts(document)
    counts["nodes"], counts["meshes"] = len(document.get("nodes", [])), len(document.get("meshes", []))
    return join_tail(head, document)


def postprocess_glb(path: str | Path, occurrences: Occurrences | None = None) -> dict[str, int]:
    """Apply the fixes in place; returns node and mesh counts for the glb artifact."""
    counts: dict[str, int] = {}
    rewrite_glb_json(path, lambda text: fix_json(text, counts, occurrences))
    return counts
