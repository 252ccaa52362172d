"""Geometry facts per part from the extraction (engine/cad/occ/geometry_facts.py), which the material
rules match on: read back from real STEP files of the samples, and the rules that use them."""

from __future__ import annotations

import pytest
from cad_support import run_step, step_artifact

from engine.cad.samples import make_bracket_plate_step, make_colour_chart_step, make_plain_bearing_step
from engine.model.node_settings import MaterialRule
from engine.render.material_rules import PartFacts, assembly_size, rule_matches


def facts(step, tmp_path):
    parts = run_step("occ_object_extract", tmp_path, {"step_file": [step_artifact(step)]})["cad_parts"].data["parts"]
    return {p["name"]: p for p in parts}


def test_bearing_parts_are_rings_a_ball_and_a_thin_cage(bearing_step, tmp_path):
    parts = facts(bearing_step, tmp_path)
    geometry = {name: (p["geometry"]["shape"], p["geometry"]["thin_walled"]) for name, p in parts.items()}
    assert geometry == {"outer_ring": ("ring", False), "inner_ring": ("ring", False), "cage": (geometry["cage"][0], True),
                        "ball": ("ball", False)}
    assert parts["ball"]["geometry"]["size_mm"] == pytest.approx(4.8 * 3 ** 0.5, rel=1e-3)


def test_generic_names_keep_their_geometry(tmp_path):
    parts = facts(make_plain_bearing_step(tmp_path / "plain.step"), tmp_path)
    assert {p["geometry"]["shape"] for p in parts.values()} >= {"ring", "ball"}
    size = assembly_size(list(parts.values()))
    assert size == pytest.approx(30 * 2 ** 0.5 * 1.0, rel=0.15)  # the outer ring's 30 x 30 x 9 mm box
    ball = PartFacts(parts["608zz-400"], "Bearing", size)
    assert ball.relative_size < 0.3
    assert rule_matches(MaterialRule(material="steel", category="bearing", shape="ball", max_size=0.5), ball)
    assert not rule_matches(MaterialRule(material="steel", category="pump", shape="ball"), ball)
    assert not rule_matches(MaterialRule(material="steel", shape="ball", min_size=0.5), ball)


def test_turned_solid_bore_and_prisms(tmp_path):
    plate = facts(make_bracket_plate_step(tmp_path / "plate.step"), tmp_path)
    assert plate["bolt"]["geometry"]["shape"] == "cylinder" and plate["bolt"]["geometry"]["rotational"]
    assert plate["nut"]["geometry"]["shape"] == "ring"
    assert plate["plate"]["geometry"]["thin_walled"] and not plate["plate"]["geometry"]["rotational"]
    chart = facts(make_colour_chart_step(tmp_path / "chart.step"), tmp_path)
    assert {p["geometry"]["shape"] for p in chart.values()} == {"other"}  # square blocks are not turned parts
