"""Part names as customers write them: two products with one name, spaces, non-ASCII characters."""

from __future__ import annotations

from pathlib import Path

import pytest
from cad_support import run_step, step_artifact, validate_gltf

from engine.cad.glb import read_glb
from engine.cad.samples import AssemblySpec, PartSpec, box, placement, write_step
from engine.nodes.cad import safe_name, unique_file_names


@pytest.fixture(scope="module")
def awkward_step(tmp_path_factory) -> Path:
    plate_a = PartSpec("plate", box(10, 10, 1), "#ff0000")
    plate_b = PartSpec("plate", box(20, 5, 1), "#00ff00")
    bearing_seat = PartSpec("Lagersitz Ø10 / rev B", box(5, 5, 5), "#0000ff")
    root = AssemblySpec("Baugruppe 1", [(plate_a, placement()), (plate_b, placement(0, 20, 0)),
                                        (bearing_seat, placement(30, 0, 0))])
    return write_step(root, tmp_path_factory.mktemp("names") / "awkward.step")


def test_products_sharing_a_name_stay_apart(awkward_step, tmp_path):
    parts = run_step("occ_object_extract", tmp_path, {"step_file": [step_artifact(awkward_step)]})["cad_parts"]
    named = {p["name"]: p for p in parts.data["parts"]}
    assert set(named) == {"plate", "plate_2", "Lagersitz Ø10 / rev B"}
    assert {named["plate"]["colour"], named["plate_2"]["colour"]} == {"#ff0000", "#00ff00"}


def test_glb_keeps_unicode_names_and_stls_get_safe_unique_files(awkward_step, tmp_path):
    glb = Path(run_step("occ_glb_export", tmp_path, {"step_file": [step_artifact(awkward_step)]})["glb"].path)
    assert validate_gltf(glb)[str(glb)]["errors"] == 0
    document, _ = read_glb(glb)
    assert "Lagersitz Ø10 / rev B" in {n.get("name") for n in document["nodes"]}
    stls = run_step("stl_cache_generate", tmp_path, {"step_file": [step_artifact(awkward_step)]},
                    cache_dir=str(tmp_path / "cache"))["stl_set"]
    assert sorted(Path(f).name for f in stls.files) == ["Lagersitz_10_rev_B.stl", "plate.stl", "plate_2.stl"]


def test_safe_unique_file_names():
    assert safe_name("../etc/passwd") == "etc_passwd"
    assert safe_name("...") == "part"
    paired = unique_file_names(["a b", "a_b", "A B"], [1, 2, 3])
    assert [name for name, _ in paired] == ["a_b", "a_b_2", "A_B_3"]
