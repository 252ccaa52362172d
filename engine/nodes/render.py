"""Render nodes: template choice, stills, template-camera renders, turntables, .blend export.

Each render node builds a fresh scene (template + GLB + materials), frames the camera on the
`bbox` with `engine.render.framing`, and writes its files under `call.workdir`. Bad input (missing GLB,
unusable bbox, unknown material, bad chunk range) raises NodeInputError naming node and field.
Publishing is the runtime's: it publishes a render node's outputs only when no output_save is downstream.
"""

from __future__ import annotations

import re
import time
from collections.abc import Generator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, TypeVar

from ..errors import CancelledError, HartomatError, NodeInputError
from ..model.artifacts import Artifact, ArtifactKind
from ..model.artifacts import ArtifactKind as K
from ..model.context import NodeCall
from ..model.node_definition import FanOut, NodeDefinition, NodeSettings, inp, out
from ..model.node_settings import RenderSettings, ViewChoice, path_setting, setting
from ..model.registry import node
from ..model.vocabulary import Capability, Preset
from ..render.framing import (
    Box,
    Lens,
    box_from_bbox_artifact,
    frame_box,
    orbit_distance,
    pose_at,
    turntable_azimuths,
)
from ..render.publish_check import dark_cad_colours, keep_check_frames
from ..render.template_library import TemplateLibrary, readable_template

S = TypeVar("S", bound=NodeSettings)
MAX_FRAMES = 3600
RENDER_INPUTS = (
    inp("glb", K.GLB, description="The product geometry"),
    inp("bbox", K.BBOX, description="Framing box from glb_bbox"),
    inp("material_map", K.MATERIAL_MAP, required=False, description="Part -> material assignment"),
    inp("template", K.TEMPLATE, required=False, description="Studio scene; a plain one when absent"),
)


class ResolveTemplateSettings(NodeSettings):
    template: str = setting("", "Template", "Template name; empty = chosen by output type and category")
    library_dir: str = path_setting("", "Template", "Template library folder; empty = the bundled one",
                                    root="templates")
    category: str = setting("", "Template", "Product category; empty = the order line's")


class BlenderRenderSettings(RenderSettings):
    use_template_camera: bool = setting(True, "Camera", "Render through the template's camera, framed on the product")


class BlenderStillSettings(RenderSettings):
    view: ViewChoice = setting(
        "auto", "Camera", "auto: the angle that shows the most of the product; fixed: azimuth and elevation below"
    )
    azimuth: float = setting(35.0, "Camera", "Camera angle around the product in degrees (view: fixed)",
                             ge=-360, le=360)
    elevation: float = setting(25.0, "Camera", "Camera height angle in degrees (view: fixed)", ge=-89, le=89)
    view_name: str = setting("", "Output", "Name of this view in file names; empty = 'still'")
    split_job: bool = setting(False, "Farm", "On the farm, render this view in a job of its own, "
                              "beside the graph's other views")


class BlenderTurntableSettings(RenderSettings):
    frame_count: int = setting(36, "Animation", "Frames in one full turn", ge=2, le=MAX_FRAMES)
    fps: int = setting(24, "Animation", "Frames per second of the video", ge=1, le=120)
    elevation: float = setting(20.0, "Camera", "Camera height angle in degrees", ge=-89, le=89)
    view: ViewChoice = setting(
        "auto", "Camera", "auto: the turn starts at the azimuth that shows the most of the product; fixed: at 0"
    )
    video_format: Literal["MP4", "MKV"] = setting("MP4", "Video", "Container; both use H.264")
    keep_frames: bool = setting(False, "Video", "Keep the rendered frames as an image set")
    chunk_start: int = setting(0, "Chunks", "First frame of this chunk (0-based)", ge=0, le=MAX_FRAMES)
    chunk_end: int = setting(0, "Chunks", "Frame after this chunk's last; 0 = to the end", ge=0, le=MAX_FRAMES)
    chunk_size: int = setting(0, "Chunks", "On the farm, frames per job (chunks render on many workers, "
                              "one job assembles the video); 0 = one job", ge=0, le=MAX_FRAMES)


class ExportBlendSettings(NodeSettings):
    pack_resources: bool = setting(True, "Blend", "Pack images and other resources into the .blend")
    compress: bool = setting(True, "Blend", "Compress the .blend file")
    file_name: str = setting("", "Blend", "File name; empty = product name")


def _settings(call: NodeCall, model: type[S]) -> S:
    if isinstance(call.settings, model):
        return call.settings
    raw = call.settings.model_dump() if isinstance(call.settings, NodeSettings) else (call.settings or {})
    return model.model_validate(raw)


def _fail(call: NodeCall, field: str, problem: str) -> NodeInputError:
    return NodeInputError(f"node '{call.node_id}' ({call.step}): {field}: {problem}")


@node(NodeDefinition(
    key="resolve_template", label="Resolve Template", family="scene", icon="SCENE_DATA",
    description="Picks the render template (studio, lights, camera rig, world) for the output type.",
    settings_model=ResolveTemplateSettings,
    inputs=(inp("order_line", K.ORDER_LINE),),
    outputs=(out("template", K.TEMPLATE),),
))
def resolve_template(call: NodeCall) -> dict[str, Artifact | list[Artifact]]:
    """Pick the template .blend by name, or by the order line's output type and product category."""
    settings = _settings(call, ResolveTemplateSettings)
    order = call.input("order_line")
    line = order.data if order else call.context.order_line.model_dump()
    category = settings.category or str(line.get("category") or "")
    output_type = str(line.get("output_type") or call.context.order_line.output_type)
    try:
        library = TemplateLibrary.load(settings.library_dir or None)
        entry = library.choose(output_type, category, settings.template)
    except ValueError as exc:
        raise _fail(call, "template", str(exc)) from None
    path = library.path(entry)
    if not path.is_file():
        # the worker's install is at fault, not the order: not an input error (it counts against the worker)
        raise HartomatError(f"node '{call.node_id}' ({call.step}): template: {path} is missing; "
                            "run scripts/setup.sh (scripts/build_templates.py)")
    call.log(f"template '{entry.name}' for output type '{output_type}', category '{category or '-'}'")
    return {"template": Artifact.from_file(ArtifactKind.TEMPLATE, path,
                                           data={"name": entry.name, "camera": entry.camera, "category": category})}


@dataclass
class Stage:
    """A prepared render scene: template, product with materials, render settings applied."""

    scene: Any
    box: Box
    camera: Any
    meshes: list[Any]
    denoised: bool = False
    samples: int = 0


def _input_file(call: NodeCall, port: str, required: bool = True) -> Path | None:
    artifact = call.require(port) if required else call.input(port)
    if artifact is None:
        return None
    if not artifact.path or not Path(artifact.path).is_file():
        raise _fail(call, f"input '{port}'", f"file {artifact.path!r} does not exist")
    return Path(artifact.path)


def _stage(call: NodeCall, settings: RenderSettings) -> Stage:
    from ..render.blender import camera, importer, render_setup, scene, shading, studio

    glb = _input_file(call, "glb")
    assert glb is not None
    try:
        box = box_from_bbox_artifact(call.require("bbox").data)
    except ValueError as exc:
        raise _fail(call, "input 'bbox'", str(exc)) from None
    template = _input_file(call, "template", required=False)
    call.progress(0.02, "building the scene")
    scene.reset()  # first: a template built now must not get names clashing with the last render's
    try:
        template = readable_template(template) if template is not None else None
    except ValueError as exc:
        raise _fail(call, "input 'template'", str(exc)) from None
    try:
        render_scene = scene.new_render_scene(template)
    except (OSError, ValueError) as exc:
        raise _fail(call, "input 'template'", f"cannot load {template}: {exc}") from None
    try:
        product = importer.import_glb(glb, render_scene)
    except (ValueError, RuntimeError) as exc:
        raise _fail(call, "input 'glb'", str(exc)) from None
    material_map = call.input("material_map")
    if material_map is not None:
        try:
            count = shading.apply_material_map(product.meshes, material_map.data, call.log)
        except (KeyError, ValueError) as exc:
            raise _fail(call, "input 'material_map'", str(exc).strip("\"'")) from None
        call.log(f"materials: {count} of {len(product.meshes)} meshes from the material map")
    denoising = render_setup.configure(render_scene, settings)
    if denoising.note:
        call.log(denoising.note)
    studio.set_transparent(render_scene, settings.transparent)
    return Stage(scene=render_scene, box=box, camera=camera.scene_camera(render_scene), meshes=product.meshes,
                 denoised=denoising.denoiser, samples=denoising.samples)


def _lens(settings: RenderSettings, focal_mm: float | None = None) -> Lens:
    return Lens(focal_mm=focal_mm or settings.focal_length, res_x=settings.resolution_x, res_y=settings.resolution_y)


def _frame(stage: Stage, azimuth: float, elevation: float, lens: Lens, margin: float) -> None:
    from ..render.blender import camera

    camera.apply_pose(stage.camera, frame_box(stage.box, azimuth, elevation, lens, margin), lens)
    camera.place_studio(stage.scene, stage.box, azimuth)


def _image(call: NodeCall, settings: RenderSettings, stage: Stage, view: str) -> Generator[None, None, Artifact]:
    """The still rendered and recorded; in a stepping Blender with a window (the editor's Run
    Locally) as Blender's render job, one turn per UI tick, else in one blocking call."""
    from ..render.blender import output, render_job, render_setup

    name = re.sub(r"[^A-Za-z0-9_-]+", "_", view) or "still"
    path = call.workdir / f"{name}.{render_setup.EXTENSIONS[settings.file_format]}"
    what = f"rendering {settings.resolution_x}x{settings.resolution_y} {settings.engine.lower()}"
    call.progress(0.1, what)
    if call.stepped and render_job.can_run_jobs():
        started = time.monotonic()
        yield from render_job.render_still_job(stage.scene, path, lambda seconds: _job_progress(call, what, seconds))
        call.log(f"rendered as Blender's render job in {time.monotonic() - started:.1f} s")
    else:
        output.render_still(stage.scene, path, call.should_stop, call.check_cancelled)
    artifact = Artifact.from_file(ArtifactKind.IMAGE, path, role="primary_render",
                                  data={"width": settings.resolution_x, "height": settings.resolution_y, "view": view,
                                        "denoised": stage.denoised, "samples": stage.samples,
                                        "render": render_setup.render_facts(stage.scene),
                                        "dark_cad_colours": _dark_cad_colours(call)})
    call.progress(1.0, f"wrote {path.name}")
    return artifact


def _dark_cad_colours(call: NodeCall) -> bool:
    """Whether the product's CAD colours are all dark (a black render of it is no fault)."""
    material_map = call.input("material_map")
    assignments = (material_map.data.get("assignments") or {}) if material_map is not None else {}
    return dark_cad_colours([entry.get("colour") for entry in assignments.values()])


def _job_progress(call: NodeCall, what: str, seconds: float) -> None:
    """The node's line while Blender's render job runs (its share done is in the status bar). A
    cancel asked meanwhile waits for the job: Esc stops the job itself, and the scene must outlive it."""
    try:
        call.progress(0.1, f"{what}: {seconds:.0f} s in Blender's render job")
    except CancelledError:
        pass


def _auto_view(call: NodeCall, stage: Stage, settings: RenderSettings,
               elevations: tuple[float, ...] | None = None) -> tuple[float, float]:
    """The angle that shows the most of the product (`engine.render.blender.view`), logged with its score."""

    from ..render.blender import view

    started = time.perf_counter()
    stage.scene.view_layers[0].update()  # world matrices of the freshly parented product
    best = view.auto_view(stage.meshes, stage.box, _lens(settings), settings.margin, elevations or view.ELEVATIONS)
    call.log(f"view auto: azimuth {best.azimuth:g}, elevation {best.elevation:g} shows {best.visible} of "
             f"{best.parts} parts ({best.visible_objects} of {best.objects} objects), {best.coverage:.0%} of the "
             f"frame ({time.perf_counter() - started:.2f} s)")
    return best.azimuth, best.elevation


@node(NodeDefinition(
    key="blender_render", label="Blender Render", family="render", icon="RENDER_STILL",
    description="General Blender render of the prepared scene through the template's camera.",
    settings_model=BlenderRenderSettings,
    inputs=RENDER_INPUTS, outputs=(out("image", K.IMAGE, role="primary_render"),),
    capabilities=(Capability.BPY,), execution="main_thread", self_publishes=True, is_render=True,
))
def blender_render(call: NodeCall) -> Any:
    """A render through the template's camera: its viewing angle and lens, framed on the product."""
    return call.stepwise(_render_steps(call))


def _render_steps(call: NodeCall) -> Generator[None, None, dict[str, Artifact | list[Artifact]]]:
    from ..render.blender import camera

    settings = _settings(call, BlenderRenderSettings)
    call.workdir.mkdir(parents=True, exist_ok=True)
    stage = _stage(call, settings)
    if settings.use_template_camera:
        azimuth, elevation = camera.view_angles(stage.camera)
        lens = _lens(settings, stage.camera.data.lens)
    else:
        defaults = BlenderStillSettings()
        azimuth, elevation, lens = defaults.azimuth, defaults.elevation, _lens(settings)
    call.log(f"camera at azimuth {azimuth:.1f}, elevation {elevation:.1f}, {lens.focal_mm:g} mm")
    _frame(stage, azimuth, elevation, lens, settings.margin)
    return {"image": (yield from _image(call, settings, stage, "render"))}


@node(NodeDefinition(
    key="blender_still", label="Blender Still", family="render", icon="IMAGE_DATA",
    description="A still image with the camera framed on the bounding box from a chosen angle.",
    settings_model=BlenderStillSettings,
    inputs=RENDER_INPUTS, outputs=(out("image", K.IMAGE, role="primary_render"),),
    capabilities=(Capability.BPY,), execution="main_thread", self_publishes=True, is_render=True,
    fan_out=FanOut(kind="views", switch="split_job", parts=("image",)),
))
def blender_still(call: NodeCall) -> Any:
    """A still framed on the bounding box, from the angle that shows the most of the product
    (view: auto) or from the settings' azimuth and elevation (view: fixed)."""
    return call.stepwise(_still_steps(call))


def _still_steps(call: NodeCall) -> Generator[None, None, dict[str, Artifact | list[Artifact]]]:
    settings = _settings(call, BlenderStillSettings)
    call.workdir.mkdir(parents=True, exist_ok=True)
    stage = _stage(call, settings)
    azimuth, elevation = settings.azimuth, settings.elevation
    if settings.view == "auto":
        azimuth, elevation = _auto_view(call, stage, settings)
    _frame(stage, azimuth, elevation, _lens(settings), settings.margin)
    image = yield from _image(call, settings, stage, settings.view_name or "still")
    image.data.update(azimuth=azimuth, elevation=elevation, camera=settings.view)
    return {"image": image}


def _chunk(call: NodeCall, settings: BlenderTurntableSettings) -> range:
    end = settings.chunk_end or settings.frame_count
    if end > settings.frame_count:
        raise _fail(call, "chunk_end", f"{end} is past frame_count {settings.frame_count}")
    if settings.chunk_start >= end:
        raise _fail(call, "chunk_start", f"{settings.chunk_start} must be below chunk_end {end}")
    return range(settings.chunk_start, end)


def _render_frames(call: NodeCall, settings: BlenderTurntableSettings, stage: Stage, frames: range,
                   start: float) -> list[Path]:
    from ..render.blender import camera, output, render_setup

    lens = _lens(settings)
    azimuths = turntable_azimuths(settings.frame_count, start)
    distance = orbit_distance(stage.box, azimuths, settings.elevation, lens, settings.margin)
    paths = []
    with render_setup.persistent_data(stage.scene):  # geometry stays loaded between frames
        for done, index in enumerate(frames):
            call.check_cancelled()
            call.progress(0.05 + 0.85 * done / len(frames), f"frame {index + 1}/{settings.frame_count}")
            camera.apply_pose(stage.camera, pose_at(stage.box, azimuths[index], settings.elevation, distance), lens)
            camera.place_studio(stage.scene, stage.box, azimuths[index])
            paths.append(output.render_still(stage.scene, call.workdir / "frames" / f"frame_{index:04d}.png",
                                             call.should_stop, call.check_cancelled))
    return paths


@node(NodeDefinition(
    key="blender_turntable", label="Blender Turntable", family="render", icon="RENDER_ANIMATION",
    timeout_s=24 * 3600,  # up to MAX_FRAMES frames in one attempt
    description="N frames around the product, encoded to video; frames kept on request.",
    settings_model=BlenderTurntableSettings,
    inputs=RENDER_INPUTS,
    outputs=(out("video", K.VIDEO, role="turntable_video"),
             out("frames", K.IMAGE_SET, role="turntable_frames")),
    capabilities=(Capability.BPY,), execution="main_thread", self_publishes=True, is_render=True,
    workflow_families=(Preset.TURNTABLE,),
    fan_out=FanOut(kind="frames", count="frame_count", start="chunk_start", end="chunk_end",
                   size="chunk_size", parts=("frames",), assembler=f"{__name__}:assemble_turntable"),
))
def blender_turntable(call: NodeCall) -> dict[str, Artifact | list[Artifact]]:
    """One full turn in frame_count frames (or the chunk asked), encoded to H.264 video."""
    settings = _settings(call, BlenderTurntableSettings)
    frames = _chunk(call, settings)
    call.workdir.mkdir(parents=True, exist_ok=True)
    stage = _stage(call, settings.model_copy(update={"file_format": "PNG"}))
    start = _auto_view(call, stage, settings, (settings.elevation,))[0] if settings.view == "auto" else 0.0
    paths = _render_frames(call, settings, stage, frames, start)
    from ..render.blender.render_setup import render_facts

    return _turntable_outputs(call, settings, paths, frames, start, render_facts(stage.scene))


def _turntable_outputs(call: NodeCall, settings: BlenderTurntableSettings, paths: list[Path],
                       frames: range, start: float, render: dict[str, Any] | None) -> dict[str, Artifact | list[Artifact]]:
    """The video of `paths` (frames `frames` of the turn, starting at azimuth `start`) and, for a
    chunk or on request, the frames; `render` says how the frames were rendered (provenance)."""
    from ..render.blender import output

    chunked = len(frames) < settings.frame_count
    suffix = f"_{frames.start:04d}-{frames.stop - 1:04d}" if chunked else ""
    container = output.CONTAINERS[settings.video_format][1]
    call.progress(0.92, f"encoding {len(paths)} frames")
    video_path = output.encode_video(paths, call.workdir / f"turntable{suffix}.{container}", settings.fps,
                                     settings.video_format, (settings.resolution_x, settings.resolution_y))
    video = Artifact.from_file(ArtifactKind.VIDEO, video_path, role="turntable_video",
                               data={"frames": len(paths), "fps": settings.fps, "chunk": [frames.start, frames.stop],
                                     "frame_count": settings.frame_count, "start_azimuth": start,
                                     "render": render, "dark_cad_colours": _dark_cad_colours(call),
                                     "check_frames": keep_check_frames(paths, call.workdir / f"check{suffix}")})
    result: dict[str, Artifact | list[Artifact]] = {"video": video}
    if settings.keep_frames or chunked:
        result["frames"] = Artifact(kind=ArtifactKind.IMAGE_SET, path=str(call.workdir / "frames"),
                                    files=[str(p) for p in paths], role="turntable_frames",
                                    data={"first": frames.start, "count": len(paths), "start_azimuth": start,
                                          "render": render})
    else:
        for path in paths:
            path.unlink()
    call.progress(1.0, f"wrote {video_path.name}")
    return result


def assemble_turntable(call: NodeCall, parts: list[Artifact]) -> dict[str, Artifact | list[Artifact]]:
    """The unsplit turntable's outputs from its chunks' frame sets: every frame once, in order,
    encoded like a single job would (same file names, roles and data)."""
    import shutil

    settings = _settings(call, BlenderTurntableSettings).model_copy(update={"chunk_start": 0, "chunk_end": 0})
    folder = call.workdir / "frames"
    folder.mkdir(parents=True, exist_ok=True)
    by_frame: dict[int, Path] = {}
    for part in parts:
        first = int(part.data.get("first", 0))
        for offset, member in enumerate(sorted(part.files, key=lambda p: Path(p).name)):
            by_frame[first + offset] = Path(member)
    missing = sorted(set(range(settings.frame_count)) - set(by_frame))
    if missing:
        raise _fail(call, "frames", f"the chunks lack frame(s) {missing[:10]} of {settings.frame_count}")
    paths = [Path(shutil.copyfile(by_frame[i], folder / f"frame_{i:04d}.png")) for i in range(settings.frame_count)]
    start = float(parts[0].data.get("start_azimuth", 0.0)) if parts else 0.0  # every chunk turns from it
    render = parts[0].data.get("render") if parts else None  # the chunks' renders (the same settings)
    return _turntable_outputs(call, settings, paths, range(settings.frame_count), start, render)


def _blend_name(call: NodeCall, settings: ExportBlendSettings) -> str:
    glb = call.input("glb")
    base = settings.file_name or call.context.order_line.product or (Path(glb.path).stem if glb and glb.path else "")
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", base.removesuffix(".blend")) or "product"


@node(NodeDefinition(
    key="export_blend", label="Export .blend", family="output", icon="BLENDER",
    description="Saves the production scene as a .blend asset, without touching the primary output.",
    settings_model=ExportBlendSettings,
    inputs=RENDER_INPUTS, outputs=(out("blend", K.BLEND_FILE, role="blend_production"),),
    capabilities=(Capability.BPY,), execution="main_thread",
))
def export_blend(call: NodeCall) -> dict[str, Artifact | list[Artifact]]:
    """The production scene (studio, product, materials, framed camera) as a self-contained .blend."""
    import bpy

    settings = _settings(call, ExportBlendSettings)
    call.workdir.mkdir(parents=True, exist_ok=True)
    view = BlenderStillSettings()
    stage = _stage(call, view)
    azimuth, elevation = _auto_view(call, stage, view)  # the camera the default still uses
    _frame(stage, azimuth, elevation, _lens(view), view.margin)
    if settings.pack_resources:
        for image in bpy.data.images:
            if image.source == "FILE" and not image.packed_file and image.filepath:
                image.pack()
    path = call.workdir / f"{_blend_name(call, settings)}.blend"
    bpy.data.libraries.write(str(path), {stage.scene}, fake_user=True, compress=settings.compress,
                             path_remap="RELATIVE_ALL")
    call.log(f"saved {path.name} ({len(stage.meshes)} product meshes)")
    return {"blend": Artifact.from_file(ArtifactKind.BLEND_FILE, path, role="blend_production")}
