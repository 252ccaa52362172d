"""The legacy output configs and their migration to workflow DAGs.

A legacy config is flat: one bag of render settings per output type. `migrate_preset` carries
every setting into the node that now owns it; `LEGACY_SETTING_MAP` records where each one went
(the parity matrix is generated from it).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from ..model.node_settings import ImageFormat, MaterialRule, RenderEngine, ViewChoice
from ..model.registry import REGISTRY
from ..model.vocabulary import Preset
from ..model.workflow import Workflow, WorkflowEdge, WorkflowNode

ExportFormat = Literal["blend", "stl", "threejs", "glb"]


class CameraAngle(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, pattern=r"^[A-Za-z0-9_-]+$")
    azimuth: float = Field(ge=-360, le=360)
    elevation: float = Field(ge=-89, le=89)
    view: ViewChoice = "fixed"


RENDER_KEYS = ("engine", "resolution_x", "resolution_y", "samples", "adaptive_threshold", "denoise",
               "transparent", "file_format", "margin", "focal_length")

# legacy setting -> (step that owns it now, field in that step's settings)
LEGACY_SETTING_MAP: dict[str, list[tuple[str, str]]] = {
    "preset": [("order_line_setup", "output_type")],
    **{key: [("blender_still", key), ("blender_turntable", key)] for key in RENDER_KEYS},
    "camera_angles": [("blender_still", "azimuth"), ("blender_still", "elevation"), ("blender_still", "view_name"),
                      ("blender_still", "view")],
    "frame_count": [("blender_turntable", "frame_count")],
    "fps": [("blender_turntable", "fps")],
    "turntable_elevation": [("blender_turntable", "elevation")],
    "turntable_view": [("blender_turntable", "view")],
    "video_format": [("blender_turntable", "video_format")],
    "keep_frames": [("blender_turntable", "keep_frames")],
    "export_formats": [("export_blend", "*"), ("stl_cache_generate", "*"), ("threejs_render", "*")],
    "thumbnail_sizes": [("thumbnail_save", "sizes")],
    "linear_deflection": [("occ_glb_export", "linear_deflection"), ("stl_cache_generate", "linear_deflection")],
    "angular_deflection": [("occ_glb_export", "angular_deflection"), ("stl_cache_generate", "angular_deflection")],
    "material_rules": [("material_map_resolve", "rules")],
    "default_material": [("auto_populate_materials", "default_material")],
    "template": [("resolve_template", "template")],
    "webhook_url": [("notify", "webhook_url")],
}
# legacy settings that are not one node setting copied as is: the node's value is built from
# them (the preset's name, camera angles, which export nodes exist, whether a thumbnail node exists)
RESHAPED_KEYS = frozenset({"preset", "camera_angles", "export_formats", "thumbnail_sizes"})


def owned(key: str) -> Any:
    """A legacy field that is one node setting: the default, bounds and description of the
    setting LEGACY_SETTING_MAP names first for `key`, so the legacy config never states them
    (or which node owns them) a second time."""
    step, field = LEGACY_SETTING_MAP[key][0]
    info = REGISTRY.get(step).settings_model.model_fields[field]
    copied = Field(info.default, description=info.description)
    copied.metadata.extend(info.metadata)  # ge/gt/le/lt, lengths, patterns
    return copied


class LegacyPresetConfig(BaseModel):
    """The flat settings the legacy render pipeline reads for one output type; a field that is
    one node setting takes its default and bounds from that node (`owned`, through
    LEGACY_SETTING_MAP)."""

    model_config = ConfigDict(extra="forbid")

    preset: Preset
    engine: RenderEngine = owned("engine")
    resolution_x: int = owned("resolution_x")
    resolution_y: int = owned("resolution_y")
    samples: int = owned("samples")
    adaptive_threshold: float = owned("adaptive_threshold")
    denoise: bool = owned("denoise")
    transparent: bool = owned("transparent")
    file_format: ImageFormat = owned("file_format")
    margin: float = owned("margin")
    focal_length: float = owned("focal_length")
    camera_angles: list[CameraAngle] = Field(
        default_factory=lambda: [CameraAngle(name="still", azimuth=35.0, elevation=25.0, view="auto")], min_length=1
    )
    frame_count: int = owned("frame_count")
    fps: int = owned("fps")
    turntable_elevation: float = owned("turntable_elevation")
    turntable_view: ViewChoice = owned("turntable_view")
    video_format: Literal["MP4", "MKV"] = owned("video_format")
    keep_frames: bool = owned("keep_frames")
    export_formats: list[ExportFormat] = Field(default_factory=list)
    thumbnail_sizes: list[int] = Field(default_factory=lambda: [256])  # [] = no thumbnail node
    linear_deflection: float = owned("linear_deflection")
    angular_deflection: float = owned("angular_deflection")
    material_rules: list[MaterialRule] = owned("material_rules")
    default_material: str = owned("default_material")
    template: str = owned("template")
    webhook_url: str = owned("webhook_url")


DEFAULT_RULES = [
    MaterialRule(name_pattern="*ball*", material="polished_steel"),
    MaterialRule(name_pattern="*ring*", material="steel"),
    MaterialRule(name_pattern="*cage*", material="brass"),
    MaterialRule(name_pattern="*seal*", material="rubber"),
]

PRESETS: dict[str, LegacyPresetConfig] = {
    Preset.STILL: LegacyPresetConfig(preset=Preset.STILL, material_rules=DEFAULT_RULES),
    Preset.TURNTABLE: LegacyPresetConfig(
        preset=Preset.TURNTABLE, resolution_x=640, resolution_y=640, samples=32, material_rules=DEFAULT_RULES,
        thumbnail_sizes=[],
    ),
    Preset.MULTI_ANGLE: LegacyPresetConfig(
        preset=Preset.MULTI_ANGLE,
        camera_angles=[
            CameraAngle(name="front", azimuth=0.0, elevation=10.0),
            CameraAngle(name="side", azimuth=90.0, elevation=10.0),
            CameraAngle(name="top", azimuth=0.0, elevation=80.0),
            CameraAngle(name="iso", azimuth=45.0, elevation=35.0),
        ],
        material_rules=DEFAULT_RULES,
    ),
    Preset.STILL_WITH_EXPORTS: LegacyPresetConfig(
        preset=Preset.STILL_WITH_EXPORTS, export_formats=["blend", "stl", "threejs"],
        thumbnail_sizes=[128, 512], material_rules=DEFAULT_RULES,
    ),
}



def legacy_overrides(changes: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Changes to legacy settings as the step-keyed overrides that make the same change to a
    migrated graph (through LEGACY_SETTING_MAP), e.g. {"samples": 8} -> blender_still.samples
    and blender_turntable.samples."""
    overrides: dict[str, dict[str, Any]] = {}
    for key, value in changes.items():
        if key in RESHAPED_KEYS or key not in LEGACY_SETTING_MAP:
            raise ValueError(f"legacy setting {key!r} is not one node setting")
        for step, field in LEGACY_SETTING_MAP[key]:
            overrides.setdefault(step, {})[field] = value
    return overrides


class _GraphBuilder:
    """Appends nodes and edges in a fixed, readable order so migrated graphs are deterministic."""

    def __init__(self, name: str, family: str) -> None:
        self.nodes: list[WorkflowNode] = []
        self.edges: list[WorkflowEdge] = []
        self.name, self.family = name, family

    def add(self, node_id: str, step: str, column: int, row: int = 0, **params: Any) -> str:
        ui = {"position": [column * 260, -row * 180]}
        self.nodes.append(WorkflowNode(id=node_id, step=step, params=params, ui=ui))
        return node_id

    def link(self, source: str, source_output: str, target: str, target_input: str) -> None:
        self.edges.append(WorkflowEdge(source=source, source_output=source_output,
                                       target=target, target_input=target_input))

    def build(self) -> Workflow:
        return Workflow(name=self.name, family=self.family, nodes=self.nodes, edges=self.edges)


def _render_params(config: LegacyPresetConfig) -> dict[str, Any]:
    return {key: getattr(config, key) for key in RENDER_KEYS}


def _link_render_inputs(g: _GraphBuilder, target: str) -> None:
    g.link("glb_export", "glb", target, "glb")
    g.link("bbox", "bbox", target, "bbox")
    g.link("materials", "material_map", target, "material_map")
    g.link("template", "template", target, "template")


def migrate_preset(config: LegacyPresetConfig) -> Workflow:
    """The DAG that does what the legacy pipeline did for this config, setting for setting."""
    tess: dict[str, Any] = {"linear_deflection": config.linear_deflection, "angular_deflection": config.angular_deflection}
    g = _GraphBuilder(f"{config.preset} (migrated)", config.preset)
    g.add("setup", "order_line_setup", 0, output_type=config.preset)
    g.add("step", "resolve_step_path", 1)
    g.add("extract", "occ_object_extract", 2, 1)
    g.add("glb_export", "occ_glb_export", 2, **tess)
    g.add("bbox", "glb_bbox", 3)
    g.add("material_rules", "material_map_resolve", 3, 1, rules=[r.model_dump() for r in config.material_rules])
    g.add("materials", "auto_populate_materials", 4, 1, default_material=config.default_material)
    g.add("template", "resolve_template", 4, 2, template=config.template)
    g.link("setup", "order_line", "step", "order_line")
    g.link("setup", "order_line", "template", "order_line")
    g.link("step", "step_file", "extract", "step_file")
    g.link("step", "step_file", "glb_export", "step_file")
    g.link("glb_export", "glb", "bbox", "glb")
    g.link("extract", "cad_parts", "material_rules", "cad_parts")
    g.link("extract", "cad_parts", "materials", "cad_parts")
    g.link("material_rules", "material_map", "materials", "material_map")

    media: list[tuple[str, str]] = []
    if config.preset == Preset.TURNTABLE:
        g.add("turntable", "blender_turntable", 5, **_render_params(config), frame_count=config.frame_count,
              fps=config.fps, elevation=config.turntable_elevation, view=config.turntable_view,
              video_format=config.video_format,
              keep_frames=config.keep_frames)
        _link_render_inputs(g, "turntable")
        media.append(("turntable", "video"))
        if config.keep_frames:
            media.append(("turntable", "frames"))
    else:
        for row, angle in enumerate(config.camera_angles):
            node_id = "still" if len(config.camera_angles) == 1 else f"still_{angle.name}"
            g.add(node_id, "blender_still", 5, row, **_render_params(config), view=angle.view,
                  azimuth=angle.azimuth, elevation=angle.elevation, view_name=angle.name)
            _link_render_inputs(g, node_id)
            media.append((node_id, "image"))

    if config.thumbnail_sizes:
        # a turntable's thumbnails come from its frames, which it then has to keep
        if config.preset == Preset.TURNTABLE and not config.keep_frames:
            g.nodes[-1].params["keep_frames"] = True
            media.append(("turntable", "frames"))
        g.add("thumbnails", "thumbnail_save", 6, 1, sizes=config.thumbnail_sizes)
        for node_id, port in media:
            if port in ("image", "frames"):
                g.link(node_id, port, "thumbnails", "image")
        media.append(("thumbnails", "thumbnails"))
    if "blend" in config.export_formats:
        g.add("blend", "export_blend", 6, 2)
        _link_render_inputs(g, "blend")
        media.append(("blend", "blend"))
    if "stl" in config.export_formats:
        g.add("stl", "stl_cache_generate", 6, 3, **tess)
        g.link("step", "step_file", "stl", "step_file")
        media.append(("stl", "stl_set"))
    if "threejs" in config.export_formats:
        g.add("viewer", "threejs_render", 6, 4)
        g.link("glb_export", "glb", "viewer", "glb")
        media.append(("viewer", "viewer"))
    if "glb" in config.export_formats:
        media.append(("glb_export", "glb"))

    g.add("save", "output_save", 7)
    for node_id, port in media:
        g.link(node_id, port, "save", "media")
    g.add("notify", "notify", 8, webhook_url=config.webhook_url)
    g.link("save", "assets", "notify", "assets")
    return g.build()


def preset_workflow(name: str) -> Workflow:
    return migrate_preset(PRESETS[name])
