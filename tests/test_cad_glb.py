"""occ_glb_export and glb_bbox: every GLB checked by the Khronos validator, trimesh and Blender."""

from __future__ import annotations

from pathlib import Path

import pytest
import trimesh
from cad_support import blender_import, close, run_step, srgb_to_linear, step_artifact, validate_gltf

from engine.cad.glb import read_glb

COLOURS = {"outer_ring": "#6e7380", "inner_ring": "#b4b4be", "cage": "#c8962d", "ball": "#e6e6f0",
           "frame": "#46a050", "hub": "#d23c28", "bolt": "#3c3c3c", "bracket": "#2a5db0", "inch_block": "#aa7733"}
DEFLECTION_M = 0.1 / 1000  # the default linear deflection, 0.1 mm


def export(step_path: Path, run_dir: Path, **settings) -> Path:
    artifact = run_step("occ_glb_export", run_dir, {"step_file": [step_artifact(step_path)]}, **settings)["glb"]
    assert artifact.role == "glb_model" and artifact.kind == "glb"
    return Path(artifact.path)


@pytest.fixture(scope="module")
def glbs(tmp_path_factory, bearing_step, nested_step, inch_step, single_part_step) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("glb")
    made = {name: export(path, root / name) for name, path in
            {"bearing": bearing_step, "nested": nested_step, "inch": inch_step, "single": single_part_step}.items()}
    made["bearing_instance_names"] = export(bearing_step, root / "inst", instance_names=True, merge_faces=True)
    made["bearing_relative"] = export(bearing_step, root / "rel", relative_deflection=True,
                                      linear_deflection=0.05, angular_deflection=0.3, parallel=False)
    return made


@pytest.fixture(scope="module")
def blender_report(glbs) -> dict[str, dict]:
    report = blender_import(*glbs.values())
    return {name: report[str(path)] for name, path in glbs.items()}


def test_every_glb_passes_the_khronos_validator(glbs):
    report = validate_gltf(*glbs.values())
    for name, path in glbs.items():
        assert report[str(path)]["errors"] == 0, (name, report[str(path)]["messages"])


def test_bearing_balls_share_one_mesh(glbs):
    document, _ = read_glb(glbs["bearing"])
    ball_nodes = [n for n in document["nodes"] if n.get("name") == "ball"]
    assert len(ball_nodes) == 9
    assert len({n["mesh"] for n in ball_nodes}) == 1
    assert len(document["meshes"]) == 4
    assert all(m["pbrMetallicRoughness"]["metallicFactor"] == 0.0 for m in document["materials"])


def test_trimesh_sees_instances_names_and_colours(glbs):
    scene = trimesh.load(str(glbs["bearing"]), force="scene")
    names = {scene.graph[node][1]: node for node in scene.graph.nodes_geometry}
    ball_geometries = [g for g in scene.geometry if g.startswith("ball")]
    assert len(ball_geometries) == 1
    assert len(scene.graph.geometry_nodes[ball_geometries[0]]) == 9
    assert {g.split("_")[0] for g in names} >= {"outer", "inner", "cage", "ball"}
    for geometry_name, mesh in scene.geometry.items():
        part = next(p for p in COLOURS if geometry_name.startswith(p))
        factor = [c / 255 for c in mesh.visual.material.baseColorFactor[:3]]
        assert close(factor, srgb_to_linear(COLOURS[part]), 0.01), (geometry_name, factor)


def test_blender_imports_named_coloured_instanced_objects(blender_report):
    bearing = blender_report["bearing"]
    meshes = {o["name"]: o for o in bearing["objects"] if o["type"] == "MESH"}
    assert {"outer_ring", "inner_ring", "cage", "ball"} <= set(meshes)
    balls = [o for name, o in meshes.items() if name.split(".")[0] == "ball"]
    assert len(balls) == 9 and len({o["mesh"] for o in balls}) == 1
    assert bearing["meshes"] == 4
    for name, obj in meshes.items():
        expected = srgb_to_linear(COLOURS[name.split(".")[0]])
        assert obj["colours"] and all(close(c, expected, 0.01) for c in obj["colours"]), name
    nested = {o["name"].split(".")[0] for o in blender_report["nested"]["objects"] if o["type"] == "MESH"}
    assert nested == {"frame", "hub", "bolt"}
    assert blender_report["nested"]["meshes"] == 3
    for name in ("single", "inch", "bearing_instance_names", "bearing_relative"):
        assert any(o["type"] == "MESH" for o in blender_report[name]["objects"]), name


def test_instance_names_setting_names_nodes_after_instances(glbs):
    document, _ = read_glb(glbs["bearing_instance_names"])
    names = {n.get("name") for n in document["nodes"]}
    assert {f"ball:{i}" for i in range(4, 13)} <= names
    assert len(document["meshes"]) == 4


def ocp_bbox_m_yup(step_path: Path) -> tuple[list[float], list[float]]:
    """The exact OCP box of the whole STEP, converted to metres in glTF's Y-up frame."""
    from OCP.Bnd import Bnd_Box
    from OCP.BRepBndLib import BRepBndLib
    from OCP.XCAFDoc import XCAFDoc_ShapeTool

    from engine.cad.occ.step_reader import read_step

    step = read_step(step_path)
    box = Bnd_Box()
    for label in step.roots:
        BRepBndLib.AddOptimal_s(XCAFDoc_ShapeTool.GetShape_s(label), box, False, False)
    low, high = box.CornerMin(), box.CornerMax()
    # Z-up (x, y, z) -> Y-up (x, z, -y)
    return ([low.X() / 1000, low.Z() / 1000, -high.Y() / 1000], [high.X() / 1000, high.Z() / 1000, -low.Y() / 1000])


@pytest.mark.parametrize("name", ["bearing", "nested", "single", "inch"])
def test_glb_bbox_matches_the_step_within_tessellation_tolerance(name, glbs, request, tmp_path):
    step_path = request.getfixturevalue({"bearing": "bearing_step", "nested": "nested_step",
                                         "single": "single_part_step", "inch": "inch_step"}[name])
    bbox = run_step("glb_bbox", tmp_path, {"glb": [step_glb(glbs[name])]})["bbox"].data
    low, high = ocp_bbox_m_yup(step_path)
    tolerance = DEFLECTION_M + 1e-6
    assert close(bbox["min"], low, tolerance), (bbox["min"], low)
    assert close(bbox["max"], high, tolerance), (bbox["max"], high)
    assert bbox["up"] == "Y"
    assert bbox["diagonal"] == pytest.approx(sum(s * s for s in bbox["size"]) ** 0.5)


def test_inch_part_comes_out_in_metres(glbs, tmp_path):
    bbox = run_step("glb_bbox", tmp_path, {"glb": [step_glb(glbs["inch"])]})["bbox"].data
    # 2 x 1 x 0.5 inch, Z-up in the STEP -> (x, z, y) extents in glTF
    assert bbox["size"] == pytest.approx([0.0508, 0.0127, 0.0254], abs=1e-5)


def test_bbox_padding(glbs, tmp_path):
    plain = run_step("glb_bbox", tmp_path, {"glb": [step_glb(glbs["single"])]})["bbox"].data
    padded = run_step("glb_bbox", tmp_path, {"glb": [step_glb(glbs["single"])]}, padding=0.1)["bbox"].data
    assert padded["size"] == pytest.approx([s * 1.2 for s in plain["size"]])
    assert padded["center"] == pytest.approx(plain["center"])


def step_glb(path: Path):
    from engine.model.artifacts import Artifact, ArtifactKind

    return Artifact.from_file(ArtifactKind.GLB, path, role="glb_model")


def test_glb_bbox_agrees_with_trimesh_on_every_glb(glbs, tmp_path):
    for name, path in glbs.items():
        bbox = run_step("glb_bbox", tmp_path, {"glb": [step_glb(path)]})["bbox"].data
        bounds = trimesh.load(str(path), force="scene").bounds
        assert close(bbox["min"], list(bounds[0]), 1e-9) and close(bbox["max"], list(bounds[1]), 1e-9), name


def test_glb_bbox_rejects_a_file_that_is_not_a_glb(tmp_path):
    from engine.errors import NodeInputError

    fake = tmp_path / "fake.glb"
    fake.write_bytes(b"not a glb at all")
    with pytest.raises(NodeInputError, match="cannot read GLB .*fake.glb"):
        run_step("glb_bbox", tmp_path, {"glb": [step_glb(fake)]})


def test_reused_document_is_remeshed_with_new_settings(bearing_step, tmp_path):
    """Nodes in one process share one read of the STEP file; a coarser second export must not
    inherit the finer triangulation of the first (BRepMesh keeps a finer existing mesh)."""
    from engine.cad.occ.step_reader import clear_shared_step

    clear_shared_step()
    fine = export(bearing_step, tmp_path / "fine", linear_deflection=0.01, angular_deflection=0.1)
    coarse = export(bearing_step, tmp_path / "coarse", linear_deflection=0.5, angular_deflection=0.8)
    fresh_dir = tmp_path / "fresh"
    clear_shared_step()
    fresh = export(bearing_step, fresh_dir, linear_deflection=0.5, angular_deflection=0.8)
    assert coarse.stat().st_size < fine.stat().st_size / 4
    assert coarse.read_bytes() == fresh.read_bytes()


CONVERT_THRICE = """
import hashlib, sys
from pathlib import Path
from engine.cad.occ.step_to_glb import step_to_glb
from engine.cad.occ.step_reader import clear_shared_step
from engine.cad.occ.tessellate import MeshParams
for index in range(3):
    clear_shared_step()
    step_to_glb(Path(sys.argv[1]), Path(sys.argv[2]), MeshParams.defaults())
    print(hashlib.sha256(Path(sys.argv[2]).read_bytes()).hexdigest())
"""


def test_same_step_gives_the_same_glb_bytes(bearing_step, tmp_path):
    """Caches, comparisons and golden files rely on it. In a fresh process: the first read of a
    process once missed the reader's precision setting (OCCT registers its defaults with the
    first reader), so a worker's first GLB differed from its later ones."""
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-c", CONVERT_THRICE, str(bearing_step), str(tmp_path / "b.glb")],
                          capture_output=True, text=True, check=True, cwd=Path(__file__).resolve().parents[1])
    hashes = done.stdout.split()
    assert len(hashes) == 3 and len(set(hashes)) == 1, hashes


def test_merged_faces_keep_one_primitive_per_colour(tmp_path):
    """merge_faces (the default) must not lose a face coloured apart from the rest of its part."""
    from engine.cad.samples import PartSpec, box, write_step

    step_path = write_step(PartSpec("two_tone", box(10, 10, 10), "#2233cc", face_colours={0: "#e01010"}),
                           tmp_path / "two_tone.step")
    document, _binary = read_glb(export(step_path, tmp_path / "run"))
    colours = sorted(tuple(round(v, 3) for v in m["pbrMetallicRoughness"]["baseColorFactor"][:3])
                     for m in document["materials"])
    assert len(document["meshes"]) == 1 and len(document["meshes"][0]["primitives"]) == 2
    assert colours == sorted([tuple(round(v, 3) for v in srgb_to_linear("#e01010")),
                              tuple(round(v, 3) for v in srgb_to_linear("#2233cc"))])
