"""Names that live only in PRODUCT entities, and placeholder names that are no names (issue 25):
from the STEP file through `convert --json`, the GLB and Blender (the bpy module and Blender 4.3)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cad_support import blender_import, run_step, step_artifact, validate_gltf
from real_blender import run_blender

from engine.cad import samples
from engine.cad.glb import read_glb
from engine.cad.occ.glb_post import PART_KEY
from engine.cad.occ.product_names import is_numbered_name, is_placeholder_name, is_reference_name

PARTS = set(samples.PROE_PRODUCTS)


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("product_names")
    return {"proe": samples.make_product_names_only_step(folder / "proe_asm.step"),
            "placeholders": samples.make_placeholder_names_step(folder / "bodies.step")}


def extract(path: Path, tmp_path: Path) -> dict:
    return run_step("occ_object_extract", tmp_path, {"step_file": [step_artifact(path)]})["cad_parts"].data


def export(path: Path, tmp_path: Path) -> Path:
    return Path(run_step("occ_glb_export", tmp_path, {"step_file": [step_artifact(path)]})["glb"].path)


def test_the_fixture_has_the_pro_e_quirks(files):
    text = files["proe"].read_text()
    assert text.count("NEXT_ASSEMBLY_USAGE_OCCURRENCE('',''") == text.count("NEXT_ASSEMBLY_USAGE_OCCURRENCE(") == 11
    assert "SHAPE_REPRESENTATION_RELATIONSHIP('','',#" in text and "MANIFOLD_SOLID_BREP('SOLID'" in text
    assert all(f"PRODUCT('{name}','{name}'" in text for name in PARTS) and "LENGTH_UNIT()" in text


def test_names_only_in_product_entities_reach_json_glb_and_bpy(files, tmp_path):
    from engine.cli.cmd_convert import convert

    report = convert(files["proe"], tmp_path / "out.glb", tmp_path / "work", {})
    assert sorted((p["name"], p["name_source"]) for p in report["parts"]) == sorted((n, "product") for n in PARTS)
    data = extract(files["proe"], tmp_path)
    assert data["name_fallbacks"] == []
    assert {child["name"] for child in data["tree"]["children"]} >= {"SUPPORT_ASM", "ROD", "FASTENER_ASM"}
    glb = export(files["proe"], tmp_path)
    assert validate_gltf(glb)[str(glb)]["errors"] == 0
    document, _ = read_glb(glb)
    names = {p["key"]: p["name"] for p in data["parts"]}
    nodes = [n for n in document["nodes"] if "mesh" in n]
    assert nodes and all(n["name"] == names[n["extras"][PART_KEY]] for n in nodes)
    assert not any(is_reference_name(n.get("name")) for n in document["nodes"])
    objects = [o for o in blender_import(glb)[str(glb)]["objects"] if o["type"] == "MESH"]
    assert {o["name"].split(".")[0] for o in objects} == PARTS


BLENDER_43 = """
import json, sys, bpy
bpy.ops.wm.read_factory_settings(use_empty=True)
bpy.ops.import_scene.gltf(filepath=sys.argv[sys.argv.index("--") + 1])
print("NAMES" + json.dumps(sorted(o.name for o in bpy.data.objects if o.type == "MESH")))
"""


def test_names_only_in_product_entities_reach_blender_43(files, tmp_path):
    glb = export(files["proe"], tmp_path)
    script = tmp_path / "names.py"
    script.write_text(BLENDER_43)
    done = run_blender(["-b", "--factory-startup", "--python-exit-code", "1", "--python", str(script), "--",
                        str(glb)], tmp_path / "user")
    line = next((x for x in done.stdout.splitlines() if x.startswith("NAMES")), None)
    assert line, done.stdout[-2000:] + done.stderr[-2000:]
    assert {name.split(".")[0] for name in json.loads(line[len("NAMES"):])} == PARTS


def test_placeholder_names_fall_back_to_the_id_or_a_generated_name(files, tmp_path):
    text = files["placeholders"].read_text()
    assert text.count("PRODUCT('UNIDENTIFIED_PRODUCT','NONE',$") == 4 and "'the product name'" in text
    data = extract(files["placeholders"], tmp_path)
    assert [(p["name"], p["name_source"]) for p in data["parts"]] == [
        ("bodies 1", "generated"), ("bodies 2", "generated"), ("bodies 3", "generated"),
        ("SHAFT-7", "product_id"), ("HOUSING", "product")]
    assert [f["source"] for f in data["name_fallbacks"]] == ["generated"] * 3 + ["product_id"]
    assert data["tree"]["name"] == "bodies"
    glb = export(files["placeholders"], tmp_path)
    document, _ = read_glb(glb)
    assert sorted(n["name"] for n in document["nodes"] if "mesh" in n) == sorted(p["name"] for p in data["parts"])


def test_placeholder_and_reference_names():
    for name in ("NONE", "none", " UNIDENTIFIED_PRODUCT", "the product name", "Unnamed", "", "=>[0:1:1:3]", "[0:1:1:7]"):
        assert is_placeholder_name(name), name
    for name in ("PLATE", "608zz", "NONE-RETURN VALVE", "Part of frame", "=> flange"):
        assert not is_placeholder_name(name), name
    assert is_numbered_name("PART12") and is_numbered_name("Body 3") and not is_numbered_name("PART-A")
