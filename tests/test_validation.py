"""Validation: every problem at once, each with a code, the node, and the port or field at fault."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from engine.legacy.presets import preset_workflow
from engine.model.validation import PROBLEM_CODES, find_cycle_nodes, validate_workflow
from engine.model.workflow import Workflow, load_workflow

EVERY_ERROR = Path(__file__).parent / "data" / "every_error.json"


def graph(nodes, edges=(), family="still"):
    return Workflow.model_validate({
        "name": "t", "family": family,
        "nodes": [{"id": i, "step": s, "params": p} for i, s, p in nodes],
        "edges": [{"source": a, "source_output": b, "target": c, "target_input": d} for a, b, c, d in edges],
    })


def codes(workflow):
    return [p.code for p in validate_workflow(workflow).problems]


def only(workflow, code):
    found = [p for p in validate_workflow(workflow).problems if p.code == code]
    assert len(found) == 1, found
    return found[0]


def run_cli(*args):
    return subprocess.run([sys.executable, "-m", "engine", *args], capture_output=True, text=True)


def test_every_preset_is_clean():
    for name in ("still", "turntable", "multi_angle", "still_with_exports"):
        assert validate_workflow(preset_workflow(name)).problems == []


def test_duplicate_node_id():
    p = only(graph([("a", "glb_bbox", {}), ("a", "glb_bbox", {})]), "duplicate_node_id")
    assert (p.node_id, p.field) == ("a", "id")


def test_unknown_step_suggests_the_closest():
    p = only(graph([("r", "blender_stil", {})]), "unknown_step")
    assert (p.node_id, p.field, p.value) == ("r", "step", "blender_stil")
    assert "did you mean 'blender_still'?" in p.message
    assert "did you mean" not in only(graph([("r", "qqqqqqqq", {})]), "unknown_step").message


@pytest.mark.parametrize("params, field, value, allowed", [
    ({"samples": 0}, "samples", 0, "greater than or equal to 1"),
    ({"engine": "EEVEE"}, "engine", "EEVEE", "'CYCLES' or 'WORKBENCH'"),
    ({"resolution_x": "big"}, "resolution_x", "big", "valid integer"),
    ({"colour": 1}, "colour", 1, "known settings: engine, resolution_x"),
])
def test_invalid_settings_name_field_value_and_what_is_allowed(params, field, value, allowed):
    p = only(graph([("s", "blender_still", params)]), "invalid_setting")
    assert (p.node_id, p.field, p.value) == ("s", field, value)
    assert allowed in p.message and json.dumps(value) in p.message + json.dumps(p.value)


def test_nested_setting_errors_name_the_path():
    p = only(graph([("m", "material_map_resolve", {"rules": [{"material": "steel", "colour": "red"}]})]),
             "invalid_setting")
    assert p.field == "rules.0.colour" and p.value == "red"


def test_missing_nested_setting_says_so():
    p = only(graph([("m", "material_map_resolve", {"rules": [{"name_pattern": "*ball*"}]})]), "invalid_setting")
    assert p.field == "rules.0.material" and "required but missing" in p.message and p.value is None


def test_unknown_nodes_in_edges():
    wf = graph([("a", "glb_bbox", {})], [("ghost", "glb", "a", "glb"), ("a", "bbox", "nowhere", "x")])
    src = only(wf, "unknown_source_node")
    assert (src.node_id, src.port, src.value, src.edge_index) == ("a", "glb", "ghost", 0)
    tgt = only(wf, "unknown_target_node")
    assert (tgt.node_id, tgt.port, tgt.value, tgt.edge_index) == ("a", "bbox", "nowhere", 1)
    assert "required_input_unconnected" not in codes(wf)  # the edge is there, its source is the problem


def test_unknown_ports_list_the_real_ones():
    wf = graph([("a", "occ_glb_export", {}), ("b", "glb_bbox", {})],
               [("a", "mesh", "b", "glb"), ("a", "glb", "b", "model")])
    out = only(wf, "unknown_output_port")
    assert (out.node_id, out.port) == ("a", "mesh") and "outputs: glb" in out.message
    inp = only(wf, "unknown_input_port")
    assert (inp.node_id, inp.port) == ("b", "model") and "inputs: glb" in inp.message


def test_kind_mismatch_names_both_kinds():
    wf = graph([("a", "order_line_setup", {}), ("b", "glb_bbox", {})], [("a", "order_line", "b", "glb")])
    p = only(wf, "kind_mismatch")
    assert (p.node_id, p.port) == ("b", "glb")
    assert "order_line" in p.message and "takes glb" in p.message


def test_self_loop():
    p = only(graph([("t", "thumbnail_save", {})], [("t", "thumbnails", "t", "image")]), "self_loop")
    assert (p.node_id, p.port) == ("t", "image")
    assert "cycle" not in codes(graph([("t", "thumbnail_save", {})], [("t", "thumbnails", "t", "image")]))


def test_cycle_names_its_nodes_in_order():
    wf = graph([("a", "thumbnail_save", {}), ("b", "thumbnail_save", {}), ("c", "thumbnail_save", {})],
               [("a", "thumbnails", "b", "image"), ("b", "thumbnails", "c", "image"),
                ("c", "thumbnails", "a", "image")])
    p = only(wf, "cycle")
    assert p.value == ["a", "b", "c"] and "a -> b -> c -> a" in p.message
    assert (p.node_id, p.port) == ("a", "image")


def test_nodes_downstream_of_a_cycle_are_not_in_it():
    # b -> c hangs off the a <-> b loop: c must not be named, and finding the loop must not crash
    assert find_cycle_nodes(["c", "a", "b"], [("a", "b"), ("b", "a"), ("b", "c")]) == [["a", "b"]]
    assert find_cycle_nodes(list("abcdef"), [("a", "b"), ("b", "c"), ("c", "a"), ("d", "e"), ("e", "d"),
                                             ("c", "f"), ("f", "d")]) == [["a", "b", "c"], ["d", "e"]]
    assert find_cycle_nodes(list("abc"), [("a", "b"), ("b", "c")]) == []


def test_required_input_unconnected():
    p = only(graph([("x", "occ_object_extract", {})]), "required_input_unconnected")
    assert (p.node_id, p.port) == ("x", "step_file")


def test_multiple_edges_into_a_single_input():
    wf = graph([("a", "glb_bbox", {}), ("b", "glb_bbox", {}), ("g", "occ_glb_export", {}),
                ("s", "blender_still", {})],
               [("g", "glb", "a", "glb"), ("g", "glb", "b", "glb"), ("g", "glb", "s", "glb"),
                ("a", "bbox", "s", "bbox"), ("b", "bbox", "s", "bbox")])
    p = only(wf, "multiple_edges_into_single_input")
    assert (p.node_id, p.port) == ("s", "bbox") and "from a, b" in p.message


def test_multiple_edges_into_a_multiple_input_are_fine():
    wf = preset_workflow("multi_angle")
    assert sum(1 for e in wf.edges if (e.target, e.target_input) == ("thumbnails", "image")) == 4
    assert validate_workflow(wf).ok


def test_family_mismatch_is_only_a_warning():
    report = validate_workflow(graph([("t", "blender_turntable", {})], family="still"))
    warning = next(p for p in report.problems if p.code == "family_mismatch")
    assert warning.severity == "warning" and warning.node_id == "t"


def test_all_problems_are_reported_at_once():
    report = validate_workflow(load_workflow(EVERY_ERROR))
    assert sorted({p.code for p in report.errors}) == sorted(PROBLEM_CODES)
    for problem in report.errors:
        assert problem.node_id, problem
        assert problem.port or problem.field, problem


def test_cli_prints_one_line_per_error_naming_node_and_field():
    done = run_cli("validate", str(EVERY_ERROR))
    assert done.returncode == 1 and "Traceback" not in done.stderr
    lines = done.stdout.splitlines()
    report = validate_workflow(load_workflow(EVERY_ERROR))
    assert len(lines) == len(report.problems)
    for line, problem in zip(lines, report.problems, strict=True):
        assert f"{problem.code}: node '{problem.node_id}'" in line
        assert f"port '{problem.port}'" in line or f"field '{problem.field}'" in line


def test_cli_json_output():
    done = run_cli("validate", "--json", str(EVERY_ERROR))
    assert done.returncode == 1
    data = json.loads(done.stdout)
    assert data["ok"] is False
    assert {p["code"] for p in data["problems"]} == set(PROBLEM_CODES)
    assert all({"code", "node_id", "port", "field", "message"} <= set(p) for p in data["problems"])


def test_cli_accepts_a_valid_example():
    done = run_cli("validate", str(Path(__file__).parents[1] / "examples" / "still.json"))
    assert done.returncode == 0 and "ok (12 nodes" in done.stdout
