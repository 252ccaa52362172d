"""The catalogue of steps: every node HartOMat ships, as data."""

from __future__ import annotations

from pydantic import Field, create_model

from . import node_settings as s
from .artifacts import ArtifactKind as K
from .node_definition import FanOut, NodeDefinition, NodeSettings, inp, out

RENDER_INPUTS = (
    inp("glb", K.GLB, description="The product geometry"),
    inp("bbox", K.BBOX, description="Framing box from glb_bbox"),
    inp("material_map", K.MATERIAL_MAP, required=False, description="Part -> material assignment"),
    inp("template", K.TEMPLATE, required=False, description="Studio scene; a plain one when absent"),
)

PUBLISHABLE = (K.IMAGE, K.IMAGE_SET, K.VIDEO, K.BLEND_FILE, K.HTML_VIEWER, K.STL_SET, K.GLB)

CORE: tuple[NodeDefinition, ...] = (
    NodeDefinition(
        key="order_line_setup", label="Order Line Setup", family="input", icon="FILE_NEW",
        description="Opens a run for one order line: working folder, product, output type, invocation overrides.",
        module_key="pure.order_line_setup", settings_model=s.OrderLineSetupSettings,
        outputs=(out("order_line", K.ORDER_LINE),),
    ),
    NodeDefinition(
        key="resolve_step_path", label="Resolve STEP Path", family="input", icon="FILE_FOLDER",
        description="Finds the product's STEP file (explicit path or product library lookup) and fingerprints it.",
        module_key="cad.resolve_step_path", settings_model=s.ResolveStepPathSettings,
        inputs=(inp("order_line", K.ORDER_LINE),),
        outputs=(out("step_file", K.STEP_FILE),),
    ),
    NodeDefinition(
        key="occ_object_extract", label="Extract CAD Objects", family="cad", icon="OUTLINER_OB_GROUP_INSTANCE",
        description="Reads the STEP with XCAF: parts, names, colours, assembly tree, instances, units.",
        module_key="cad.occ_object_extract", settings_model=s.OccObjectExtractSettings,
        inputs=(inp("step_file", K.STEP_FILE),),
        outputs=(out("cad_parts", K.CAD_PARTS),),
        capabilities=("ocp",), execution="process",
    ),
    NodeDefinition(
        key="occ_glb_export", label="Export GLB", family="cad", icon="EXPORT",
        description="Tessellates and writes a GLB in metres, Y-up, with names, colours and instances kept.",
        module_key="cad.occ_glb_export", settings_model=s.OccGlbExportSettings,
        inputs=(inp("step_file", K.STEP_FILE),),
        outputs=(out("glb", K.GLB, role="glb_model"),),
        capabilities=("ocp",), execution="process",
    ),
    NodeDefinition(
        key="glb_bbox", label="GLB Bounding Box", family="cad", icon="CUBE",
        description="Bounding box, size, centre and diagonal of the GLB in metres, for camera framing.",
        module_key="cad.glb_bbox", settings_model=s.GlbBboxSettings,
        inputs=(inp("glb", K.GLB),),
        outputs=(out("bbox", K.BBOX),),
    ),
    NodeDefinition(
        key="stl_cache_generate", label="STL Cache", family="cad", icon="MESH_DATA",
        description="Per-part STL files, cached by STEP fingerprint and tessellation settings.",
        module_key="cad.stl_cache_generate", settings_model=s.StlCacheGenerateSettings,
        inputs=(inp("step_file", K.STEP_FILE),),
        outputs=(out("stl_set", K.STL_SET, role="stl_parts"),),
        capabilities=("ocp",), execution="process",
    ),
    NodeDefinition(
        key="material_map_resolve", label="Resolve Materials", family="materials", icon="MATERIAL",
        description="Maps part names and colours to library materials by ordered rules.",
        module_key="pure.material_map_resolve", settings_model=s.MaterialMapResolveSettings,
        inputs=(inp("cad_parts", K.CAD_PARTS),),
        outputs=(out("material_map", K.MATERIAL_MAP),),
    ),
    NodeDefinition(
        key="auto_populate_materials", label="Auto-populate Materials", family="materials", icon="SHADING_RENDERED",
        description="Assigns defaults to unmatched parts and records what it assumed.",
        module_key="pure.auto_populate_materials", settings_model=s.AutoPopulateMaterialsSettings,
        inputs=(inp("cad_parts", K.CAD_PARTS), inp("material_map", K.MATERIAL_MAP, required=False)),
        outputs=(out("material_map", K.MATERIAL_MAP),),
    ),
    NodeDefinition(
        key="resolve_template", label="Resolve Template", family="scene", icon="SCENE_DATA",
        description="Picks the render template (studio, lights, camera rig, world) for the output type.",
        module_key="render.resolve_template", settings_model=s.ResolveTemplateSettings,
        inputs=(inp("order_line", K.ORDER_LINE),),
        outputs=(out("template", K.TEMPLATE),),
    ),
    NodeDefinition(
        key="blender_render", label="Blender Render", family="render", icon="RENDER_STILL",
        description="General Blender render of the prepared scene through the template's camera.",
        module_key="render.blender_render", settings_model=s.BlenderRenderSettings,
        inputs=RENDER_INPUTS, outputs=(out("image", K.IMAGE, role="primary_render"),),
        capabilities=("bpy",), execution="main_thread", self_publishes=True, is_render=True,
    ),
    NodeDefinition(
        key="blender_still", label="Blender Still", family="render", icon="IMAGE_DATA",
        description="A still image with the camera framed on the bounding box from a chosen angle.",
        module_key="render.blender_still", settings_model=s.BlenderStillSettings,
        inputs=RENDER_INPUTS, outputs=(out("image", K.IMAGE, role="primary_render"),),
        capabilities=("bpy",), execution="main_thread", self_publishes=True, is_render=True,
        fan_out=FanOut(kind="views", switch="split_job", parts=("image",)),
    ),
    NodeDefinition(
        key="blender_turntable", label="Blender Turntable", family="render", icon="RENDER_ANIMATION",
        description="N frames around the product, encoded to video; frames kept on request.",
        module_key="render.blender_turntable", settings_model=s.BlenderTurntableSettings,
        inputs=RENDER_INPUTS,
        outputs=(out("video", K.VIDEO, role="turntable_video"),
                 out("frames", K.IMAGE_SET, role="turntable_frames")),
        capabilities=("bpy",), execution="main_thread", self_publishes=True, is_render=True,
        workflow_families=("turntable",),
        fan_out=FanOut(kind="frames", count="frame_count", start="chunk_start", end="chunk_end",
                       size="chunk_size", parts=("frames",),
                       assembler="engine.executors.render:assemble_turntable"),
    ),
    NodeDefinition(
        key="threejs_render", label="three.js Viewer", family="render", icon="WORLD",
        description="A self-contained three.js viewer page of the GLB and a PNG of it from headless Chromium.",
        module_key="web.threejs_render", settings_model=s.ThreejsRenderSettings,
        inputs=(inp("glb", K.GLB),),
        outputs=(out("viewer", K.HTML_VIEWER, role="web_viewer"),
                 out("snapshot", K.IMAGE, role="web_snapshot")),
        optional_capabilities=("browser",),
        execution="main_thread",  # its snapshot check uses Blender's image API where Pillow is absent
    ),
    NodeDefinition(
        key="thumbnail_save", label="Thumbnails", family="output", icon="IMAGE_REFERENCE",
        description="Thumbnails of images in the sizes asked.",
        module_key="media.thumbnail_save", settings_model=s.ThumbnailSaveSettings,
        inputs=(inp("image", K.IMAGE, K.IMAGE_SET, multiple=True),),
        outputs=(out("thumbnails", K.IMAGE_SET, role="thumbnail"),),
        execution="main_thread",  # Blender's image API where Pillow is absent; bpy is not thread-safe
    ),
    NodeDefinition(
        key="export_blend", label="Export .blend", family="output", icon="BLENDER",
        description="Saves the production scene as a .blend asset, without touching the primary output.",
        module_key="render.export_blend", settings_model=s.ExportBlendSettings,
        inputs=RENDER_INPUTS, outputs=(out("blend", K.BLEND_FILE, role="blend_production"),),
        capabilities=("bpy",), execution="main_thread",
    ),
    NodeDefinition(
        key="output_save", label="Save Outputs", family="output", icon="FILE_TICK",
        description="The only authoritative publisher: persists media assets and the order line's outputs, idempotently.",
        module_key="pure.output_save", settings_model=s.OutputSaveSettings,
        inputs=(inp("media", *PUBLISHABLE, multiple=True),),
        outputs=(out("assets", K.MEDIA_ASSET),),
    ),
    NodeDefinition(
        key="notify", label="Notify", family="output", icon="URL",
        description="Tells the order system: a signed webhook with retries, or a log line where none is set.",
        module_key="pure.notify", settings_model=s.NotifySettings,
        inputs=(inp("assets", K.MEDIA_ASSET, required=False, multiple=True),),
        outputs=(out("notification", K.NOTIFICATION),),
    ),
)


def _composite_settings(name: str, steps: tuple[str, ...]) -> type[NodeSettings]:
    """Settings of a bridge node: the settings of each wrapped step, under the step's key."""
    by_key = {d.key: d for d in CORE}
    fields = {
        step: (by_key[step].settings_model, Field(default_factory=by_key[step].settings_model,
                                                  json_schema_extra={"group": by_key[step].label}))
        for step in steps
    }
    return create_model(name, __base__=NodeSettings, **fields)  # type: ignore[call-overload, no-any-return]


CAD_CHAIN = ("resolve_step_path", "occ_object_extract", "occ_glb_export", "glb_bbox")
STILL_CHAIN = ("material_map_resolve", "auto_populate_materials", "resolve_template", "blender_still")

BRIDGES: tuple[NodeDefinition, ...] = (
    NodeDefinition(
        key="bridge_legacy_cad", label="Legacy CAD Chain", family="bridge", icon="LINKED",
        description="The legacy CAD preparation (resolve, extract, GLB, bbox) as one node, for safe migration.",
        module_key="bridge.run_chain", settings_model=_composite_settings("LegacyCadChainSettings", CAD_CHAIN),
        inputs=(inp("order_line", K.ORDER_LINE),),
        outputs=(out("step_file", K.STEP_FILE), out("cad_parts", K.CAD_PARTS),
                 out("glb", K.GLB, role="glb_model"), out("bbox", K.BBOX)),
        capabilities=("ocp",), composite_of=CAD_CHAIN,
    ),
    NodeDefinition(
        key="bridge_legacy_still", label="Legacy Still Chain", family="bridge", icon="LINKED",
        description="The legacy still render (materials, template, still) as one node, for safe migration.",
        module_key="bridge.run_chain", settings_model=_composite_settings("LegacyStillChainSettings", STILL_CHAIN),
        inputs=(inp("order_line", K.ORDER_LINE), inp("cad_parts", K.CAD_PARTS),
                inp("glb", K.GLB), inp("bbox", K.BBOX)),
        outputs=(out("image", K.IMAGE, role="primary_render"),),
        capabilities=("bpy",), execution="main_thread", self_publishes=True, is_render=True,
        composite_of=STILL_CHAIN,
    ),
)

ALL_DEFINITIONS: tuple[NodeDefinition, ...] = CORE + BRIDGES
