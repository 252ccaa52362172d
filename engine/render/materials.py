"""The built-in material library as data: what `engine.render.blender.material_library` builds the
library .blend from, and the keys rules may name without reading a .blend.

A studio's own library is a .blend of named Blender materials; these specs only make the
built-in one. Colours are sRGB triples in 0..1. A material with `cad_colour` takes the part's
CAD colour as its base colour (the render node sets it on a per-colour copy).
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

CAD_COLOUR = "cad_colour"


class LibraryMaterial(BaseModel):
    model_config = ConfigDict(frozen=True)

    key: str
    label: str
    base_color: tuple[float, float, float] = (0.5, 0.5, 0.5)
    metallic: float = Field(0.0, ge=0, le=1)
    roughness: float = Field(0.5, ge=0, le=1)
    coat: float = Field(0.0, ge=0, le=1)
    coat_roughness: float = Field(0.05, ge=0, le=1)
    specular: float = Field(0.5, ge=0, le=1, description="Principled 'Specular IOR Level' (0.5 = F0 4%)")
    anisotropic: float = Field(0.0, ge=0, le=1, description="Brushed look: highlights stretched around the part")
    cad_colour: bool = False


def _metal(key: str, label: str, colour: tuple[float, float, float], roughness: float,
           anisotropic: float = 0.0) -> LibraryMaterial:
    return LibraryMaterial(key=key, label=label, base_color=colour, metallic=1.0, roughness=roughness,
                           anisotropic=anisotropic)


def _plastic(key: str, label: str, colour: tuple[float, float, float], roughness: float = 0.45) -> LibraryMaterial:
    return LibraryMaterial(key=key, label=label, base_color=colour, roughness=roughness, specular=0.3)


LIBRARY: dict[str, LibraryMaterial] = {
    m.key: m
    for m in (
        _metal("polished_steel", "Polished steel", (0.8, 0.8, 0.82), 0.08),
        _metal("steel", "Steel, ground", (0.66, 0.67, 0.69), 0.3),
        _metal("brushed_steel", "Brushed steel (anisotropic)", (0.7, 0.7, 0.72), 0.35, anisotropic=0.8),
        _metal("chrome", "Chrome", (0.9, 0.9, 0.92), 0.03),
        LibraryMaterial(key="black_oxide", label="Black oxide", base_color=(0.06, 0.06, 0.065), metallic=0.85,
                        roughness=0.45),
        _metal("brass", "Brass", (0.86, 0.68, 0.33), 0.22),
        _metal("aluminium", "Aluminium, bead-blasted", (0.91, 0.92, 0.92), 0.4),
        LibraryMaterial(key="rubber", label="Rubber", base_color=(0.035, 0.035, 0.035), roughness=0.85, specular=0.2),
        LibraryMaterial(key="plastic_matte", label="Matte plastic, CAD colour", roughness=0.65, specular=0.25,
                        cad_colour=True),
        LibraryMaterial(key="plastic_gloss", label="Gloss plastic, CAD colour", roughness=0.12, specular=0.4,
                        cad_colour=True),
        LibraryMaterial(key="painted_metal", label="Painted metal, CAD colour", roughness=0.4, specular=0.3, coat=0.6,
                        coat_roughness=0.08, cad_colour=True),
        LibraryMaterial(key="painted_plastic", label="Painted plastic, CAD colour", roughness=0.5, specular=0.3,
                        cad_colour=True),
        LibraryMaterial(key=CAD_COLOUR, label="Satin plastic, CAD colour (unmatched parts)", roughness=0.55,
                        specular=0.15,
                        cad_colour=True),
        _plastic("plastic_grey", "Plastic, grey", (0.5, 0.5, 0.5)),
        _plastic("plastic_white", "Plastic, white", (0.9, 0.9, 0.88)),
        _plastic("plastic_black", "Plastic, black", (0.04, 0.04, 0.04)),
        _plastic("plastic_red", "Plastic, red", (0.7, 0.05, 0.04)),
        _plastic("plastic_blue", "Plastic, blue", (0.05, 0.15, 0.6)),
    )
}
