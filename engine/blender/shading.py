"""Library materials as Principled BSDF setups, and the material map applied to the product.

The material data lives in `engine.materials` (sRGB colours); Blender's node colour inputs are
scene-linear, so colours are converted here. A `cad_colour` assignment becomes a plastic in the
part's CAD colour. Parts the map does not name keep the GLB's own (CAD colour) material.
The map is keyed by part key (the GLB node extra `hartomat_part`, a custom property after
import), never by object name: two parts may share a name, and Blender renames the second.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from ..materials import LIBRARY, LibraryMaterial

CAD_COLOUR = "cad_colour"
PART_KEY = "hartomat_part"  # glb_post.PART_KEY: the node extra the glTF importer makes a property


def srgb_to_linear(c: float) -> float:
    return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4


def hex_to_srgb(colour: str) -> tuple[float, float, float]:
    value = colour.lstrip("#")
    if not re.fullmatch(r"[0-9a-fA-F]{6}", value):
        raise ValueError(f"colour {colour!r} is not #rrggbb")
    return (int(value[0:2], 16) / 255, int(value[2:4], 16) / 255, int(value[4:6], 16) / 255)


def ensure_nodes(block: Any) -> Any:
    """The node tree of a new material or world: Blender 5 makes one, 4.x only on `use_nodes`."""
    if block.node_tree is None:
        block.use_nodes = True
    return block.node_tree


def _principled(name: str, spec: LibraryMaterial) -> Any:
    import bpy

    mat: Any = bpy.data.materials.new(name)
    ensure_nodes(mat)
    bsdf = mat.node_tree.nodes["Principled BSDF"]
    bsdf.inputs["Base Color"].default_value = (*(srgb_to_linear(c) for c in spec.base_color), 1.0)
    bsdf.inputs["Metallic"].default_value = spec.metallic
    bsdf.inputs["Roughness"].default_value = spec.roughness
    bsdf.inputs["Coat Weight"].default_value = spec.coat
    mat.diffuse_color = (*spec.base_color, 1.0)  # what Workbench and the viewport show
    mat["hartomat_material"] = spec.key
    return mat


def material_for(key: str, colour: str | None = None) -> Any:
    """The Blender material of a library key (built once per scene build, then reused)."""
    import bpy

    if key == CAD_COLOUR:
        srgb = hex_to_srgb(colour or "#808080")
        name = f"HM_cad_{(colour or '#808080').lstrip('#').lower()}"
        spec = LibraryMaterial(key=CAD_COLOUR, label="CAD colour plastic", base_color=srgb, metallic=0.0,
                               roughness=0.4)
    elif key in LIBRARY:
        name, spec = f"HM_{key}", LIBRARY[key]
    else:
        raise KeyError(f"material '{key}' is not in the material library ({', '.join(sorted(LIBRARY))})")
    existing = bpy.data.materials.get(name)
    return existing if existing is not None else _principled(name, spec)


def part_key(obj: Any) -> str | None:
    """The part an imported object shows: its `hartomat_part` property (from the GLB node
    extras), else its nearest parent's; None for objects of GLBs not written by occ_glb_export."""
    node = obj
    while node is not None:
        key = node.get(PART_KEY)
        if key is not None:
            return str(key)
        node = node.parent
    return None


def _assign(obj: Any, material: Any) -> None:
    if not obj.material_slots:
        obj.data.materials.append(material)
    for slot in obj.material_slots:
        slot.link = "OBJECT"  # instances may share a mesh but not a material
        slot.material = material


def apply_material_map(meshes: list[Any], material_map: dict[str, Any], log: Callable[[str], None]) -> int:
    """Assign each mesh the material its part is mapped to; returns how many meshes were assigned."""
    assignments: dict[str, dict[str, Any]] = material_map.get("assignments") or {}
    assigned = 0
    for obj in meshes:
        key = part_key(obj)
        entry = assignments.get(key) if key is not None else None
        if entry is None:
            continue
        _assign(obj, material_for(str(entry.get("material", "")), entry.get("colour")))
        assigned += 1
    if assignments and assigned < len(meshes):
        log(f"materials: {len(meshes) - assigned} of {len(meshes)} meshes not in the material map keep "
            "their GLB colour")
    return assigned
