"""The material map applied to the product, keyed by each object's part key.

Materials come from a material library .blend (`material_library`); a `cad_colour` assignment is
a plastic in the part's CAD colour. Parts the map does not name keep the GLB's own (CAD colour)
material. Colour helpers: CAD colours are sRGB, Blender's node colour inputs scene-linear.
The map is keyed by part key (the GLB node extra `hartomat_part`, a custom property after
import), never by object name: two parts may share a name, and Blender renames the second.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

PART_KEY = "hartomat_part"  # glb_post.PART_KEY: the node extra the glTF importer makes a property


def srgb_to_linear(c: float) -> float:
    return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4


def linear_to_hex(rgb: Any) -> str:
    """A scene-linear colour as the '#rrggbb' sRGB a CAD system would show."""
    def encode(c: float) -> float:
        c = max(0.0, min(1.0, float(c)))
        return c * 12.92 if c <= 0.0031308 else 1.055 * c ** (1 / 2.4) - 0.055

    return "#" + "".join(f"{round(encode(c) * 255):02x}" for c in list(rgb)[:3])


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


def part_key(obj: Any) -> str | None:
    """The part an imported object shows: its `hartomat_part` property (from the GLB node
    extras), else its nearest parent's; None for objects of GLBs not written by occ_glb_export.
    Rules and maps key on this alone."""
    node = obj
    while node is not None:
        key = node.get(PART_KEY)
        if key is not None:
            return str(key)
        node = node.parent
    return None


def glb_colour(material: Any) -> str | None:
    """The base colour the glTF importer gave a material (its Principled BSDF), as '#rrggbb'."""
    tree = material.node_tree if material is not None else None
    for node in tree.nodes if tree is not None else []:
        if node.type == "BSDF_PRINCIPLED" and not node.inputs["Base Color"].is_linked:
            return linear_to_hex(node.inputs["Base Color"].default_value)
    return None


def _assign(obj: Any, entry: dict[str, Any], library: Any) -> None:
    """Every slot takes the mapped material; on a part with several CAD colours (face colours,
    an overriding style) a slot whose own colour is not the part's keeps it, in that material."""
    from .material_library import library_material

    name, colour = str(entry.get("material", "")), entry.get("colour")
    if not obj.material_slots:
        obj.data.materials.append(library_material(name, colour, library))
    several = len(obj.material_slots) > 1
    for slot in obj.material_slots:
        own = glb_colour(slot.material) if several and colour else None
        slot.link = "OBJECT"  # instances may share a mesh but not a material
        slot.material = library_material(name, own if own and own != colour else colour, library)


def apply_material_map(meshes: list[Any], material_map: dict[str, Any], log: Callable[[str], None]) -> int:
    """Assign each mesh the material its part is mapped to, from the map's material library (a
    .blend; the built-in one when the map names none); returns how many meshes were assigned."""
    from pathlib import Path

    assignments: dict[str, dict[str, Any]] = material_map.get("assignments") or {}
    library = Path(material_map["library"]) if material_map.get("library") else None
    assigned = 0
    for obj in meshes:
        key = part_key(obj)
        entry = assignments.get(key) if key is not None else None
        if entry is None:
            continue
        _assign(obj, entry, library)
        assigned += 1
    if assignments and assigned < len(meshes):
        log(f"materials: {len(meshes) - assigned} of {len(meshes)} meshes not in the material map keep "
            "their GLB colour")
    return assigned
