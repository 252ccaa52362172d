"""GLB import into the render scene, gathered under one product root."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

PRODUCT_ROOT = "HartOMat_Product"


@dataclass
class ImportedProduct:
    root: Any
    meshes: list[Any]


def import_glb(path: Path, scene: Any) -> ImportedProduct:
    """Import a GLB (metres, Y-up) with Blender's glTF importer; its objects go under one empty."""
    import bpy

    before = set(scene.objects)
    result = bpy.ops.import_scene.gltf(filepath=str(path))
    if "FINISHED" not in result:
        raise ValueError(f"Blender's glTF importer could not read {path}")
    new = [obj for obj in scene.objects if obj not in before]
    meshes = [obj for obj in new if obj.type == "MESH"]
    if not meshes:
        raise ValueError(f"{path} holds no meshes")
    root = bpy.data.objects.new(PRODUCT_ROOT, None)
    scene.collection.objects.link(root)
    for obj in new:
        if obj.parent is None:
            obj.parent = root
    return ImportedProduct(root=root, meshes=meshes)
