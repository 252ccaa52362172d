"""Bearings recognised from the geometry facts (issue 25): an Onshape 608ZZ whose 13 products are all
named `608zz` and a 32-body part file with placeholder names get the bearing rules with no flag;
an explicit category wins, `none` turns detection off; no bearing is seen in look-alikes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cad_support import make_call, run_step, step_artifact
from colour_support import measure, render_still

from engine.cad import samples
from engine.cad.category import detect_category, resolve_category
from engine.model.context import OrderLine
from engine.model.registry import REGISTRY

METAL = {"steel", "polished_steel", "brass", "rubber"}


@pytest.fixture(scope="module")
def steps(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("category")
    makers = {"608zz": samples.make_onshape_608_step, "bodies": samples.make_bodies_bearing_step,
              "bearing": samples.make_bearing_step, "plate": samples.make_bracket_plate_step,
              "solid": samples.make_solid_named_step, "flange": samples.make_flange_step,
              "key": samples.make_keyed_shaft_step, "box": samples.make_box_step,
              "trolley": samples.make_nested_assembly_step, "chart": samples.make_colour_chart_step,
              "bracket": samples.make_single_part_step, "proe": samples.make_product_names_only_step}
    return {name: make(folder / f"{name}.step") for name, make in makers.items()}


def extracted(step: Path, tmp_path: Path) -> object:
    return run_step("occ_object_extract", tmp_path / step.stem, {"step_file": [step_artifact(step)]})["cad_parts"]


def test_the_bearing_fixtures_have_no_usable_names_or_colours(steps):
    text = steps["608zz"].read_text()
    assert text.count("PRODUCT('608zz','608zz'") == 14 and text.count("COLOUR_RGB") == 1  # 13 parts, the assembly
    assert "SI_UNIT($,.METRE.)" in text
    text = steps["bodies"].read_text()
    assert text.count("PRODUCT('UNIDENTIFIED_PRODUCT','NONE',$") == 33 and "COLOUR_RGB" not in text


@pytest.mark.parametrize(("name", "balls"), [("608zz", 7), ("bodies", 29), ("bearing", 9)])
def test_bearings_are_detected_from_geometry_and_recorded(steps, tmp_path, name, balls):
    cad_parts = extracted(steps[name], tmp_path)
    on_disk = json.loads(Path(cad_parts.path).read_text())["detected_category"]
    assert on_disk == cad_parts.data["detected_category"]
    assert on_disk["name"] == "bearing" and on_disk["source"] == "geometry"
    evidence = on_disk["evidence"]
    assert evidence["rolling_elements"]["kind"] == "balls" and evidence["rolling_elements"]["count"] == balls
    assert evidence["inner_ring"] != evidence["outer_ring"]


def test_convert_json_reports_the_detected_category(steps, tmp_path):
    from engine.cli.cmd_convert import convert

    report = convert(steps["608zz"], tmp_path / "out.glb", tmp_path / "work", {})
    assert report["detected_category"]["name"] == "bearing"
    assert convert(steps["box"], tmp_path / "box.glb", tmp_path / "work", {})["detected_category"] is None


@pytest.mark.parametrize("name", ["plate", "solid", "flange", "key", "box", "trolley", "chart", "bracket", "proe"])
def test_look_alikes_are_not_bearings(steps, tmp_path, name):
    assert extracted(steps[name], tmp_path).data["detected_category"] is None


def _materials(steps: dict[str, Path], tmp_path: Path, category: str = "", setting: str = "") -> dict:
    cad_parts = extracted(steps["608zz"], tmp_path)
    call = make_call("material_map_resolve", tmp_path / "map", {"cad_parts": [cad_parts]},
                     order_line=OrderLine(product="608zz", category=category), category=setting)
    return REGISTRY.executor("material_map_resolve")(call)["material_map"].data


def test_explicit_category_wins_and_none_turns_detection_off(steps, tmp_path):
    detected = _materials(steps, tmp_path)
    assert detected["category"]["name"] == "bearing" and detected["category"]["source"] == "geometry"
    assert detected["category"]["evidence"]["rolling_elements"]["count"] == 7
    assert {entry["material"] for entry in detected["assignments"].values()} <= METAL
    off = _materials(steps, tmp_path, category="none")
    assert off["category"] == {"name": "", "source": "order line: none (detection off)"} and off["assignments"] == {}
    pump = _materials(steps, tmp_path, category="pump")
    assert pump["category"] == {"name": "pump", "source": "order line"} and pump["assignments"] == {}
    setting = _materials(steps, tmp_path, category="pump", setting="bearing")
    assert setting["category"] == {"name": "bearing", "source": "node setting"}


def test_resolve_category_order():
    found = {"name": "bearing", "evidence": {"x": 1}}
    assert resolve_category("", "", found) == {"name": "bearing", "source": "geometry", "evidence": {"x": 1}}
    assert resolve_category("", "None", found)["name"] == ""
    assert resolve_category("", "", None) == {"name": "", "source": "none"}
    assert detect_category([]) is None


@pytest.mark.slow
def test_a_bearing_detected_from_geometry_renders_in_metal(steps, tmp_path):
    result = render_still(steps["608zz"], tmp_path / "out", size=64, samples=4)
    measured = measure(result)
    data = result.node_results["materials"].outputs[0].data
    assert data["category"]["source"] == "geometry"
    assert {part.material for part in measured.parts.values()} <= METAL
    assert {"steel", "polished_steel"} <= {part.material for part in measured.parts.values()}
