"""The check before publishing (issue 25): output_save refuses a black still and an empty frame,
naming the output, the measure and the threshold; a policy makes it a warning; a product whose
CAD colours are dark may look dark; a turntable is checked on its first, middle and last frame."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from cad_support import run_step, step_artifact
from render_support import node_call

from engine.cad import samples
from engine.cad.glb import read_glb, write_glb
from engine.cad.winding import _index_view
from engine.errors import NodeInputError
from engine.model.artifacts import Artifact, ArtifactKind
from engine.model.publishing import LocalPublisher
from engine.model.registry import REGISTRY
from engine.render.imaging import read_pixels, write_png
from engine.render.publish_check import (
    MIN_COVERAGE,
    MIN_LUMINANCE,
    dark_cad_colours,
    keep_check_frames,
    measure,
)


def wound_inward(glb: Path) -> Path:
    """The GLB as OCCT wrote it before the winding fix: every triangle turned against its normals."""
    document, data = read_glb(glb)
    binary = bytearray(data)
    for mesh in document["meshes"]:
        for primitive in mesh["primitives"]:
            triangles = _index_view(document, binary, primitive["indices"])
            triangles[:] = triangles[:, [0, 2, 1]]
    write_glb(glb, document, bytes(binary))
    return glb


@pytest.fixture(scope="module")
def black_still(tmp_path_factory: pytest.TempPathFactory) -> Artifact:
    """A real Cycles still of the tessellated cube whose triangles face inward: black."""
    folder = tmp_path_factory.mktemp("black")
    step = samples.make_tessellated_coloured_step(folder / "cube.step")
    glb = run_step("occ_glb_export", folder, {"step_file": [step_artifact(step)]})["glb"]
    wound_inward(Path(glb.path))
    glb = Artifact.from_file(ArtifactKind.GLB, Path(glb.path), role="glb_model", data=glb.data)
    bbox = run_step("glb_bbox", folder, {"glb": [glb]})["bbox"]
    definition = REGISTRY.get("blender_still")
    settings = definition.settings_model(resolution_x=64, resolution_y=64, samples=4, denoise=False)
    call = node_call("blender_still", folder, settings, {"glb": [glb], "bbox": [bbox]})
    return REGISTRY.executor("blender_still")(call)["image"]


def save(tmp_path: Path, media: list[Artifact], log: list[str] | None = None, **settings) -> dict:
    definition = REGISTRY.get("output_save")
    call = node_call("output_save", tmp_path, definition.settings_model(**settings), {"media": media}, log,
                     publisher=LocalPublisher(tmp_path / "media", "line-1"))
    return REGISTRY.executor("output_save")(call)["assets"].data


def image(path: Path, pixels: np.ndarray, **data) -> Artifact:
    return Artifact.from_file(ArtifactKind.IMAGE, write_png(pixels, path), role="primary_render", data=data)


def studio(size: int = 64, seed: int = 1) -> np.ndarray:
    """A light studio backdrop with render noise, no product."""
    noise = np.random.default_rng(seed).normal(0, 6, (size, size, 3))
    return np.clip(215 + noise, 0, 255).astype(np.uint8)


def test_black_still_is_refused_naming_output_measure_and_threshold(black_still, tmp_path):
    assert measure(read_pixels(Path(black_still.path)))["product_luminance"] < MIN_LUMINANCE
    with pytest.raises(NodeInputError) as refused:
        save(tmp_path, [black_still])
    message = str(refused.value)
    assert "output_save" in message and "primary_render still.png" in message
    assert "product_luminance" in message and f"threshold {MIN_LUMINANCE:g}" in message
    assert not (tmp_path / "media").exists() or not any((tmp_path / "media").rglob("*.png"))


def test_a_policy_turns_the_refusal_into_a_warning(black_still, tmp_path):
    log: list[str] = []
    published = save(tmp_path, [black_still], log, publish_check="warn")
    assert published["primary"] and Path(published["primary"]).is_file()
    assert any(line.startswith("warning: publish check") and "product_luminance" in line for line in log)
    assert save(tmp_path / "off", [black_still], publish_check="off")["primary"]


def test_dark_cad_colours_may_look_dark(black_still, tmp_path):
    dark = Artifact.from_file(ArtifactKind.IMAGE, Path(black_still.path), role="primary_render",
                              data={**black_still.data, "dark_cad_colours": True})
    assert save(tmp_path, [dark])["primary"]
    assert dark_cad_colours(["#202020", "#101418"]) and not dark_cad_colours(["#202020", "#ff0000"])
    assert not dark_cad_colours([None])


def test_empty_frame_is_refused(tmp_path):
    empty = image(tmp_path / "still.png", studio())
    with pytest.raises(NodeInputError, match=rf"primary_render still.png \(image\): coverage 0\.0+ is under the "
                                              rf"threshold {MIN_COVERAGE:g}"):
        save(tmp_path, [empty])
    black = image(tmp_path / "black.png", np.zeros((64, 64, 3), np.uint8))
    with pytest.raises(NodeInputError, match="coverage"):
        save(tmp_path, [black])


def test_turntable_checks_first_middle_and_last_frame(black_still, tmp_path):
    frames = []
    for index in range(9):
        pixels = studio(seed=index)
        if index != 4:  # the middle frame lost the product
            pixels[20:44, 24:40] = (200, 30, 30)
        frames.append(write_png(pixels, tmp_path / "frames" / f"frame_{index:04d}.png"))
    kept = keep_check_frames(frames, tmp_path / "check")
    assert sorted(kept) == ["first frame", "last frame", "middle frame"]
    video_file = tmp_path / "turntable.mp4"
    video_file.write_bytes(b"\0" * 64)  # the encoder's output is not what is checked
    video = Artifact.from_file(ArtifactKind.VIDEO, video_file, role="turntable_video", data={"check_frames": kept})
    with pytest.raises(NodeInputError, match=r"turntable_video turntable.mp4 \(middle frame\): coverage"):
        save(tmp_path, [video])
    kept["middle frame"] = kept["first frame"]
    video = Artifact.from_file(ArtifactKind.VIDEO, video_file, role="turntable_video", data={"check_frames": kept})
    assert save(tmp_path / "ok", [video])["primary"]


def test_measures_on_made_images():
    backdrop = studio()
    assert measure(backdrop)["coverage"] < MIN_COVERAGE
    backdrop[10:50, 10:50] = (230, 30, 30)
    found = measure(backdrop)
    assert 0.3 < found["coverage"] < 0.5 and found["product_luminance"] > 0.15
    transparent = np.zeros((32, 32, 4), np.uint8)
    assert measure(transparent)["coverage"] == 0.0
