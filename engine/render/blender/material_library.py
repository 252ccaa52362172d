"""Material libraries as .blend files of named Blender materials, appended by name at render time.

The built-in library (`BUILTIN_LIBRARY`) is built from `engine.render.materials` by
`build_library` at set-up, like the templates; a studio points `material_library` at its own
.blend (node trees, textures and all). A material with a colour node named `CAD_COLOUR_NODE`
takes each part's CAD colour on a per-colour copy. Works in bpy 5.0 and Blender 4.3: when this
Blender cannot read the built-in file (saved by a newer Blender) it builds the same materials
in memory from the specs.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..materials import LIBRARY, LibraryMaterial
from .shading import ensure_nodes, hex_to_srgb, srgb_to_linear

BUILTIN_LIBRARY = Path(__file__).resolve().parents[2] / "templates" / "materials.blend"
CAD_COLOUR_NODE = "hartomat_cad_colour"
MATERIAL_KEY = "hartomat_material"
LIBRARY_KEY = "hartomat_library"


def _linear(colour: tuple[float, float, float]) -> tuple[float, float, float, float]:
    r, g, b = (srgb_to_linear(c) for c in colour)
    return (r, g, b, 1.0)


def build_material(spec: LibraryMaterial, name: str | None = None) -> Any:
    """One library material as a Principled BSDF node tree (plus a CAD-colour node, a radial
    tangent for brushed metals)."""
    import bpy

    mat: Any = bpy.data.materials.new(name or spec.key)
    tree = ensure_nodes(mat)
    bsdf = tree.nodes["Principled BSDF"]
    values = {"Base Color": _linear(spec.base_color), "Metallic": spec.metallic, "Roughness": spec.roughness,
              "Coat Weight": spec.coat, "Coat Roughness": spec.coat_roughness,
              "Specular IOR Level": spec.specular, "Anisotropic": spec.anisotropic}
    for socket, value in values.items():
        bsdf.inputs[socket].default_value = value
    if spec.anisotropic > 0:
        tangent = tree.nodes.new("ShaderNodeTangent")
        tangent.direction_type, tangent.axis = "RADIAL", "Z"
        tree.links.new(tangent.outputs["Tangent"], bsdf.inputs["Tangent"])
    if spec.cad_colour:
        rgb = tree.nodes.new("ShaderNodeRGB")
        rgb.name = rgb.label = CAD_COLOUR_NODE
        rgb.outputs[0].default_value = _linear(spec.base_color)
        rgb.location = (bsdf.location.x - 250, bsdf.location.y)
        tree.links.new(rgb.outputs[0], bsdf.inputs["Base Color"])
    mat.diffuse_color = (*spec.base_color, 1.0)  # what Workbench and the viewport show
    mat.metallic, mat.roughness = spec.metallic, spec.roughness
    mat[MATERIAL_KEY] = spec.key
    return mat


def build_library(target: Path, specs: dict[str, LibraryMaterial] | None = None) -> Path:
    """Write the materials of `specs` (default: the built-in library) to a .blend, by name."""
    import bpy

    materials = [build_material(spec) for spec in (specs or LIBRARY).values()]
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        bpy.data.libraries.write(str(target), set(materials), fake_user=True, compress=True)
    finally:
        bpy.data.batch_remove(materials)
    return target


def library_names(path: Path) -> list[str]:
    """Material names in a library .blend; ValueError naming the file when it cannot be read."""
    import bpy

    libraries: Any = bpy.data.libraries  # fake-bpy types load() as returning None
    try:
        with libraries.load(str(path), link=False) as (source, _):
            return list(source.materials)
    except OSError as exc:
        raise ValueError(f"material library {path} cannot be read: {exc}") from None


def _append(path: Path, name: str) -> Any:
    import bpy

    names = library_names(path)
    if name not in names:
        raise KeyError(f"material '{name}' is not in the material library {path} (has: {', '.join(sorted(names))})")
    libraries: Any = bpy.data.libraries
    with libraries.load(str(path), link=False) as (_, target):
        target.materials = [name]
    return target.materials[0]


def _base(name: str, library: Path | None) -> Any:
    """The library's material `name` as a fresh local copy in this file; a studio library extends
    the built-in one, so a built-in name it lacks (e.g. `cad_colour`) comes from the built-in."""
    if library is not None and (name in library_names(library) or name not in LIBRARY):
        return _append(library, name)
    if name not in LIBRARY:
        raise KeyError(f"material '{name}' is not in the material library ({', '.join(sorted(LIBRARY))})")
    if BUILTIN_LIBRARY.is_file():
        try:
            return _append(BUILTIN_LIBRARY, name)
        except ValueError:
            pass  # saved by a newer Blender than this one: build the same material from its spec
    return build_material(LIBRARY[name])


def _recolour(material: Any, colour: str) -> None:
    srgb = hex_to_srgb(colour)
    node = material.node_tree.nodes.get(CAD_COLOUR_NODE) if material.node_tree else None
    if node is not None:
        node.outputs[0].default_value = _linear(srgb)
    material.diffuse_color = (*srgb, 1.0)


def library_material(name: str, colour: str | None = None, library: Path | None = None) -> Any:
    """The Blender material for a part: the library's `name` (built-in when `library` is None),
    recoloured to the part's CAD colour when it has a CAD-colour node; one copy per colour,
    reused within a scene build."""
    import bpy

    source = str(library or "builtin")
    takes_colour = bool(colour) and (library is not None or (name in LIBRARY and LIBRARY[name].cad_colour))
    local = f"HM_{name}" + (f"_{colour.lstrip('#').lower()}" if takes_colour and colour else "")
    existing = bpy.data.materials.get(local)
    if existing is not None and existing.get(LIBRARY_KEY) == source:
        return existing
    material = _base(name, library)
    if takes_colour and colour and material.node_tree and material.node_tree.nodes.get(CAD_COLOUR_NODE):
        _recolour(material, colour)
    material.name = local
    material[LIBRARY_KEY] = source
    material.use_fake_user = False
    return material
