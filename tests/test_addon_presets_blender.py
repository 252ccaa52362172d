"""The four presets end to end through the add-on in background Blender 4.3: the extension zip
installed with Blender's own operator, its Deps Folder preference set to a `hartomat blender-deps`
folder, each starter graph run with the Run Locally operator on the bearing. The outputs are
checked by their pixels (not blank, product framed, the cage's CAD colour present), the video by
ffprobe, the STL files by their binary layout, the three.js page by its content, and the exported
.blend is opened by the same Blender 4.3."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from engine.render.blend_header import blend_version
from tests import real_blender

SCRIPT = Path(__file__).resolve().parent / "blender_scripts" / "addon_presets.py"
pytestmark = [pytest.mark.slow, pytest.mark.real_blender, pytest.mark.timeout(1200)]
GOLD = "#c8962d"  # the bearing cage's CAD colour (engine/cad/samples.py)


@pytest.fixture(scope="module")
def presets_run(tmp_path_factory: pytest.TempPathFactory, bearing_step: Path, blender_deps: Path) -> dict:
    work = tmp_path_factory.mktemp("addon-presets")
    zip_path = real_blender.build_extension(work / "extension")
    (work / "user").mkdir()
    env = {"HARTOMAT_CACHE": str(work / "cache"), "HARTOMAT_STORE": str(work / "runs.sqlite")}
    done = real_blender.run_blender(["-b", "--factory-startup", "--python-exit-code", "1", "--python", str(SCRIPT),
                                     "--", str(zip_path), str(work / "out"), str(bearing_step), str(blender_deps)],
                                    work / "user", timeout=1100, env=env)
    output = done.stdout + done.stderr
    line = next((x for x in done.stdout.splitlines() if x.startswith("RESULT ")), None)
    assert done.returncode == 0 and line, output[-4000:]
    assert real_blender.TRACEBACK not in output, output[-4000:]
    return {**json.loads(line[len("RESULT "):]), "work": work}


def run_of(presets_run: dict, family: str) -> dict:
    run = json.loads((Path(presets_run["families"][family]["out"]) / "run.json").read_text())
    assert run["status"] == "succeeded", presets_run["families"][family]
    return run


def outputs(run: dict, node_id: str, kind: str) -> list[Path]:
    found = [Path(f) for o in run["nodes"][node_id]["outputs"] if o["kind"] == kind
             for f in (o["files"] or [o["path"]])]
    assert found, run["nodes"][node_id]
    return found


def pixels(path: Path) -> np.ndarray:
    with Image.open(path) as image:
        return np.asarray(image.convert("RGB")).astype(float)


def foreground(rgb: np.ndarray) -> np.ndarray:
    """Pixels (of 2x2 blocks, against noise) clearly off the backdrop; the backdrop of each row is
    the median of that row's outer columns (a studio sweep changes from top to bottom)."""
    h, w, _ = rgb.shape
    small = rgb[:h // 2 * 2, :w // 2 * 2].reshape(h // 2, 2, w // 2, 2, 3).mean(axis=(1, 3))
    edge = max(1, small.shape[1] // 16)
    row_bg = np.median(np.concatenate([small[:, :edge], small[:, -edge:]], axis=1), axis=1)
    return np.abs(small - row_bg[:, None, :]).max(axis=-1) > 40


def cad_colour_pixels(rgb: np.ndarray, colour: str = GOLD) -> int:
    """Pixels of the colour's hue family (warm gold for the cage), however lit."""
    r, g, b = rgb[..., 0], rgb[..., 1], rgb[..., 2]
    assert colour == GOLD
    return int(((r > 110) & (r - b > 50) & (g - b > 15)).sum())


def assert_rendered_product(path: Path, cad_colour: bool = True) -> None:
    rgb = pixels(path)
    assert rgb.std() > 10 and len(np.unique(rgb.reshape(-1, 3), axis=0)) > 100, f"{path}: blank"
    mask = foreground(rgb)
    ys, xs = np.nonzero(mask)
    assert mask.mean() > 0.015, f"{path}: no product on the backdrop ({mask.mean():.3f})"
    centre = (xs.mean() / mask.shape[1], ys.mean() / mask.shape[0])
    assert all(0.3 <= c <= 0.7 for c in centre), f"{path}: product off centre {centre}"
    assert (xs.max() - xs.min() + 1) / mask.shape[1] > 0.3, f"{path}: product too small to be framed"
    if cad_colour:
        assert cad_colour_pixels(rgb) >= 3, f"{path}: the cage's CAD colour {GOLD} is missing"


def test_every_node_of_every_preset_ran_inside_blender_43(presets_run):
    assert presets_run["blender"][:2] == [4, 3]
    for family in presets_run["families"]:
        run = run_of(presets_run, family)
        assert {n["status"] for n in run["nodes"].values()} == {"succeeded"}, (family, run["nodes"])
        ran_in = {(n["interpreter"], n["pid"]) for n in run["nodes"].values()}
        assert len(ran_in) == 1 and next(iter(ran_in))[0] == presets_run["binary"], (family, ran_in)  # one process


def test_still_preset_renders_the_framed_bearing_and_thumbnails(presets_run):
    run = run_of(presets_run, "still")
    (still,) = outputs(run, "still", "image")
    assert pixels(still).shape[:2] == (64, 64)
    assert_rendered_product(still)
    (thumb,) = outputs(run, "thumbnails", "image_set")
    assert pixels(thumb).shape[:2] == (32, 32) and pixels(thumb).std() > 10
    assert {a["role"] for a in run["published"]} >= {"primary_render", "thumbnail"}


def test_turntable_preset_renders_turning_frames_and_a_video(presets_run):
    run = run_of(presets_run, "turntable")
    frames = outputs(run, "turntable", "image_set")
    assert len(frames) == 4
    for frame in frames:
        assert_rendered_product(frame)
    first, second = pixels(frames[0]), pixels(frames[1])
    assert np.abs(first - second).mean() > 0.5  # the product turned (and was not rendered once)
    (video,) = outputs(run, "turntable", "video")
    probe = subprocess.run(["ffprobe", "-v", "error", "-count_frames", "-select_streams", "v:0", "-show_entries",
                            "stream=nb_read_frames,width,height", "-of", "json", str(video)],
                           capture_output=True, text=True, check=True)
    stream = json.loads(probe.stdout)["streams"][0]
    assert (stream["width"], stream["height"], int(stream["nb_read_frames"])) == (64, 64, 4)


def test_multi_angle_preset_renders_four_different_views(presets_run):
    run = run_of(presets_run, "multi_angle")
    views = {node_id: outputs(run, node_id, "image")[0] for node_id in ("still_front", "still_side", "still_top",
                                                                     "still_iso")}
    for node_id, path in views.items():  # the cage hides behind the rings seen from front and side
        assert_rendered_product(path, cad_colour=node_id in ("still_top", "still_iso"))
    images = [pixels(p) for p in views.values()]
    assert all(np.abs(a - b).mean() > 2 for i, a in enumerate(images) for b in images[i + 1:])


def test_still_with_exports_preset_writes_blend_stl_and_threejs_page(presets_run):
    run = run_of(presets_run, "still_with_exports")
    assert_rendered_product(outputs(run, "still", "image")[0])
    stls = outputs(run, "stl", "stl_set")
    assert sorted(p.stem for p in stls) == ["ball", "cage", "inner_ring", "outer_ring"]
    for stl in stls:  # binary STL: 80-byte header, triangle count, 50 bytes a triangle
        data = stl.read_bytes()
        count = int.from_bytes(data[80:84], "little")
        assert count > 10 and len(data) == 84 + 50 * count, stl
    (page,) = outputs(run, "viewer", "html_viewer")
    html = page.read_text()
    assert "<title>bearing" in html and 'id="hartomat-glb"' in html  # the GLB inlined as base64
    assert os.path.getsize(page) > 100_000  # three.js and the GLB inlined: opens from disk
    (blend,) = outputs(run, "blend", "blend_file")
    assert blend_version(blend) == (4, 3)  # written by the Blender that ran it
    opened = presets_run["blend"]
    assert opened["path"] == str(blend) and opened["meshes"] > 0
    assert {"HartOMat_Camera", "HartOMat_Product", "cage", "inner_ring", "outer_ring"} <= set(opened["objects"])
