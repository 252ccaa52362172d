"""Output comparison: verdicts for identical, slightly different and wholly different outputs."""

import json
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from engine.compare import (
    CompareInputError,
    Thresholds,
    compare_output_sets,
    compare_paths,
    detect_kind,
    write_html_report,
)
from engine.compare.images import ssim
from engine.compare.metadata import flatten
from engine.compare.videos import sample_indices

SIZE = 64


def picture(shift=0):
    """A textured test picture: gradients and a red square (SSIM needs structure to be meaningful)."""
    y, x = np.mgrid[0:SIZE, 0:SIZE]
    pixels = np.stack([(x * 4 + shift * 10) % 256, y * 4, (x + y) * 2], axis=2).astype(np.uint8)
    pixels[20:40, 10 + shift:30 + shift] = [200, 50, 50]
    return pixels


def few_pixels_changed(pixels):
    out = pixels.copy()
    out[5, 5] = [0, 0, 0]
    out[30, 31] = [255, 255, 255]
    out[50, 12] = [0, 255, 0]
    return out


def noisy(pixels, sigma=2.0, seed=1):
    rng = np.random.default_rng(seed)
    return np.clip(pixels + rng.normal(0, sigma, pixels.shape), 0, 255).astype(np.uint8)


def random_picture(seed=7):
    return (np.random.default_rng(seed).random((SIZE, SIZE, 3)) * 255).astype(np.uint8)


def save(pixels, path):
    Image.fromarray(pixels).save(path)
    return path


def encode_video(path, frames, fps=12):
    """A lossless H.264 MP4 from RGB frames, as the turntable node would write (but tiny)."""
    h, w = frames[0].shape[:2]
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-f", "rawvideo", "-pix_fmt", "rgb24", "-s", f"{w}x{h}",
                    "-r", str(fps), "-i", "pipe:0", "-c:v", "libx264", "-preset", "ultrafast", "-qp", "0",
                    "-pix_fmt", "yuv444p", str(path)], input=b"".join(f.tobytes() for f in frames), check=True)
    return path


@pytest.fixture(scope="module")
def images(tmp_path_factory):
    d = tmp_path_factory.mktemp("images")
    base = picture()
    return {
        "a": save(base, d / "a.png"), "same": save(base, d / "same.png"),
        "few": save(few_pixels_changed(base), d / "few.png"), "noise": save(noisy(base), d / "noise.png"),
        "other": save(random_picture(), d / "other.png"),
        "small": save(base[:32, :32], d / "small.png"),
        "rgba": save(np.dstack([base, np.full((SIZE, SIZE), 255, np.uint8)]), d / "rgba.png"),
        "jpeg": save(base, d / "a.jpg"),
    }


@pytest.fixture(scope="module")
def videos(tmp_path_factory):
    d = tmp_path_factory.mktemp("videos")
    frames = [picture(t) for t in range(6)]
    slight = [f.copy() for f in frames]
    slight[3] = few_pixels_changed(slight[3])
    return {
        "a": encode_video(d / "a.mp4", frames), "same": encode_video(d / "same.mp4", frames),
        "slight": encode_video(d / "slight.mp4", slight),
        "other": encode_video(d / "other.mp4", [random_picture(s) for s in range(6)]),
        "short": encode_video(d / "short.mp4", frames[:4]),
        "fast": encode_video(d / "fast.mp4", frames, fps=24),
    }


def write_glb(path, offset=0.0, extra_ball=False, finer=False):
    import trimesh

    scene = trimesh.Scene()
    scene.add_geometry(trimesh.creation.box(extents=[0.02, 0.01, 0.03]), node_name="housing", geom_name="housing")
    ball = trimesh.creation.icosphere(subdivisions=2 if finer else 1, radius=0.005)
    for i in range(3 + extra_ball):
        scene.add_geometry(ball, node_name=f"ball_{i}", geom_name="ball",
                           transform=trimesh.transformations.translation_matrix([0.01 * i + offset, 0, 0.02]))
    scene.export(path)
    return path


@pytest.fixture(scope="module")
def glbs(tmp_path_factory):
    d = tmp_path_factory.mktemp("glb")
    return {"a": write_glb(d / "a.glb"), "same": write_glb(d / "same.glb"),
            "nudged": write_glb(d / "nudged.glb", offset=1e-7), "extra": write_glb(d / "extra.glb", extra_ball=True),
            "moved": write_glb(d / "moved.glb", offset=0.05), "finer": write_glb(d / "finer.glb", finer=True)}


# --- images -------------------------------------------------------------------------------------

def naive_ssim(a, b, win=7):
    """SSIM straight from the paper's formula, window by window, for checking the fast version."""
    c1, c2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2
    scores = []
    for ch in range(a.shape[2]):
        for i in range(a.shape[0] - win + 1):
            for j in range(a.shape[1] - win + 1):
                x = a[i:i + win, j:j + win, ch].astype(float).ravel()
                y = b[i:i + win, j:j + win, ch].astype(float).ravel()
                cov = np.cov(x, y)  # sample covariance, ddof=1
                s = ((2 * x.mean() * y.mean() + c1) * (2 * cov[0, 1] + c2)) / (
                    (x.mean() ** 2 + y.mean() ** 2 + c1) * (cov[0, 0] + cov[1, 1] + c2))
                scores.append(s)
    return float(np.mean(np.array(scores).reshape(a.shape[2], -1).mean(axis=1)))


def test_ssim_matches_the_formula():
    a = random_picture(1)[:16, :16]
    b = noisy(a, sigma=20)
    assert ssim(a, b) == pytest.approx(naive_ssim(a, b), abs=1e-9)
    assert ssim(a, a) == pytest.approx(1.0)


@pytest.mark.parametrize("other, verdict", [
    ("same", "identical"), ("few", "similar"), ("noise", "similar"), ("other", "different"),
    ("small", "different"), ("rgba", "identical")])
def test_image_verdicts(images, other, verdict):
    found = compare_paths(images["a"], images[other])
    assert found.verdict == verdict, (found.metrics, found.notes)
    assert found.match == (verdict != "different")
    assert found.kind == "image"


def test_image_metrics(images):
    same = compare_paths(images["a"], images["same"]).metrics
    assert (same["mae"], same["psnr"], same["ssim"], same["changed_pixels"]) == (0.0, 100.0, 1.0, 0)
    few = compare_paths(images["a"], images["few"]).metrics
    assert few["changed_pixels"] == 3 and 0 < few["mae"] < 1 and few["psnr"] > 30 and few["ssim"] > 0.95
    other = compare_paths(images["a"], images["other"])
    assert other.metrics["psnr"] < 15 and other.metrics["ssim"] < 0.2
    assert any("SSIM" in n for n in other.notes) and any("PSNR" in n for n in other.notes)
    small = compare_paths(images["a"], images["small"])
    assert small.score == 0.0 and "size [64, 64] differs from [32, 32]" in small.notes[0]


def test_thresholds_move_the_line(images):
    strict = Thresholds(image_psnr_min=60)
    assert compare_paths(images["a"], images["few"], thresholds=strict).verdict == "different"
    loose = {"image_psnr_min": 0, "image_ssim_min": -1, "image_mae_max": 255}
    assert compare_paths(images["a"], images["other"], thresholds=loose).verdict == "similar"


def test_diff_image_shows_where_pixels_changed(images, tmp_path):
    found = compare_paths(images["a"], images["few"], diff_dir=tmp_path)
    diff = np.asarray(Image.open(found.diff_image))
    assert diff.shape == (SIZE, SIZE, 3)
    redness = diff[..., 0].astype(int) - diff[..., 1]
    assert redness[5, 5] > 60 and redness[30, 31] > 60 and redness[50, 12] > 60
    assert redness[0, 0] == 0 and (redness > 0).sum() == 3
    assert found.images == {"a": str(images["a"]), "b": str(images["few"]), "diff": found.diff_image}
    assert compare_paths(images["a"], images["few"]).diff_image is None  # no folder, no file


def test_lossy_copy_of_an_image_is_similar(images):
    assert compare_paths(images["a"], images["jpeg"], kind="image").verdict in ("similar", "identical")


# --- videos -------------------------------------------------------------------------------------

@pytest.mark.parametrize("other, verdict", [
    ("same", "identical"), ("slight", "similar"), ("other", "different"), ("short", "different"),
    ("fast", "different")])
def test_video_verdicts(videos, other, verdict):
    found = compare_paths(videos["a"], videos[other])
    assert found.kind == "video" and found.verdict == verdict, (found.metrics, found.notes)


def test_video_metrics(videos, tmp_path):
    slight = compare_paths(videos["a"], videos["slight"], diff_dir=tmp_path)
    assert (slight.metrics["frames_a"], slight.metrics["fps_a"]) == (6, 12.0)
    per_frame = {f["frame"]: f for f in slight.metrics["sampled_frames"]}
    assert set(per_frame) == set(range(6))
    assert per_frame[3]["changed_pixels"] > 0 and per_frame[0]["changed_pixels"] == 0
    assert Path(slight.images["diff"]).is_file() and "frame3" in slight.images["diff"]
    short = compare_paths(videos["a"], videos["short"])
    assert "frame count 6 differs from 4" in short.notes and short.score == 0.0
    assert "fps 12 differs from 24" in compare_paths(videos["a"], videos["fast"]).notes


def test_frames_are_sampled_evenly_from_first_to_last():
    assert sample_indices(100, 5) == [0, 25, 50, 74, 99]
    assert sample_indices(3, 8) == [0, 1, 2]
    assert sample_indices(0, 8) == []


# --- GLB, .blend, JSON ----------------------------------------------------------------------------

@pytest.mark.parametrize("other, verdict, note", [
    ("same", "identical", None), ("nudged", "similar", None), ("extra", "different", "node names differ"),
    ("moved", "different", "bounding box moved"), ("finer", "different", "vertex count")])
def test_glb_verdicts(glbs, other, verdict, note):
    found = compare_paths(glbs["a"], glbs[other])
    assert found.kind == "glb" and found.verdict == verdict, found.notes
    assert note is None or any(note in n for n in found.notes)


def test_glb_metrics(glbs):
    metrics = compare_paths(glbs["a"], glbs["extra"]).metrics
    assert metrics["extra_nodes"] == ["ball_3"] and metrics["node_count_a"] == 4
    assert metrics["vertex_count_a"] == 8 + 3 * 42  # box + three icospheres, counted per instance
    assert metrics["bbox_min_a"] == pytest.approx([-0.01, -0.005, -0.015])
    assert metrics["bbox_max_a"] == pytest.approx([0.025, 0.005, 0.025])


def test_glb_instances_are_counted_per_mesh(glbs):
    from engine.compare.gltf import summarize_glb

    summary = summarize_glb(glbs["a"])
    assert sum(summary["instances"].values()) == 4
    assert max(summary["instances"].values()) == 3  # one ball mesh placed three times


BLEND_WRITER = textwrap.dedent("""
    import sys, bpy
    def make(path, objects, material, end):
        bpy.ops.wm.read_factory_settings(use_empty=True)
        scene = bpy.context.scene
        scene.frame_start, scene.frame_end = 1, end
        mat = bpy.data.materials.new(material)
        for name in objects:
            ob = bpy.data.objects.new(name, bpy.data.meshes.new(name))
            ob.data.materials.append(mat)
            scene.collection.objects.link(ob)
        bpy.ops.wm.save_as_mainfile(filepath=path)
    out = sys.argv[-1]
    make(out + "/a.blend", ["housing", "ball"], "Steel", 24)
    make(out + "/same.blend", ["housing", "ball"], "Steel", 24)
    make(out + "/extra.blend", ["housing", "ball", "seal"], "Steel", 24)
    make(out + "/brass.blend", ["housing", "ball"], "Brass", 24)
    make(out + "/long.blend", ["housing", "ball"], "Steel", 36)
""")


@pytest.fixture(scope="module")
def blends(tmp_path_factory):
    d = tmp_path_factory.mktemp("blend")
    subprocess.run([sys.executable, "-c", BLEND_WRITER, str(d)], check=True, capture_output=True, timeout=120)
    return {p.stem: p for p in d.glob("*.blend")}


def test_blend_comparison(blends):
    assert compare_paths(blends["a"], blends["same"]).verdict == "identical"
    extra = compare_paths(blends["a"], blends["extra"])
    assert extra.verdict == "different" and extra.metrics["extra_objects"] == ["seal"]
    brass = compare_paths(blends["a"], blends["brass"])
    assert brass.metrics["missing_materials"] == ["Steel"] and brass.metrics["extra_materials"] == ["Brass"]
    assert brass.metrics["material_slot_changes"]["ball"] == [["Steel"], ["Brass"]]
    long = compare_paths(blends["a"], blends["long"])
    assert long.verdict == "different" and any("frame ranges" in n for n in long.notes)
    assert long.metrics["scenes_b"]["Scene"]["frame_end"] == 36


def test_broken_blend_is_bad_input(tmp_path, images):
    with pytest.raises(CompareInputError, match="not a readable .blend"):
        compare_paths(images["a"], images["a"], kind="blend")


def write_json(path, value):
    path.write_text(json.dumps(value))
    return path


def test_metadata_by_key(tmp_path):
    base = {"width": 64, "height": 64, "bbox": {"size": [0.1, 0.2, 0.3]}, "view": "iso",
            "path": "/run/1/a.png", "created_at": "2026-01-01"}
    a = write_json(tmp_path / "a.json", base)
    same = write_json(tmp_path / "same.json", {**base, "path": "/run/2/a.png", "created_at": "2026-02-02"})
    near = write_json(tmp_path / "near.json", {**base, "bbox": {"size": [0.1, 0.2, 0.3 + 1e-12]}})
    changed = write_json(tmp_path / "changed.json", {**base, "view": "front", "bbox": {"size": [0.1, 0.2]},
                                                     "frames": 3})
    assert compare_paths(a, same).verdict == "identical"
    assert compare_paths(a, near).verdict == "similar"
    found = compare_paths(a, changed)
    assert found.verdict == "different"
    assert found.metrics["changed"] == {"view": ["iso", "front"]}
    assert found.metrics["missing_keys"] == ["bbox.size[2]"] and found.metrics["extra_keys"] == ["frames"]
    assert "view: 'iso' -> 'front'" in found.notes


def test_flatten_names_every_leaf():
    assert flatten({"a": {"b": [1, {"c": 2}]}, "d": {}}) == {"a.b[0]": 1, "a.b[1].c": 2, "d": {}}


# --- dispatch, output sets, bad input --------------------------------------------------------------

def test_kind_detection():
    assert [detect_kind(Path(n)) for n in ("x.PNG", "x.mp4", "x.glb", "x.blend", "x.json", "x.stl")] == [
        "image", "video", "glb", "blend", "json", "bytes"]
    assert detect_kind(Path("x.bin"), "blend_file") == "blend"
    with pytest.raises(CompareInputError, match="unknown comparison kind 'nope'"):
        detect_kind(Path("x.png"), "nope")


def test_bad_input_is_named(images, tmp_path):
    with pytest.raises(CompareInputError, match="missing.png: no such file"):
        compare_paths(images["a"], tmp_path / "missing.png")
    with pytest.raises(CompareInputError, match="different kinds of file"):
        compare_paths(images["a"], write_json(tmp_path / "x.json", {}))
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"not a png")
    with pytest.raises(CompareInputError, match="broken.png: not a readable image"):
        compare_paths(images["a"], broken)
    bad_glb = tmp_path / "bad.glb"
    bad_glb.write_bytes(b"glTF" + b"\0" * 30)
    with pytest.raises(CompareInputError, match="bad.glb"):
        compare_paths(bad_glb, bad_glb)


def test_output_sets_by_role(images, videos, glbs, tmp_path):
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"junk")
    legacy = {"primary_render": images["a"], "turntable_video": videos["a"], "glb_model": glbs["a"],
              "thumbnail": [images["a"], images["few"]], "web_snapshot": images["a"], "blend_production": images["a"]}
    graph = {"primary_render": images["few"], "turntable_video": videos["same"], "glb_model": glbs["same"],
             "thumbnail": [images["a"], images["few"]], "web_snapshot": broken, "stl_parts": images["a"]}
    report = compare_output_sets(legacy, graph, diff_dir=tmp_path / "diffs")
    roles = report["roles"]
    assert roles["primary_render"]["verdict"] == "similar"
    assert roles["turntable_video"]["verdict"] == "identical" and roles["glb_model"]["verdict"] == "identical"
    assert roles["thumbnail"]["verdict"] == "identical" and len(roles["thumbnail"]["items"]) == 2
    assert roles["web_snapshot"]["verdict"] == "different"
    assert "not a readable image" in roles["web_snapshot"]["notes"][0]
    assert report["missing_roles"] == ["blend_production"] and report["extra_roles"] == ["stl_parts"]
    assert report["match"] is False and report["verdict"] == "different"
    assert report["worst"]["score"] == 0.0
    json.dumps(report)  # the run store keeps it as JSON


def test_output_sets_match_and_name_the_worst_role(images, videos):
    report = compare_output_sets({"primary_render": images["a"], "turntable_video": videos["a"]},
                                 {"primary_render": images["noise"], "turntable_video": videos["same"]})
    assert report["match"] is True and report["verdict"] == "similar"
    assert report["worst"]["role"] == "primary_render" and report["worst"]["metric"] == "ssim"
    assert 0.9 < report["worst"]["score"] < 1
    image_set = compare_output_sets({"frames": [images["a"], images["few"]]}, {"frames": [images["a"]]})
    assert image_set["roles"]["frames"]["verdict"] == "different"
    assert "2 files against 1" in image_set["roles"]["frames"]["notes"]


def test_html_report_shows_the_images_side_by_side(images, tmp_path):
    found = compare_paths(images["a"], images["few"], diff_dir=tmp_path / "diffs")
    page = write_html_report(found, tmp_path / "report.html")
    text = page.read_text()
    assert text.count("<img ") == 3 and text.count("data:image/png;base64,") == 3
    for name in ("a.png", "few.png", Path(found.diff_image).name):
        assert f"{name}</figcaption>" in text
    assert "similar" in text and "ssim" in text


# --- the command ----------------------------------------------------------------------------------

def cli(*args):
    done = subprocess.run([sys.executable, "-m", "engine", "compare", *map(str, args)],
                          capture_output=True, text=True, timeout=120)
    assert "Traceback" not in done.stderr
    return done


def test_cli_exit_codes(images, videos, tmp_path):
    assert cli(images["a"], images["same"]).returncode == 0
    assert cli(images["a"], images["noise"]).returncode == 0
    different = cli(images["a"], images["other"])
    assert different.returncode == 1 and different.stdout.startswith("different (image)")
    assert cli(videos["a"], videos["other"]).returncode == 1
    for args, reason in [((images["a"], tmp_path / "nope.png"), "no such file"),
                         ((images["a"], images["a"], "--kind", "nope"), "unknown comparison kind"),
                         ((images["a"], images["a"], "--thresholds", "[1]"), "must be a JSON object"),
                         ((images["a"], images["a"], "--thresholds", '{"x": 1}'), "bad --thresholds")]:
        done = cli(*args)
        assert done.returncode == 2 and reason in done.stderr, done.stderr
        assert len(done.stderr.strip().splitlines()) == 1


def test_cli_json_and_html(images, tmp_path):
    page = tmp_path / "out" / "report.html"
    done = cli(images["a"], images["few"], "--json", "--html", page)
    assert done.returncode == 0
    data = json.loads(done.stdout)
    assert data["verdict"] == "similar" and Path(data["diff_image"]).is_file()
    assert page.is_file() and page.read_text().count("<img ") == 3


def test_cli_compares_folders_by_relative_path(images, tmp_path):
    for side, other in (("a", "same"), ("b", "other")):
        (tmp_path / side / "stills").mkdir(parents=True)
        shutil.copy(images["a"], tmp_path / side / "stills" / "front.png")
        shutil.copy(images[other], tmp_path / side / "stills" / "side.png")
    done = cli(tmp_path / "a", tmp_path / "b", "--json")
    assert done.returncode == 1
    roles = json.loads(done.stdout)["roles"]
    assert roles["stills/front.png"]["verdict"] == "identical"
    assert roles["stills/side.png"]["verdict"] == "different"
