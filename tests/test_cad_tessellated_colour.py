"""A tessellated-only CATIA part (one TESSELLATED_SOLID of COMPLEX_TRIANGULATED_FACEs, a pre-defined
colour and an overriding style) renders in its colours, not black (issue 25): in the GLB the
triangles agree with the normals; the still from the bpy module and from Blender 4.3 is red where
the override is not, and blue where it is."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import numpy as np
import pytest
from cad_support import run_step, step_artifact, validate_gltf
from PIL import Image
from real_blender import REPO

from engine.cad import samples
from engine.cad.glb import _positions, read_glb
from engine.cli import main


@pytest.fixture(scope="module")
def cube(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return samples.make_tessellated_coloured_step(tmp_path_factory.mktemp("tess") / "cube.step")


def test_the_fixture_is_catia_tessellated_with_an_override(cube):
    text = cube.read_text()
    assert text.count("COMPLEX_TRIANGULATED_FACE(") == 6 and "TESSELLATED_SOLID(" in text
    assert "DRAUGHTING_PRE_DEFINED_COLOUR('red')" in text and "OVER_RIDING_STYLED_ITEM(" in text
    assert "ADVANCED_FACE" not in text


def test_glb_triangles_agree_with_their_normals(cube, tmp_path):
    data = run_step("occ_object_extract", tmp_path, {"step_file": [step_artifact(cube)]})["cad_parts"].data
    assert [p["colour"] for p in data["parts"]] == ["#ff0000"]
    glb = Path(run_step("occ_glb_export", tmp_path, {"step_file": [step_artifact(cube)]})["glb"].path)
    assert validate_gltf(glb)[str(glb)]["errors"] == 0
    document, binary = read_glb(glb)
    colours = sorted(tuple(m["pbrMetallicRoughness"]["baseColorFactor"][:3]) for m in document["materials"])
    assert colours == [(0.0, 0.0, 1.0), (1.0, 0.0, 0.0)]
    agree = []
    for primitive in (p for mesh in document["meshes"] for p in mesh["primitives"]):
        accessor = document["accessors"][primitive["indices"]]
        view = document["bufferViews"][accessor["bufferView"]]
        dtype = {5123: "<u2", 5125: "<u4"}[accessor["componentType"]]
        triangles = np.frombuffer(binary, dtype=dtype, count=accessor["count"],
                                  offset=view.get("byteOffset", 0) + accessor.get("byteOffset", 0)).reshape(-1, 3)
        corners = _positions(document, binary, primitive["attributes"]["POSITION"])[triangles]
        normals = _positions(document, binary, primitive["attributes"]["NORMAL"])[triangles].sum(axis=1)
        wound = np.cross(corners[:, 1] - corners[:, 0], corners[:, 2] - corners[:, 0])
        agree.extend(np.einsum("ij,ij->i", wound, normals) > 0)
    assert len(agree) == 12 and all(agree)


def colour_shares(still: Path) -> dict[str, float]:
    """Shares of the image that are clearly red, clearly blue and near black."""
    with Image.open(still) as image:
        rgb = np.asarray(image.convert("RGB")).astype(int).reshape(-1, 3)
    r, g, b = rgb[:, 0], rgb[:, 1], rgb[:, 2]
    return {"red": float(np.mean((r > 120) & (r > 2 * g + 20) & (r > 2 * b + 20))),
            "blue": float(np.mean((b > 120) & (b > 2 * r + 20) & (b > 2 * g + 20))),
            "black": float(np.mean(rgb.max(axis=1) < 25))}


def test_still_in_bpy_is_red_where_the_override_is_not_blue(cube, tmp_path):
    out = tmp_path / "out"
    code = main(["render", str(cube), "-o", str(out), "--no-cache", "--cache-dir", str(tmp_path / "cache"),
                 "--resolution", "64", "--samples", "4"])
    assert code == 0, (out / "run.json").read_text()
    shares = colour_shares(next((out / "media").rglob("still.png")))
    assert shares["red"] > 0.15 and shares["blue"] > 0.02 and shares["black"] < 0.02, shares


@pytest.mark.slow
@pytest.mark.real_blender
@pytest.mark.timeout(900)
def test_still_in_blender_43_is_red_where_the_override_is_not_blue(blender, blender_deps, cube, tmp_path):
    out = tmp_path / "out"
    env = {**os.environ, "HARTOMAT_CACHE": str(tmp_path / "cache"), "HARTOMAT_STORE": str(tmp_path / "runs.sqlite")}
    done = subprocess.run([*blender, "-b", "--factory-startup", "--python-exit-code", "1", "-P",
                           str(REPO / "tests" / "blender_scripts" / "hosted_still.py"), "--", str(REPO),
                           str(blender_deps), str(cube), str(out), str(tmp_path / "none.blend")],
                          capture_output=True, text=True, timeout=600, env=env)
    line = next((x for x in done.stdout.splitlines() if x.startswith("RESULT")), None)
    assert done.returncode == 0 and line, done.stdout[-3000:] + done.stderr[-3000:]
    assert json.loads(line[len("RESULT"):])["blender"][:2] == [4, 3]
    shares = colour_shares(next((out / "media").rglob("still.png")))
    assert shares["red"] > 0.15 and shares["blue"] > 0.02 and shares["black"] < 0.02, shares
