"""The CAD speed-ups keep their results: lazy CLI start-up, mesher settings, in-place GLB rewrite.

bench/cad.py measures the speed; these tests check that each shortcut changes nothing a user sees.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from engine.cad.glb import read_glb, write_glb
from engine.cli import build_parser, command_modules, modules_for

# heavy libraries, and the legacy pipeline with its presets, which a graph run never needs
HEAVY = ("OCP", "bpy", "numpy", "trimesh", "fastapi", "requests", "engine.legacy.pipeline", "engine.legacy.presets")

# Runs `hartomat` in-process, then reports which heavy modules the command imported.
PROBE = f"""
import json, sys
from engine.cli import main
code = main(sys.argv[1:])
print(json.dumps({{"code": code, "heavy": sorted(m for m in {HEAVY!r} if m in sys.modules)}}))
"""


def test_a_named_command_loads_only_its_own_module():
    assert modules_for(["convert", "part.step", "-o", "x.glb"]) == ["engine.cli.cmd_convert"]
    assert modules_for(["output-type", "list"]) == ["server_bridge.cli.cmd_output_type"]  # an entry point's
    assert modules_for(["--help"]) == command_modules()
    assert modules_for(["no-such-command"]) == command_modules()
    assert len(command_modules()) > 5


def test_help_still_lists_every_command():
    parser = build_parser()
    choices = next(a for a in parser._actions if a.dest == "command").choices
    assert {"convert", "render", "run", "validate", "output-type"} <= set(choices)


def test_unknown_command_is_a_clear_error_listing_the_commands():
    done = subprocess.run([sys.executable, "-m", "engine", "no-such-command"], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 2
    assert "invalid choice: 'no-such-command'" in done.stderr and "convert" in done.stderr
    assert "Traceback" not in done.stderr


def test_cached_convert_imports_no_heavy_module(single_part_step, tmp_path):
    args = ["convert", str(single_part_step), "-o", str(tmp_path / "part.glb"), "--work-dir", str(tmp_path / "wd")]
    first = subprocess.run([sys.executable, "-m", "engine", *args], capture_output=True, text=True, timeout=300)
    assert first.returncode == 0, first.stderr
    (tmp_path / "part.glb").unlink()
    second = subprocess.run([sys.executable, "-c", PROBE, *args, "--json"], capture_output=True, text=True,
                            timeout=300)
    assert second.returncode == 0, second.stderr
    report = json.loads(second.stdout[:second.stdout.rindex("\n{")])
    probe = json.loads(second.stdout.splitlines()[-1])
    assert probe == {"code": 0, "heavy": []}
    assert sorted(report["cached_nodes"]) == ["bbox", "extract", "glb_export"]  # the CAD work skipped
    assert (tmp_path / "part.glb").read_bytes()[:4] == b"glTF"


def test_mesher_settings_give_the_same_triangles_as_occt_defaults(bearing_step):
    from OCP.BRepMesh import BRepMesh_IncrementalMesh
    from OCP.BRepTools import BRepTools

    from engine.cad.occ.step_reader import read_step
    from engine.cad.occ.tessellate import MeshParams, mesh_shapes, part_shapes, product_labels

    step = read_step(bearing_step)  # the shapes live as long as their document
    shapes = part_shapes(product_labels(step.shape_tool))
    params = MeshParams(linear=0.05, angular=0.3)
    mesh_shapes(shapes, params)
    ours = [triangle_count(shape) for shape in shapes]
    for shape in shapes:
        BRepTools.Clean_s(shape)
        BRepMesh_IncrementalMesh(shape, params.linear, params.relative, params.angular, params.parallel)
    assert ours == [triangle_count(shape) for shape in shapes]
    assert min(ours) > 100


def triangle_count(shape) -> int:
    from OCP.BRep import BRep_Tool
    from OCP.TopAbs import TopAbs_FACE
    from OCP.TopExp import TopExp_Explorer
    from OCP.TopLoc import TopLoc_Location
    from OCP.TopoDS import TopoDS

    count, faces = 0, TopExp_Explorer(shape, TopAbs_FACE)
    while faces.More():
        triangulation = BRep_Tool.Triangulation_s(TopoDS.Face(faces.Current()), TopLoc_Location())
        count += triangulation.NbTriangles()
        faces.Next()
    return count


def test_rewriting_a_glb_in_place_cuts_it_to_the_new_length(tmp_path):
    path = tmp_path / "model.glb"
    write_glb(path, {"asset": {"version": "2.0"}, "extras": {"padding": "x" * 5000}}, b"\1\2\3\4" * 100)
    write_glb(path, {"asset": {"version": "2.0"}}, b"\5\6\7\10")
    document, binary = read_glb(path)
    assert document == {"asset": {"version": "2.0"}} and binary == b"\5\6\7\10"
    assert path.stat().st_size == int.from_bytes(path.read_bytes()[8:12], "little")


@pytest.mark.parametrize("new_json", [b'{"asset":{"version":"2.0"}}', b'{"asset":{"version":"2.0"},"x":"' + b"y" * 9000 + b'"}'])
def test_rewriting_only_the_json_chunk_keeps_the_binary_and_the_right_length(tmp_path, new_json):
    from engine.cad.glb import rewrite_glb_json

    path = tmp_path / "model.glb"
    write_glb(path, {"asset": {"version": "2.0"}, "extras": {"padding": "x" * 5000}}, b"\1\2\3\4\5\6")
    rewrite_glb_json(path, lambda old: new_json)
    document, binary = read_glb(path)
    assert document == json.loads(new_json) and binary[:6] == b"\1\2\3\4\5\6" and len(binary) == 8
    assert path.stat().st_size == int.from_bytes(path.read_bytes()[8:12], "little")


def test_reading_at_one_micrometre_keeps_the_exact_geometry(bearing_step):
    from OCP.Interface import Interface_Static

    from engine.cad.occ.assembly import describe_assembly
    from engine.cad.occ.step_reader import READ_PRECISION_MM, read_step

    parts = {part.name: part for part in describe_assembly(read_step(bearing_step))[0]}
    assert Interface_Static.IVal_s("read.precision.mode") == 1
    assert Interface_Static.RVal_s("read.precision.val") == READ_PRECISION_MM
    assert parts["ball"].bbox_mm["min"] == pytest.approx([-2.4, -2.4, -2.4], abs=1e-6)
    assert parts["ball"].bbox_mm["max"] == pytest.approx([2.4, 2.4, 2.4], abs=1e-6)



def test_part_boxes_equal_occt_optimal_box_of_the_whole_shape(bearing_step, nested_step):
    from OCP.Bnd import Bnd_Box
    from OCP.BRepBndLib import BRepBndLib
    from OCP.XCAFDoc import XCAFDoc_ShapeTool

    from engine.cad.occ.assembly import describe_assembly
    from engine.cad.occ.step_reader import read_step

    for path in (bearing_step, nested_step):
        step = read_step(path)
        for part in describe_assembly(step)[0]:
            box = Bnd_Box()
            BRepBndLib.AddOptimal_s(XCAFDoc_ShapeTool.GetShape_s(part.label), box, False, False)
            low, high = box.CornerMin(), box.CornerMax()
            assert part.bbox_mm == {"min": [round(v, 6) for v in (low.X(), low.Y(), low.Z())],
                                    "max": [round(v, 6) for v in (high.X(), high.Y(), high.Z())]}, part.name


@pytest.mark.parametrize("merge_faces", [False, True])
def test_tail_only_glb_fix_equals_fixing_the_whole_document(nested_step, tmp_path, monkeypatch, merge_faces):
    from engine.cad.occ import glb_post, gltf_export
    from engine.cad.occ.step_reader import read_step
    from engine.cad.occ.tessellate import MeshParams, ensure_meshed, product_labels

    step = read_step(nested_step)
    ensure_meshed(step, product_labels(step.shape_tool), MeshParams.defaults())
    seen: dict[str, glb_post.Occurrences] = {}
    monkeypatch.setattr(gltf_export, "postprocess_glb",  # keep OCCT's own GLB
                        lambda path, occurrences: seen.setdefault("occurrences", occurrences) and {})
    raw = tmp_path / "raw.glb"
    gltf_export.write_document_glb(step, raw, merge_faces=merge_faces)
    document, binary = read_glb(raw)
    assert "metallicFactor" not in json.dumps(document["materials"])  # OCCT's output needs the fix
    glb_post.label_nodes(document, seen["occurrences"])
    glb_post.share_instance_meshes(document)
    glb_post.make_dielectric(document)
    glb_post.name_materials_after_parts(document)
    whole = tmp_path / "whole.glb"
    write_glb(whole, document, binary)

    counts = glb_post.postprocess_glb(raw, seen["occurrences"])
    assert raw.read_bytes() == whole.read_bytes()
    assert counts == {"nodes": 14, "meshes": 3, "shared_meshes_removed": 8, "dropped_nodes": 0}


def test_tail_split_parses_everything_when_the_keys_are_missing():
    from engine.cad.occ.glb_post import join_tail, split_tail

    text = b'{"asset":{"version":"2.0"},"nodes":[{"name":",\\"meshes\\":"}]}'
    head, tail = split_tail(text)
    assert head == b"" and tail == json.loads(text)
    assert json.loads(join_tail(head, tail)) == json.loads(text)
    head, tail = split_tail(b'{"accessors":[],"meshes":[{"name":"a"}],"scene":0}')
    assert head == b'{"accessors":[]' and tail == {"meshes": [{"name": "a"}], "scene": 0}
    assert json.loads(join_tail(head, tail)) == {"accessors": [], "meshes": [{"name": "a"}], "scene": 0}


def test_glb_export_reuses_the_extracted_document_and_reads_alone_without_layers(bearing_step):
    """Extraction needs layers; the GLB writer never looks at them, so it takes whatever document
    is kept, and when it must read the file itself it skips the layers."""
    from OCP.OCP.collections import Sequence_TDF_Label

    from engine.cad.occ.step_reader import clear_shared_step, shared_step

    def layer_count(step) -> int:
        labels = Sequence_TDF_Label()
        step.layer_tool.GetLayerLabels(labels)
        return labels.Size()

    clear_shared_step()
    with shared_step(bearing_step) as extracted:
        assert layer_count(extracted) > 0
    with shared_step(bearing_step, layers=None) as exported:
        assert exported is extracted
    clear_shared_step()
    with shared_step(bearing_step, layers=None) as alone:
        assert layer_count(alone) == 0
    with shared_step(bearing_step) as again:  # extraction after it reads again, with layers
        assert again is not alone and layer_count(again) > 0
    clear_shared_step()
