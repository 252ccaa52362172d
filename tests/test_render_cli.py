"""`hartomat render`: the four presets end to end on the bearing, in legacy and graph mode."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from engine.cli import main

pytestmark = pytest.mark.slow

PRESETS = ("still", "turntable", "multi_angle", "still_with_exports")
TINY = ["--resolution", "64", "--samples", "1", "--frames", "4"]
EXPECTED_ROLES = {
    "still": {"primary_render", "thumbnail"},
    "turntable": {"turntable_video"},
    "multi_angle": {"primary_render", "thumbnail"},
    "still_with_exports": {"primary_render", "thumbnail", "blend_production", "stl_parts", "web_viewer"},
}


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[tuple[str, str], Path]:
    """Output folders of every preset in both modes, rendered once for the module."""
    return {}


def _render(runs, tmp_path_factory, bearing_step: Path, preset: str, mode: str) -> Path:
    if (preset, mode) not in runs:
        out = tmp_path_factory.mktemp(f"{preset}-{mode}")
        code = main(["render", str(bearing_step), "--preset", preset, "--mode", mode, "-o", str(out), "--no-cache",
                     "--cache-dir", str(out / "cache"), *TINY])
        assert code == 0, (out / "run.json").read_text() if (out / "run.json").is_file() else "no run.json"
        runs[(preset, mode)] = out
    return runs[(preset, mode)]


def _published_roles(out: Path) -> set[str]:
    summary = json.loads((out / "run.json").read_text())
    failed = {k: n["error"] for k, n in summary["nodes"].items() if n["error"]}
    assert summary["status"] == "succeeded" and not summary["fell_back"], (summary["error"], failed)
    for asset in summary["published"]:
        assert Path(asset["path"]).exists() and asset["sha256"] and asset["kind"]
    return {asset["role"] for asset in summary["published"]}


@pytest.mark.parametrize("preset", PRESETS)
def test_preset_runs_in_legacy_and_graph_mode_with_the_same_outputs(runs, tmp_path_factory, bearing_step, preset):
    graph = _published_roles(_render(runs, tmp_path_factory, bearing_step, preset, "graph"))
    legacy = _published_roles(_render(runs, tmp_path_factory, bearing_step, preset, "legacy"))
    assert graph == legacy
    assert EXPECTED_ROLES[preset] <= graph


def test_run_json_lists_every_output_with_kind_role_path_and_sha(runs, tmp_path_factory, bearing_step):
    out = _render(runs, tmp_path_factory, bearing_step, "still", "graph")
    summary = json.loads((out / "run.json").read_text())
    files = [o for o in summary["outputs"] if o["path"] and Path(o["path"]).is_file()]
    assert files and all(o["kind"] and o["sha256"] for o in files)
    still = next(o for o in files if o["role"] == "primary_render")
    assert Path(still["path"]).is_relative_to(out)
    pixels = np.asarray(Image.open(still["path"]).convert("L"), dtype=float)
    assert pixels.shape == (64, 64) and pixels.std() > 5


def test_transparent_json_run(tmp_path, bearing_step, capsys):
    code = main(["render", str(bearing_step), "--preset", "still", "-o", str(tmp_path), "--transparent", "--json",
                 "--engine", "WORKBENCH", "--cache-dir", str(tmp_path / "cache"), *TINY])
    captured = capsys.readouterr()
    assert code == 0
    summary = json.loads(captured.out)  # stdout holds the summary alone, Blender's chatter went to stderr
    assert summary["status"] == "succeeded" and "still" in captured.err
    image = next(a for a in summary["published"] if a["role"] == "primary_render")
    with Image.open(image["path"]) as png:
        assert png.mode == "RGBA" and png.getpixel((0, 0))[3] == 0


@pytest.mark.parametrize("argv, message", [
    (["render", "missing.step"], "missing.step: no such STEP file"),
    (["render", "{step}", "--resolution", "4"], "--resolution: step 'blender_still': setting 'resolution_x': "
                                             "Input should be greater than or equal to 16"),
    (["render", "{step}", "--samples", "0"], "--samples"),
])
def test_bad_command_lines_are_one_clear_line(tmp_path, bearing_step, capsys, argv, message):
    code = main([a.format(step=bearing_step) for a in argv] + ["-o", str(tmp_path)])
    err = capsys.readouterr().err
    assert code == 2 and message in err and "Traceback" not in err


def test_broken_step_fails_without_traceback(tmp_path, broken_step, capsys):
    code = main(["render", str(broken_step), "-o", str(tmp_path), "--cache-dir", str(tmp_path / "cache"), *TINY])
    err = capsys.readouterr().err
    assert code == 1 and "Traceback" not in err and "hartomat render: run failed" in err


def test_shadow_mode_publishes_legacy_and_records_parity(tmp_path, bearing_step, capsys):
    code = main(["render", str(bearing_step), "--preset", "still", "--mode", "shadow", "-o", str(tmp_path), "--json",
                 "--engine", "WORKBENCH", "--cache-dir", str(tmp_path / "cache"), *TINY])
    summary = json.loads(capsys.readouterr().out)
    assert code == 0 and summary["status"] == "succeeded"
    assert summary["parity"] and {a["role"] for a in summary["published"]} >= {"primary_render", "thumbnail"}
    assert {a["node_id"] for a in summary["published"]} <= set(summary["legacy_nodes"])
