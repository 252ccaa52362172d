"""Dry run and local run from the add-on's operators (the synchronous path), in the real bpy
module, on the bearing fixture with tiny render settings."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

bpy = pytest.importorskip("bpy")

from tests.addon_support import node, registered_addon, starter_tree  # noqa: E402


@pytest.fixture(scope="module")
def addon():
    yield from registered_addon()

TINY = {"still": {"resolution_x": 64, "resolution_y": 64, "samples": 2, "denoise": False},
        "thumbnails": {"sizes": [32]}}


def test_dry_run_puts_the_plan_in_the_tree(addon, tmp_path):
    tree = starter_tree("still")
    tree.hm_out_dir = str(tmp_path / "out")
    assert bpy.ops.hartomat.dry_run(tree_name=tree.name) == {"FINISHED"}
    plan = json.loads(tree.hm_plan)
    assert plan["order"][0] == "setup" and plan["order"].index("extract") < plan["order"].index("still")
    assert {n["node_id"]: n["settings"]["samples"] for n in plan["nodes"] if n["step"] == "blender_still"} == \
        {"still": 64}
    assert not (tmp_path / "out").exists()  # a dry run has no side effects


def test_dry_run_refuses_an_invalid_graph_and_marks_it(addon):
    tree = starter_tree("still")
    tree.links.remove(next(link for link in tree.links if link.to_node.hm_id == "bbox"))
    with pytest.raises(RuntimeError, match="required input 'glb'"):
        bpy.ops.hartomat.dry_run(tree_name=tree.name)
    assert node(tree, "bbox").use_custom_color


@pytest.mark.slow
def test_run_still_starter_graph_on_the_bearing_from_the_operator(addon, tmp_path, bearing_step):
    tree = starter_tree("still")
    tree.hm_out_dir = str(tmp_path / "out")
    result = bpy.ops.hartomat.run_local(tree_name=tree.name, step_path=str(bearing_step),
                                        overrides=json.dumps(TINY))
    assert result == {"FINISHED"}, tree.hm_run
    run = json.loads(tree.hm_run)
    assert run["status"] == "succeeded"
    still = node(tree, "still")
    assert still.hm_status == "succeeded" and still.use_custom_color
    record = json.loads(still.hm_run)
    assert record["duration_s"] > 0 and record["attempts"] == 1
    (image,) = [o for o in record["outputs"] if o["kind"] == "image"]
    from PIL import Image

    with Image.open(image["path"]) as png:
        assert png.size == (64, 64)
    assert any(Path(i.filepath) == Path(image["path"]) or i.filepath.endswith("still.png") for i in bpy.data.images)
    assert (tmp_path / "out" / "run.json").is_file()
    assert any(a["role"] for a in run["published"])


def test_run_without_a_step_file_names_the_problem_on_the_node_and_writes_nothing(addon, tmp_path):
    tree = starter_tree("still")
    tree.hm_out_dir = str(tmp_path / "out")
    with pytest.raises(RuntimeError, match=r"STEP file '.*missing.step' not found"):
        bpy.ops.hartomat.run_local(tree_name=tree.name, step_path=str(tmp_path / "missing.step"))
    step = node(tree, "step")  # the node that reads the STEP file carries the error
    assert step.hm_status == "failed" and step.use_custom_color
    assert "missing.step' not found" in json.loads(step.hm_run)["error"]["message"]
    assert tree.hm_run_state == "failed" and "missing.step" in tree.hm_progress_message
    assert not (tmp_path / "out").exists()  # no run folder, no store, no run.json


def test_a_failed_node_carries_its_error_and_the_report_names_it(addon, tmp_path):
    broken = tmp_path / "broken.step"
    broken.write_text("ISO-10303-21;\nthis is not a STEP body\n")
    tree = starter_tree("still")
    tree.hm_out_dir = str(tmp_path / "out")
    with pytest.raises(RuntimeError, match=r"HartOMat: run \w+ failed: node 'extract' \(occ_object_extract\) failed: "):
        bpy.ops.hartomat.run_local(tree_name=tree.name, step_path=str(broken))
    extract = node(tree, "extract")
    record = json.loads(extract.hm_run)
    assert extract.hm_status == "failed" and record["error"]["message"]
    assert f"node 'extract' (occ_object_extract) failed: {record['error']['message']}" in tree.hm_progress_message
    assert node(tree, "still").hm_status == "skipped"
    run = json.loads((tmp_path / "out" / "run.json").read_text())
    assert run["status"] == "failed" and run["nodes"]["extract"]["status"] == "failed"


def saved_datablocks(path: Path) -> dict[str, list[str]]:
    """Every datablock name a saved .blend holds, by kind, read back from the file."""
    with bpy.data.libraries.load(str(path)) as (saved, _):
        return {kind: sorted(getattr(saved, kind)) for kind in dir(saved) if getattr(saved, kind)}


def reports(output: str) -> list[str]:
    """The operator reports Blender printed (background mode prints each as 'Info: ...')."""
    return [line for line in output.splitlines() if line.startswith(("Info: ", "Warning: ", "Error: "))]


@pytest.mark.slow
def test_a_run_leaves_the_users_file_as_it_was_and_reports_its_outcome_last(addon, tmp_path, bearing_step, capfd):
    tree = starter_tree("still")
    tree.hm_out_dir = str(tmp_path / "out")
    bpy.ops.wm.save_as_mainfile(filepath=str(tmp_path / "before.blend"), copy=True)
    capfd.readouterr()
    assert bpy.ops.hartomat.run_local(tree_name=tree.name, step_path=str(bearing_step),
                                      overrides=json.dumps(TINY)) == {"FINISHED"}
    said = reports(capfd.readouterr().out)
    assert re.fullmatch(r"Info: HartOMat: run \w+ succeeded in [\d.]+ s \(outputs in .*\)", said[-1]), said
    assert not any("helper interpreter" in line for line in said)  # notes are no reports
    assert "HartOMat_Render" not in bpy.data.scenes
    bpy.ops.wm.save_as_mainfile(filepath=str(tmp_path / "after.blend"), copy=True)
    assert saved_datablocks(tmp_path / "after.blend") == saved_datablocks(tmp_path / "before.blend")


def test_a_refused_run_clears_the_last_runs_marks_and_an_edit_makes_a_run_stale(addon, tmp_path):
    from hartomat_addon import marks

    tree = starter_tree("still")
    summary = {"run_id": "r1", "status": "succeeded",
               "nodes": {n.hm_id: {"step": n.step_key, "status": "succeeded"} for n in tree.nodes}}
    marks.show_run(tree, summary)
    assert not tree.hm_run_stale
    node(tree, "still").hm_s_samples = 8  # a user edit after the run
    assert tree.hm_run_stale and node(tree, "still").hm_status == "succeeded"
    from hartomat_addon.ops_validate import validate_tree

    validate_tree(tree)  # (auto-)validation keeps the run's colours on nodes without problems
    assert node(tree, "setup").use_custom_color and tuple(node(tree, "setup").color) == \
        pytest.approx(marks.STATUS_COLOURS["succeeded"])
    with pytest.raises(RuntimeError, match="not found"):
        bpy.ops.hartomat.run_local(tree_name=tree.name, step_path=str(tmp_path / "missing.step"))
    assert not tree.hm_run and not tree.hm_run_stale
    assert {n.hm_status for n in tree.nodes if n.hm_id != "step"} == {""}  # only the refusal's mark
    assert node(tree, "step").hm_status == "failed"


def test_the_add_on_refuses_a_blender_older_than_4_2_naming_its_version(addon, monkeypatch):
    import hartomat_addon
    from engine.errors import HartomatError

    monkeypatch.setattr(hartomat_addon, "running_version", lambda: (4, 1, 1))
    registered = len(hartomat_addon._REGISTERED)
    with pytest.raises(HartomatError, match=r"the HartOMat add-on needs Blender 4.2 or newer; this is Blender 4.1.1"):
        hartomat_addon.register()
    assert len(hartomat_addon._REGISTERED) == registered  # refused before registering anything



@pytest.mark.parametrize("helper", ["python", "", "missing"])
def test_in_the_editor_renders_stay_on_blenders_thread_and_cad_goes_to_the_helper(addon, monkeypatch, tmp_path,
                                                                                 helper):
    import sys
    from types import SimpleNamespace

    from engine.runtime import plan_workflow
    from hartomat_addon import ops_run, tree_json

    path = {"python": sys.executable, "": "", "missing": str(tmp_path / "no-python")}[helper]
    monkeypatch.setattr(ops_run, "addon_prefs", lambda: SimpleNamespace(helper_python=path))
    tree = starter_tree("still")
    options = ops_run.run_options(tree, frozenset({"bpy", "ocp"}), ui_thread=True)
    plan = plan_workflow(tree_json.tree_to_workflow(tree), ops_run.order_line_for(tree, ""), options)
    where = {n.node_id: n.where for n in plan.nodes}
    assert where["still"] == where["thumbnails"] == "inline"  # bpy: Blender's main thread
    assert where["setup"] == where["bbox"] == where["notify"] == "thread"
    cad = "helper" if helper == "python" else "thread"  # OCP off the main thread, in a helper that can start
    assert where["extract"] == where["glb_export"] == cad
