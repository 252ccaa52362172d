"""blender_turntable (frame count, chunks, video read back) and export_blend (reopens cleanly)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from render_support import MATERIAL_MAP, TINY, make_product_glb, node_call

from engine.errors import CancelledError, NodeInputError
from engine.model.artifacts import Artifact, ArtifactKind
from engine.nodes import render
from engine.nodes.render import BlenderTurntableSettings, ExportBlendSettings

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def inputs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[Artifact]]:
    glb, bbox = make_product_glb(tmp_path_factory.mktemp("glb") / "product.glb", size_m=0.05)
    return {"glb": [glb], "bbox": [bbox], "material_map": [MATERIAL_MAP]}


def _frames_in(video: Path) -> int:
    import bpy

    clip = bpy.data.movieclips.load(str(video))
    try:
        return int(clip.frame_duration)
    finally:
        bpy.data.movieclips.remove(clip)


def _turntable(tmp_path: Path, inputs, **settings) -> dict:
    values = {**TINY, "samples": 2, "engine": "WORKBENCH", **settings}
    return render.blender_turntable(node_call("blender_turntable", tmp_path, BlenderTurntableSettings(**values),
                                              inputs))


def test_turntable_video_has_the_asked_frame_count(tmp_path, inputs):
    out = _turntable(tmp_path, inputs, frame_count=6, fps=12)
    video = out["video"]
    assert video.kind == ArtifactKind.VIDEO and video.role == "turntable_video"
    assert video.data["frames"] == 6 and video.data["fps"] == 12
    assert Path(video.path).suffix == ".mp4" and Path(video.path).read_bytes()[4:8] == b"ftyp"
    assert _frames_in(Path(video.path)) == 6
    assert "frames" not in out and not list((tmp_path / "blender_turntable" / "frames").glob("*.png"))


def test_cycles_turntable_in_mkv_keeps_frames(tmp_path, inputs):
    out = _turntable(tmp_path, inputs, frame_count=4, engine="CYCLES", video_format="MKV", keep_frames=True)
    assert Path(out["video"].path).suffix == ".mkv" and _frames_in(Path(out["video"].path)) == 4
    frames = out["frames"]
    assert frames.kind == ArtifactKind.IMAGE_SET and len(frames.files) == 4
    first, last = (Path(f).read_bytes() for f in (frames.files[0], frames.files[1]))
    assert first != last  # the camera moved between frames


def test_a_chunk_renders_only_its_frames(tmp_path, inputs):
    out = _turntable(tmp_path, inputs, frame_count=8, chunk_start=3, chunk_end=5)
    assert [Path(f).name for f in out["frames"].files] == ["frame_0003.png", "frame_0004.png"]
    assert out["video"].data["chunk"] == [3, 5] and _frames_in(Path(out["video"].path)) == 2
    assert Path(out["video"].path).name == "turntable_0003-0004.mp4"


@pytest.mark.parametrize("chunk, field", [((5, 3), "chunk_start"), ((0, 9), "chunk_end")])
def test_bad_chunk_is_refused_naming_the_field(tmp_path, inputs, chunk, field):
    with pytest.raises(NodeInputError, match=field):
        _turntable(tmp_path, inputs, frame_count=8, chunk_start=chunk[0], chunk_end=chunk[1])


def test_turntable_stops_when_cancelled(tmp_path, inputs):
    call = node_call("blender_turntable", tmp_path, BlenderTurntableSettings(**{**TINY, "frame_count": 20}), inputs,
                     cancel_requested=lambda: True)
    with pytest.raises(CancelledError):
        render.blender_turntable(call)


REOPEN = """
import json, sys, bpy
bpy.ops.wm.open_mainfile(filepath=sys.argv[1], load_ui=False)
scene = bpy.context.scene
print("RESULT" + json.dumps({
    "scene": scene.name, "camera": scene.camera.name if scene.camera else None,
    "objects": sorted(o.name for o in scene.objects),
    "materials": sorted({s.material.name for o in scene.objects for s in o.material_slots if s.material}),
    "world": scene.world.name if scene.world else None,
    "clip_start": scene.camera.data.clip_start if scene.camera else None,
}))
"""


def test_export_blend_reopens_with_product_and_materials(tmp_path, inputs):
    log: list[str] = []
    out = render.export_blend(node_call("export_blend", tmp_path, ExportBlendSettings(file_name="bearing 6204"),
                                        inputs, log=log))
    blend = out["blend"]
    assert blend.kind == ArtifactKind.BLEND_FILE and blend.role == "blend_production"
    assert Path(blend.path).name == "bearing_6204.blend"
    done = subprocess.run([sys.executable, "-c", REOPEN, blend.path], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    line = next(x for x in done.stdout.splitlines() if x.startswith("RESULT"))
    reopened = json.loads(line.removeprefix("RESULT"))
    assert reopened["scene"] == "HartOMat_Render" and reopened["camera"] == "HartOMat_Camera"
    assert {"outer_ring", "ball", "cage", "Backdrop", "Key", "Fill", "Rim"} <= set(reopened["objects"])
    assert {"HM_steel", "HM_polished_steel", "HM_cad_colour_c82828"} <= set(reopened["materials"])
    assert reopened["world"] and reopened["clip_start"] < 0.1  # scaled to the 50 mm product
