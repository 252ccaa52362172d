"""Part keys in the render and the viewers (issue 14): the material map applies by part key even
when two parts share a display name; a still of the four-colour assembly shows its four CAD colours;
the three.js viewer counts objects per part key."""

from __future__ import annotations

import colorsys
import json
from pathlib import Path

import numpy as np
import pytest
from cad_support import run_step, step_artifact
from PIL import Image
from render_support import TINY, node_call

from engine.cad import samples
from engine.cad.glb import rewrite_glb_json
from engine.model.artifacts import Artifact
from engine.nodes import render
from engine.nodes.render import BlenderStillSettings

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def assembly(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Artifact]:
    """The four-colour assembly (representations named SOLID) through extract, GLB export, bbox
    and the two material nodes, as the still preset runs them."""
    folder = tmp_path_factory.mktemp("four")
    step = step_artifact(samples.make_solid_named_step(folder / "four.step"))
    parts = run_step("occ_object_extract", folder, {"step_file": [step]})["cad_parts"]
    glb = run_step("occ_glb_export", folder, {"step_file": [step]})["glb"]
    bbox = run_step("glb_bbox", folder, {"glb": [glb]})["bbox"]
    mapped = run_step("auto_populate_materials", folder, {"cad_parts": [parts]})["material_map"]
    return {"cad_parts": parts, "glb": glb, "bbox": bbox, "material_map": mapped}


def still(tmp_path: Path, inputs: dict[str, Artifact], **settings) -> np.ndarray:
    options = BlenderStillSettings(**{**TINY, "resolution_x": 160, "resolution_y": 160, **settings})
    image = render.blender_still(node_call("blender_still", tmp_path, options,
                                           {k: [v] for k, v in inputs.items()}))["image"]
    return np.asarray(Image.open(image.path).convert("RGB"))


def hue_shares(pixels: np.ndarray, wanted: list[float], within: float = 15.0) -> list[float]:
    """For each wanted hue (degrees), the share of the image's saturated pixels within `within`
    degrees of it."""
    flat = pixels.reshape(-1, 3) / 255.0
    found = [h * 360 for h, s, v in (colorsys.rgb_to_hsv(*p) for p in flat) if s > 0.45 and v > 0.15]
    return [sum(1 for h in found if min(abs(h - w), 360 - abs(h - w)) <= within) / len(flat) for w in wanted]


def test_bbox_and_material_map_key_on_parts(assembly):
    keys = {p["key"]: p["name"] for p in assembly["cad_parts"].data["parts"]}
    assert set(assembly["bbox"].data["parts"]) == set(keys)
    assert set(assembly["material_map"].data["assignments"]) == set(keys)
    assert {e["name"] for e in assembly["material_map"].data["assignments"].values()} == set(keys.values())


def test_still_shows_the_four_cad_colours(assembly, tmp_path):
    pixels = still(tmp_path, {k: assembly[k] for k in ("glb", "bbox", "material_map")}, engine="WORKBENCH", view="fixed",
                   elevation=55.0)
    wanted = [colorsys.rgb_to_hsv(*samples._rgb(c))[0] * 360 for c in samples.FOUR_COLOURS.values()]
    assert min(abs(a - b) for a in wanted for b in wanted if a != b) > 30  # four distinct hues
    shares = hue_shares(pixels, wanted)
    assert all(share > 0.002 for share in shares), dict(zip(samples.FOUR_COLOURS, shares, strict=True))


def same_names(source: Path, target: Path) -> Path:
    """The assembly's GLB with every mesh node named 'part': only the part keys tell them apart."""
    target.write_bytes(source.read_bytes())

    def edit(text: bytes) -> bytes:
        document = json.loads(text)
        for node in document["nodes"]:
            if "mesh" in node:
                node["name"] = "part"
        return json.dumps(document).encode()

    rewrite_glb_json(target, edit)
    return target


def test_material_map_applies_by_part_key_not_by_name(assembly, tmp_path):
    import bpy

    from engine.render.blender import importer, scene, shading

    glb = same_names(Path(assembly["glb"].path), tmp_path / "same.glb")
    keys = [p["key"] for p in assembly["cad_parts"].data["parts"]]
    materials = ["steel", "brass", "rubber", "plastic_blue"]
    by_key = {"assignments": {k: {"material": m, "name": "part"} for k, m in zip(keys, materials, strict=True)}}
    product = importer.import_glb(glb, scene.new_render_scene())
    assert {o.name.split(".")[0] for o in product.meshes} == {"part"}
    assert shading.apply_material_map(product.meshes, by_key, print) == 6
    got = {(shading.part_key(o), o.material_slots[0].material["hartomat_material"]) for o in product.meshes}
    assert got == set(zip(keys, materials, strict=True))
    by_name = {"assignments": {"part": {"material": "steel"}, "part.001": {"material": "brass"}}}
    product = importer.import_glb(glb, scene.new_render_scene())
    assert shading.apply_material_map(product.meshes, by_name, print) == 0  # names never match a part
    assert bpy.data.scenes.get(scene.RENDER_SCENE) is not None


def test_threejs_viewer_counts_objects_per_part_key(assembly, tmp_path):
    from engine.chromium.browser import find_browser

    if find_browser() is None:
        pytest.fail("no headless Chromium: run scripts/setup.d/10-chromium.sh (CI installs it)")
    snapshot = run_step("threejs_render", tmp_path, {"glb": [assembly["glb"]]}, width=96, height=96)["snapshot"]
    assert snapshot.data["parts"] == {p["key"]: p["instances"] for p in assembly["cad_parts"].data["parts"]}


def test_run_inspection_lists_parts_by_key(tmp_path):
    from engine.cli.cmd_convert import convert
    from hartomat_addon import run_record

    step = samples.make_solid_named_step(tmp_path / "four.step")
    report = convert(step, tmp_path / "four.glb", tmp_path / "work", {})
    summary = json.loads((tmp_path / "work" / "runs" / "four" / "run.json").read_text())
    assert summary["run_id"] == report["run_id"]
    record = run_record.from_summary(summary)
    rows = record["nodes"]["extract"]["outputs"][0]["parts"]
    assert rows == [f"{p['key']}: {p['name']} x{p['instances']}" for p in report["parts"]]
