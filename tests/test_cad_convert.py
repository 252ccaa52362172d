"""`hartomat convert` and `hartomat sample`: the bundled CAD graph through the runtime, as commands."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from cad_support import validate_gltf

from engine.cli.cmd_convert import GRAPH
from engine.model.context import OrderLine
from engine.model.validation import validate_workflow
from engine.model.workflow import load_workflow


def hartomat(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "engine", *args], capture_output=True, text=True, timeout=300,
                          cwd=cwd)


def test_bundled_graph_is_the_cad_chain():
    workflow = load_workflow(GRAPH)
    assert validate_workflow(workflow).ok
    assert [n.step for n in workflow.nodes] == ["order_line_setup", "resolve_step_path", "occ_object_extract",
                                                "occ_glb_export", "glb_bbox"]


def test_convert_prints_parts_and_writes_a_valid_glb(bearing_step, tmp_path):
    out = tmp_path / "out" / "bearing.glb"
    done = hartomat("convert", str(bearing_step), "-o", str(out), "--work-dir", str(tmp_path / "wd"))
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert "4 parts, 12 instances, file unit mm" in lines[0]
    ball = next(line for line in lines if line.split()[0] == "ball")
    assert "#e6e6f0" in ball and "x9" in ball and "4.800 x 4.800 x 4.800 mm" in ball
    assert any(line.split()[0] == "outer_ring" and "30.000 x 30.000 x 9.000" in line for line in lines)
    assert lines[-1].startswith(f"wrote {out}")
    assert validate_gltf(out)[str(out)]["errors"] == 0


def test_convert_json_and_deflection_options_and_cache(inch_step, tmp_path):
    work = str(tmp_path / "wd")
    coarse, fine = tmp_path / "coarse.glb", tmp_path / "fine.glb"
    first = hartomat("convert", str(inch_step), "-o", str(coarse), "--json", "--work-dir", work)
    assert first.returncode == 0, first.stderr
    report = json.loads(first.stdout)
    assert report["length_unit"] == "inch"
    assert report["parts"][0] | {"bbox_mm": None} == {
        "key": "0:1:1:1", "name": "inch_block", "name_source": "product", "colour": "#aa7733", "instances": 1,
        "bbox_mm": None, "layers": ["body"],
        "geometry": {"solids": 1, "shells": 0, "free_faces": 0, "faces": 7, "tessellated_faces": 0, "free_edges": 0,
                     "rotational": False, "shape": "other", "size_mm": pytest.approx(58.1987, abs=1e-3),
                     "thin_walled": False}}
    assert report["codepage"] == {"name": "utf-8", "how": "ascii", "samples": 0} and report["warnings"] == []
    assert report["content"] == {"solids": 1, "shells": 0, "free_faces": 0, "tessellated_faces": 0,
                                 "surface_parts": 0, "annotations": 0}
    assert report["bbox_m"]["size"] == pytest.approx([0.0508, 0.0127, 0.0254], abs=1e-5)
    assert "glb_export" not in report["cached_nodes"]
    again = json.loads(hartomat("convert", str(inch_step), "-o", str(coarse), "--json", "--work-dir", work).stdout)
    assert {"extract", "glb_export", "bbox"} <= set(again["cached_nodes"]), again
    finer = hartomat("convert", str(inch_step), "-o", str(fine), "--json", "--work-dir", work,
                     "--linear-deflection", "0.01", "--angular-deflection", "0.1")
    assert finer.returncode == 0, finer.stderr
    assert "glb_export" not in json.loads(finer.stdout)["cached_nodes"]
    assert fine.stat().st_size > coarse.stat().st_size
    report = validate_gltf(coarse, fine)
    assert report[str(coarse)]["errors"] == 0 and report[str(fine)]["errors"] == 0


@pytest.mark.parametrize("case", ["broken", "missing", "text"])
def test_convert_failure_is_one_line_and_non_zero(case, broken_step, tmp_path):
    path = {"broken": broken_step, "missing": tmp_path / "missing.step", "text": tmp_path / "notes.step"}[case]
    if case == "text":
        path.write_text("hello\n")
    done = hartomat("convert", str(path), "-o", str(tmp_path / "x.glb"), "--work-dir", str(tmp_path / "wd"))
    assert done.returncode != 0
    errors = done.stderr.strip().splitlines()
    assert len(errors) == 1 and errors[0].startswith("hartomat convert: error:"), done.stderr
    assert path.name in errors[0] and "Traceback" not in done.stderr
    assert not (tmp_path / "x.glb").exists()


def test_cad_nodes_in_the_worker_pool_succeed_and_fail_cleanly(broken_step, single_part_step, tmp_path):
    """The runtime runs the OCP nodes in spawned worker processes by default."""
    from engine.runtime import RunOptions, run_workflow

    good = run_workflow(load_workflow(GRAPH), OrderLine(product="bracket", step_path=str(single_part_step)),
                        RunOptions(out_dir=tmp_path / "good", cache_dir=tmp_path / "cache", fallback=False))
    assert good.status == "succeeded", good.summary()
    assert good.node_results["bbox"].outputs[0].data["size"] == pytest.approx([0.04, 0.03, 0.02], abs=1e-4)
    glb = good.node_results["glb_export"].outputs[0].path
    assert validate_gltf(glb)[glb]["errors"] == 0
    line = OrderLine(product="broken", step_path=str(broken_step))
    result = run_workflow(load_workflow(GRAPH), line, RunOptions(out_dir=tmp_path / "bad", fallback=False))
    assert result.status == "failed"
    error = result.node_results["extract"].error
    assert error["type"] == "NodeInputError" and error["expected"] is True
    assert "truncated" in error["message"]


def test_sample_command_writes_each_sample(tmp_path):
    for kind in ("single", "inch"):
        target = tmp_path / f"{kind}.step"
        done = hartomat("sample", kind, "-o", str(target))
        assert done.returncode == 0, done.stderr
        assert target.read_text().startswith("ISO-10303-21")
