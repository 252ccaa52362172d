"""The material library as data: Principled BSDF parameters per library key.

Rules (`material_map_resolve`) name these keys; the Blender executors build node setups from
them; the GLB keeps only base colours. Colours are linear-agnostic sRGB triples in 0..1.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class LibraryMaterial(BaseModel):
    model_config = ConfigDict(frozen=True)

    key: str
    label: str
    base_color: tuple[float, float, float]
    metallic: float = Field(ge=0, le=1)
    roughness: float = Field(ge=0, le=1)
    coat: float = Field(0.0, ge=0, le=1)


LIBRARY: dict[str, LibraryMaterial] = {
    m.key: m
    for m in (
        LibraryMaterial(key="steel", label="Steel", base_color=(0.62, 0.63, 0.65), metallic=1.0, roughness=0.35),
        LibraryMaterial(key="polished_steel", label="Polished steel", base_color=(0.8, 0.8, 0.82), metallic=1.0,
                        roughness=0.08),
        LibraryMaterial(key="brass", label="Brass", base_color=(0.78, 0.6, 0.26), metallic=1.0, roughness=0.25),
        LibraryMaterial(key="black_oxide", label="Black oxide", base_color=(0.05, 0.05, 0.055), metallic=0.8,
                        roughness=0.45),
        LibraryMaterial(key="rubber", label="Rubber", base_color=(0.03, 0.03, 0.03), metallic=0.0, roughness=0.85),
        LibraryMaterial(key="plastic_grey", label="Plastic, grey", base_color=(0.5, 0.5, 0.5), metallic=0.0,
                        roughness=0.45),
        LibraryMaterial(key="plastic_white", label="Plastic, white", base_color=(0.9, 0.9, 0.88), metallic=0.0,
                        roughness=0.4),
        LibraryMaterial(key="plastic_black", label="Plastic, black", base_color=(0.04, 0.04, 0.04), metallic=0.0,
                        roughness=0.4),
        LibraryMaterial(key="plastic_red", label="Plastic, red", base_color=(0.7, 0.05, 0.04), metallic=0.0,
                        roughness=0.4),
        LibraryMaterial(key="plastic_blue", label="Plastic, blue", base_color=(0.05, 0.15, 0.6), metallic=0.0,
                        roughness=0.4),
        LibraryMaterial(key="aluminium", label="Aluminium", base_color=(0.91, 0.92, 0.92), metallic=1.0,
                        roughness=0.3),
    )
}
