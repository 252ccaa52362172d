"""stl_cache_generate: one STL per unique part, cached by STEP fingerprint and tessellation."""

from __future__ import annotations

from pathlib import Path

import trimesh
from cad_support import run_step, step_artifact


def stls(step_path: Path, run_dir: Path, cache: Path, **settings):
    inputs = {"step_file": [step_artifact(step_path)]}
    return run_step("stl_cache_generate", run_dir, inputs, cache_dir=str(cache), **settings)["stl_set"]


def test_one_stl_per_unique_part_named_after_it(bearing_step, tmp_path):
    result = stls(bearing_step, tmp_path / "run", tmp_path / "cache")
    assert sorted(Path(f).name for f in result.files) == ["ball.stl", "cage.stl", "inner_ring.stl", "outer_ring.stl"]
    assert result.role == "stl_parts" and result.data["cache_hit"] is False
    ball = trimesh.load(next(f for f in result.files if f.endswith("ball.stl")))
    assert len(ball.faces) > 100
    assert abs(ball.extents.max() - 4.8) < 0.1  # a 2.4 mm radius ball, in mm


def test_second_run_is_a_cache_hit_and_settings_change_the_key(bearing_step, tmp_path):
    cache = tmp_path / "cache"
    first = stls(bearing_step, tmp_path / "a", cache)
    stamps = {f: Path(f).stat().st_mtime_ns for f in first.files}
    second = stls(bearing_step, tmp_path / "b", cache)
    assert second.data["cache_hit"] is True and second.data["cache_key"] == first.data["cache_key"]
    assert second.files == first.files
    assert {f: Path(f).stat().st_mtime_ns for f in second.files} == stamps
    finer = stls(bearing_step, tmp_path / "c", cache, linear_deflection=0.05)
    assert finer.data["cache_hit"] is False and finer.data["cache_key"] != first.data["cache_key"]


def test_a_deleted_cached_file_is_rebuilt(nested_step, tmp_path):
    cache = tmp_path / "cache"
    first = stls(nested_step, tmp_path / "a", cache, binary=False)
    Path(first.files[0]).unlink()
    again = stls(nested_step, tmp_path / "b", cache, binary=False)
    assert again.data["cache_hit"] is False and all(Path(f).is_file() for f in again.files)
    assert Path(again.files[0]).read_bytes().startswith(b"solid")
