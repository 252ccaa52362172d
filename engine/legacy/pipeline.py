"""The legacy pipeline: the fixed preset render pipeline as one plain function.

It runs the still / turntable / multi-angle / still-with-exports steps in their fixed order from
the flat LegacyPresetConfig, calling the same executors (through `run_step`, which the runtime
provides: it records every step like a graph node). It is the authoritative path of the
`legacy` and `shadow` modes and the hard fallback of a failed graph run.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..model.artifacts import Artifact, ArtifactKind
from ..model.publishing import MediaAsset, primary_index, role_of
from ..model.vocabulary import Preset
from .presets import RENDER_KEYS, LegacyPresetConfig

Outputs = dict[str, list[Artifact]]
StepRunner = Callable[[str, str, dict[str, Any], Outputs], Outputs]
PublishFn = Callable[[Artifact, str, bool, str], MediaAsset]


def _one(outputs: Outputs, port: str) -> list[Artifact]:
    return outputs.get(port, [])


def _render_settings(config: LegacyPresetConfig) -> dict[str, Any]:
    return {key: getattr(config, key) for key in RENDER_KEYS}


def run_legacy_pipeline(config: LegacyPresetConfig, run_step: StepRunner, publish: PublishFn) -> list[MediaAsset]:
    """Run the preset's steps in order, publish its media (first render primary), notify."""
    tess = {"linear_deflection": config.linear_deflection, "angular_deflection": config.angular_deflection}
    line = _one(run_step("setup", "order_line_setup", {"output_type": config.preset}, {}), "order_line")
    step_file = _one(run_step("step", "resolve_step_path", {}, {"order_line": line}), "step_file")
    parts = _one(run_step("extract", "occ_object_extract", {}, {"step_file": step_file}), "cad_parts")
    glb = _one(run_step("glb_export", "occ_glb_export", tess, {"step_file": step_file}), "glb")
    bbox = _one(run_step("bbox", "glb_bbox", {}, {"glb": glb}), "bbox")
    rules = [r.model_dump() for r in config.material_rules]
    ruled = _one(run_step("material_rules", "material_map_resolve", {"rules": rules}, {"cad_parts": parts}),
                 "material_map")
    materials = _one(run_step("materials", "auto_populate_materials", {"default_material": config.default_material},
                              {"cad_parts": parts, "material_map": ruled}), "material_map")
    template = _one(run_step("template", "resolve_template", {"template": config.template},
                             {"order_line": line}), "template")
    scene = {"glb": glb, "bbox": bbox, "material_map": materials, "template": template}

    media: list[tuple[str, Artifact]] = []
    if config.preset == Preset.TURNTABLE:
        out = run_step("turntable", "blender_turntable", {
            **_render_settings(config), "frame_count": config.frame_count, "fps": config.fps,
            "elevation": config.turntable_elevation, "view": config.turntable_view, "video_format": config.video_format,
            "keep_frames": config.keep_frames}, scene)
        media += [("turntable", a) for a in _one(out, "video") + (_one(out, "frames") if config.keep_frames else [])]
    else:
        for angle in config.camera_angles:
            node_id = "still" if len(config.camera_angles) == 1 else f"still_{angle.name}"
            out = run_step(node_id, "blender_still", {**_render_settings(config), "azimuth": angle.azimuth,
                                                      "elevation": angle.elevation, "view_name": angle.name,
                                                      "view": angle.view}, scene)
            media += [(node_id, a) for a in _one(out, "image")]
    images = [a for _, a in media if a.kind in (ArtifactKind.IMAGE, ArtifactKind.IMAGE_SET)]
    if config.thumbnail_sizes and config.preset != Preset.TURNTABLE and images:
        out = run_step("thumbnails", "thumbnail_save", {"sizes": config.thumbnail_sizes}, {"image": images})
        media += [("thumbnails", a) for a in _one(out, "thumbnails")]
    media += _exports(config, run_step, scene, step_file, tess, glb)

    roles = [role_of(a) for _, a in media]
    primary = primary_index(roles)
    assets = [publish(a, roles[i], i == primary, node_id) for i, (node_id, a) in enumerate(media)]
    record = Artifact(kind=ArtifactKind.MEDIA_ASSET, data={"assets": [a.model_dump(mode="json") for a in assets]})
    run_step("notify", "notify", {"webhook_url": config.webhook_url}, {"assets": [record]})
    return assets


def _exports(config: LegacyPresetConfig, run_step: StepRunner, scene: Outputs, step_file: list[Artifact],
             tess: dict[str, Any], glb: list[Artifact]) -> list[tuple[str, Artifact]]:
    media: list[tuple[str, Artifact]] = []
    if "blend" in config.export_formats:
        media += [("blend", a) for a in _one(run_step("blend", "export_blend", {}, scene), "blend")]
    if "stl" in config.export_formats:
        out = run_step("stl", "stl_cache_generate", tess, {"step_file": step_file})
        media += [("stl", a) for a in _one(out, "stl_set")]
    if "threejs" in config.export_formats:
        media += [("viewer", a) for a in _one(run_step("viewer", "threejs_render", {}, {"glb": glb}), "viewer")]
    if "glb" in config.export_formats:
        media += [("glb_export", a) for a in glb]
    return media
