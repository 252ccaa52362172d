"""STEP files as other CAD systems write them (issue 14): part identity, product names and code pages
from the STEP file to the GLB, Blender (bpy and Blender 4.3) and the render; PMI is not a part."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cad_support import blender_import, run_step, step_artifact, validate_gltf
from real_blender import run_blender

from engine.cad import samples
from engine.cad.glb import read_glb
from engine.cad.occ.glb_post import INSTANCE_KEY, PART_KEY

PRODUCTS = {"PLATE", "L-BRACKET", "NUT", "BOLT"}


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("real")
    return {"solid": samples.make_solid_named_step(folder / "solid_named.step"),
            "cp1251": samples.make_codepage_step(folder / "cp1251.step", "cp1251"),
            "cp1252": samples.make_codepage_step(folder / "cp1252.step", "cp1252"),
            "pmi": samples.make_pmi_step(folder / "pmi.step")}


def extract(path: Path, tmp_path: Path, **settings) -> dict:
    return run_step("occ_object_extract", tmp_path, {"step_file": [step_artifact(path)]}, **settings)["cad_parts"].data


def export(path: Path, tmp_path: Path, **settings) -> Path:
    return Path(run_step("occ_glb_export", tmp_path, {"step_file": [step_artifact(path)]}, **settings)["glb"].path)


def mesh_nodes(glb: Path) -> list[dict]:
    document, _ = read_glb(glb)
    return [node for node in document["nodes"] if "mesh" in node]


def test_representations_named_solid_give_product_names_everywhere(files, tmp_path):
    assert b"MANIFOLD_SOLID_BREP('SOLID'" in files["solid"].read_bytes()
    data = extract(files["solid"], tmp_path)
    parts = {p["name"]: p for p in data["parts"]}
    assert set(parts) == PRODUCTS
    assert parts["BOLT"]["instances"] == 3 and len(set(parts["BOLT"]["instance_keys"])) == 3
    assert {p["colour"] for p in parts.values()} == set(samples.FOUR_COLOURS.values())
    assert parts["PLATE"]["geometry"]["solids"] == 1 and data["content"]["solids"] == 4
    glb = export(files["solid"], tmp_path)
    assert validate_gltf(glb)[str(glb)]["errors"] == 0
    nodes = mesh_nodes(glb)
    assert sorted((n["name"], n["extras"][PART_KEY]) for n in nodes) == sorted(
        (p["name"], p["key"]) for p in data["parts"] for _ in range(p["instances"]))
    assert sorted(n["extras"][INSTANCE_KEY] for n in nodes) == sorted(k for p in data["parts"] for k in p["instance_keys"])
    objects = [o for o in blender_import(glb)[str(glb)]["objects"] if o["type"] == "MESH"]
    names = {p["key"]: p["name"] for p in data["parts"]}
    assert len(objects) == 6 and all(o["name"].split(".")[0] == names[o["part"]] for o in objects)


def test_json_of_convert_names_products_and_code_page(files, tmp_path):
    from engine.cli.cmd_convert import convert

    report = convert(files["solid"], tmp_path / "out.glb", tmp_path / "work", {})
    assert {p["name"] for p in report["parts"]} == PRODUCTS and report["codepage"]["how"] == "ascii"
    assert all(p["key"] and p["geometry"]["solids"] == 1 for p in report["parts"])
    report = convert(files["cp1251"], tmp_path / "o1.glb", tmp_path / "work", {})
    assert report["codepage"] == {"name": "cp1251", "how": "detected", "samples": 4}
    assert {p["name"] for p in report["parts"]} == set(samples.CODEPAGE_NAMES["cp1251"].values())
    report = convert(files["cp1252"], tmp_path / "o2.glb", tmp_path / "work",
                     {"extract": {"codepage": "cp1252"}, "glb_export": {"codepage": "cp1252"}})
    assert report["codepage"] == {"name": "cp1252", "how": "setting", "samples": 0}
    assert "Écrou à œil" in {p["name"] for p in report["parts"]}


@pytest.mark.parametrize("codepage", ["cp1251", "cp1252"])
def test_raw_8bit_names_decode_with_their_code_page(files, tmp_path, codepage):
    wanted = set(samples.CODEPAGE_NAMES[codepage].values())
    raw = files[codepage].read_bytes()
    assert all(name.replace("'", "''").encode(codepage) in raw for name in wanted) and b"\\X2\\" not in raw
    data = extract(files[codepage], tmp_path)
    assert data["codepage"] == {"name": codepage, "how": "detected", "samples": 4}
    assert {p["name"] for p in data["parts"]} == wanted
    assert [p["layers"] for p in data["parts"] if p["layers"]] == [[samples.CODEPAGE_LAYERS[codepage]]]
    glb = export(files[codepage], tmp_path)
    assert {n["name"] for n in mesh_nodes(glb)} == wanted
    objects = blender_import(glb)[str(glb)]["objects"]
    assert {o["name"] for o in objects if o["type"] == "MESH"} == wanted


def test_wrong_code_page_setting_is_used_as_given(files, tmp_path):
    data = extract(files["cp1251"], tmp_path, codepage="CP-1252")
    assert data["codepage"]["name"] == "cp1252" and data["codepage"]["how"] == "setting"
    assert "Äåòàëü1" in {p["name"] for p in data["parts"]}


def test_unknown_code_page_setting_names_the_field():
    from pydantic import ValidationError

    from engine.nodes.cad import OccObjectExtractSettings

    with pytest.raises(ValidationError, match="(?s)codepage.*unknown code page .klingon."):
        OccObjectExtractSettings(codepage="klingon")


def test_x2_escaped_names_stay_as_they_are(tmp_path):
    spec = samples.AssemblySpec("ASM", [(samples.PartSpec("Lagersitz Ø10", samples.box(5, 5, 5), "#0000ff"),
                                         samples.placement()),
                                        (samples.PartSpec("Деталь", samples.box(4, 4, 4), "#ff0000"),
                                         samples.placement(10))])
    path = samples.write_step(spec, tmp_path / "x2.step")
    raw = path.read_bytes()
    for name in ("Lagersitz Ø10", "Деталь"):  # OCCT writes UTF-8; other exporters escape as ISO 10303-21 asks
        escaped = "".join(ch if ord(ch) < 0x80 else f"\\X2\\{ord(ch):04X}\\X0\\" for ch in name)
        raw = raw.replace(name.encode(), escaped.encode())
    path.write_bytes(raw)
    assert b"\\X2\\" in raw and max(raw) < 0x80
    data = extract(path, tmp_path)
    assert data["codepage"]["how"] == "ascii"
    assert {p["name"] for p in data["parts"]} == {"Lagersitz Ø10", "Деталь"}


def test_bytes_that_fit_no_code_page_decode_with_replacements_and_warn(files, tmp_path):
    bad = tmp_path / "bad.step"
    bad.write_bytes(files["cp1251"].read_bytes().replace("Болт".encode("cp1251"), b"\x9d\x9e\xfd\xfe\x98"))
    data = extract(bad, tmp_path)
    assert data["codepage"]["name"] == "none"
    assert data["warnings"] and str(bad) in data["warnings"][0]
    assert any("\ufffd" in p["name"] for p in data["parts"])
    glb = export(bad, tmp_path)
    assert validate_gltf(glb)[str(glb)]["errors"] == 0


def test_pmi_curves_and_text_are_not_parts(files, tmp_path):
    text = files["pmi"].read_text()
    assert "ANNOTATION_CURVE_OCCURRENCE" in text and "TEXT_LITERAL" in text and "POLYLINE" in text
    data = extract(files["pmi"], tmp_path)
    assert [p["name"] for p in data["parts"]] == ["BRACKET"]
    assert data["content"]["annotations"] == 1 and data["content"]["solids"] == 1
    glb = export(files["pmi"], tmp_path)
    document, _ = read_glb(glb)
    modes = [primitive.get("mode", 4) for mesh in document["meshes"] for primitive in mesh["primitives"]]
    assert modes == [4]
    assert [n["name"] for n in document["nodes"]] == ["BRACKET (assembly)", "BRACKET"]
    assert validate_gltf(glb)[str(glb)]["errors"] == 0


BLENDER_43 = """
import json, sys, bpy
bpy.ops.wm.read_factory_settings(use_empty=True)
bpy.ops.import_scene.gltf(filepath=sys.argv[sys.argv.index("--") + 1])
print("PARTS" + json.dumps({o.name: o.get("hartomat_part") for o in bpy.data.objects if o.type == "MESH"}))
"""


def test_blender_43_imports_part_keys_as_custom_properties(files, tmp_path):
    data = extract(files["solid"], tmp_path)
    glb = export(files["solid"], tmp_path)
    script = tmp_path / "parts.py"
    script.write_text(BLENDER_43)
    done = run_blender(["-b", "--factory-startup", "--python-exit-code", "1", "--python", str(script), "--",
                        str(glb)], tmp_path / "user")
    line = next((x for x in done.stdout.splitlines() if x.startswith("PARTS")), None)
    assert line, done.stdout[-2000:] + done.stderr[-2000:]
    parts = json.loads(line[len("PARTS"):])
    names = {p["key"]: p["name"] for p in data["parts"]}
    assert len(parts) == 6 and all(names[key] == name.split(".")[0] for name, key in parts.items())


def test_ap242_tessellated_only_part_keeps_working_double_sided(tmp_path):
    path = samples.make_tessellated_step(tmp_path / "tessellated.step")
    assert "TRIANGULATED_SURFACE_SET" in path.read_text() and "ADVANCED_FACE" not in path.read_text()
    data = extract(path, tmp_path)
    assert [p["name"] for p in data["parts"]] == ["MESH_PART"]
    assert data["content"]["tessellated_faces"] == 6 and data["content"]["solids"] == 0
    assert data["content"]["surface_parts"] == 1
    glb = export(path, tmp_path)
    document, _ = read_glb(glb)
    assert [m["primitives"][0]["mode"] for m in document["meshes"]] == [4]
    assert all(material.get("doubleSided") for material in document["materials"])
    assert validate_gltf(glb)[str(glb)]["errors"] == 0


def test_empty_product_name_takes_the_id_then_the_instance_name(tmp_path):
    spec = samples.AssemblySpec("ASM", [(samples.PartSpec(name, samples.box(4, 4, 4 + i)), samples.placement(10 * i))
                                        for i, name in enumerate(("PLATE", "BOLT", "NUT"))])
    path = samples.write_step(spec, tmp_path / "ids.step")
    raw = path.read_bytes().replace(b"PRODUCT('BOLT','BOLT'", b"PRODUCT('B-123',''")
    path.write_bytes(raw.replace(b"PRODUCT('NUT','NUT'", b"PRODUCT('',''"))
    data = extract(path, tmp_path)
    assert [(p["name"], p["name_source"]) for p in data["parts"]] == [
        ("PLATE", "product"), ("B-123", "product"), ("NUT:3", "instance")]
    assert data["name_fallbacks"] == [{"key": data["parts"][2]["key"], "name": "NUT:3", "source": "instance"}]


def test_stl_cache_lists_files_by_part_key(files, tmp_path):
    data = extract(files["solid"], tmp_path)
    stls = run_step("stl_cache_generate", tmp_path, {"step_file": [step_artifact(files["solid"])]},
                    cache_dir=str(tmp_path / "cache"))["stl_set"]
    assert stls.data["files_by_part"] == {p["key"]: f"{p['name']}.stl" for p in data["parts"]}
    again = run_step("stl_cache_generate", tmp_path, {"step_file": [step_artifact(files["solid"])]},
                     cache_dir=str(tmp_path / "cache"))["stl_set"]
    assert again.data["cache_hit"] and again.data["files_by_part"] == stls.data["files_by_part"]


@pytest.mark.parametrize(("codepage", "names"), [
    ("cp1251", ["Шайба", "Гайка М6", "Крепёж"]),
    ("cp1252", ["Mutter", "Scheibe für Achse", "Écrou à œil"]),
    ("cp1250", ["Šroub", "Matice č. 5", "Podložka"]),
    ("cp1253", ["Εξάρτημα", "Βίδα"]),
    ("cp1254", ["Cıvata", "Somun ağır", "Pul şekli"]),
    ("cp1257", ["Varžtas", "Veržlė", "Poveržlė"]),
    ("shift_jis", ["部品A", "ボルト M6", "ナット"]),
    ("gb2312", ["零件一", "螺栓"]),
    ("utf-8", ["Деталь", "Écrou"]),
])
def test_code_page_detection_from_names(codepage, names):
    from engine.cad.occ.codepage import detect, string_tokens

    data = b"DATA;\n" + b"".join(b"#%d = PRODUCT('" % i + n.encode(codepage) + b"','',''," + b"(#1));\n"
                                 for i, n in enumerate(names, start=2))
    assert detect(string_tokens(data))[0] == codepage


def test_code_page_detection_gives_up_on_bytes_that_fit_none():
    from engine.cad.occ.codepage import detect

    assert detect([b"\x9d\x9e\xfd\xfe\x98"])[0] is None
