"""occ_object_extract on the sample STEP files: names, colours, layers, instances, units, tree."""

from __future__ import annotations

import json

import pytest
from cad_support import run_step, step_artifact


def extract(step_path, tmp_path, **settings):
    return run_step("occ_object_extract", tmp_path, {"step_file": [step_artifact(step_path)]}, **settings)["cad_parts"]


def by_name(cad_parts):
    return {part["name"]: part for part in cad_parts.data["parts"]}


def test_bearing_parts_names_colours_instances(bearing_step, tmp_path):
    cad_parts = extract(bearing_step, tmp_path)
    parts = by_name(cad_parts)
    assert set(parts) == {"outer_ring", "inner_ring", "cage", "ball"}
    assert parts["ball"]["instances"] == 9 and len(parts["ball"]["placements"]) == 9
    assert parts["outer_ring"]["instances"] == 1
    assert parts["outer_ring"]["colour"] == "#6e7380"
    assert parts["ball"]["colour"] == "#e6e6f0"
    assert parts["cage"]["colour"] == "#c8962d"
    assert parts["ball"]["layers"] == ["rolling"]
    assert cad_parts.data["instance_total"] == 12
    assert cad_parts.data["length_unit"] == "mm"
    assert cad_parts.data["sha256"] == step_artifact(bearing_step).sha256


def test_bearing_placements_and_boxes_in_mm(bearing_step, tmp_path):
    parts = by_name(extract(bearing_step, tmp_path))
    ball = parts["ball"]
    assert ball["bbox_mm"]["max"] == pytest.approx([2.4, 2.4, 2.4], abs=1e-6)
    centres = [(m[3], m[7], m[11]) for m in ball["placements"]]
    assert all(abs((x * x + y * y) ** 0.5 - 10.0) < 1e-6 and abs(z - 4.5) < 1e-6 for x, y, z in centres)
    assert len(set(centres)) == 9
    assert parts["outer_ring"]["bbox_mm"]["max"] == pytest.approx([15, 15, 9], abs=1e-6)


def test_json_file_matches_artifact_data(bearing_step, tmp_path):
    cad_parts = extract(bearing_step, tmp_path)
    assert json.loads(open(cad_parts.path).read()) == json.loads(json.dumps(cad_parts.data))


def test_nested_assembly_tree_and_instances(nested_step, tmp_path):
    cad_parts = extract(nested_step, tmp_path)
    parts = by_name(cad_parts)
    assert {n: p["instances"] for n, p in parts.items()} == {"frame": 1, "hub": 2, "bolt": 8}
    tree = cad_parts.data["tree"]
    assert tree["name"] == "trolley" and tree["part"] is None
    units = [child for child in tree["children"] if child["part"] is None]
    assert len(units) == 2
    assert sorted(c["part"] for c in units[0]["children"]) == ["bolt"] * 4 + ["hub"]
    # The second wheel unit is placed at x=+20 and turned: its bolts sit 6 mm from (20, 0).
    second = [m for m in parts["bolt"]["placements"] if m[3] > 0]
    assert len(second) == 4
    assert all(abs(((m[3] - 20) ** 2 + m[7] ** 2) ** 0.5 - 6) < 1e-6 for m in second)


def test_inch_file_reports_unit_and_mm_lengths(inch_step, tmp_path):
    cad_parts = extract(inch_step, tmp_path)
    assert cad_parts.data["length_unit"] == "inch"
    block = by_name(cad_parts)["inch_block"]
    assert block["bbox_mm"]["max"] == pytest.approx([50.8, 25.4, 12.7], abs=1e-4)


def test_single_part(single_part_step, tmp_path):
    cad_parts = extract(single_part_step, tmp_path)
    assert [(p["name"], p["colour"], p["instances"]) for p in cad_parts.data["parts"]] == [("bracket", "#2a5db0", 1)]
    assert cad_parts.data["tree"] == {"name": "bracket", "children": [], "part": "bracket", "part_key": "0:1:1:1",
                                      "instance": "0:1:1:1"}


def test_reader_settings_drop_names_and_colours(bearing_step, tmp_path):
    cad_parts = extract(bearing_step, tmp_path, read_names=False, read_colours=False, read_layers=False)
    parts = cad_parts.data["parts"]
    assert all(p["colour"] is None and p["layers"] == [] for p in parts)
    assert "ball" not in {p["name"] for p in parts}
    assert sorted(p["instances"] for p in parts) == [1, 1, 1, 9]
