"""The runtime with the shipped executors: a real still graph (OCP + bpy, 64x64), CAD nodes in a
helper interpreter, and the composite bridge nodes."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from PIL import Image
from runtime_helpers import edge, fake_registry, fake_step_file, graph, node, order_line

from engine.legacy.presets import preset_workflow
from engine.runtime import RunOptions, run_workflow

TINY = {"blender_still": {"resolution_x": 64, "resolution_y": 64, "samples": 2, "denoise": False}}


@pytest.mark.slow
def test_real_still_graph_with_cad_in_a_helper_interpreter(tmp_path, bearing_step):
    options = RunOptions(out_dir=tmp_path / "out", cache_dir=tmp_path / "cache", overrides=TINY,
                         capabilities=frozenset({"bpy"}), helper_python=sys.executable)
    result = run_workflow(preset_workflow("still"), order_line(bearing_step), options)
    assert result.status == "succeeded", result.error
    r = result.node_results
    assert r["extract"].interpreter == sys.executable and r["glb_export"].interpreter == sys.executable
    assert {n: r[n].status for n in ("still", "thumbnails", "save", "notify")} == dict.fromkeys(
        ("still", "thumbnails", "save", "notify"), "succeeded")
    (primary,) = [a for a in result.published if a.primary]
    assert primary.role == "primary_render" and Image.open(primary.path).size == (64, 64)
    summary = json.loads((tmp_path / "out" / "run.json").read_text())
    assert {o["role"] for o in summary["outputs"]} >= {"glb_model", "primary_render", "thumbnail"}
    again = run_workflow(preset_workflow("still"), order_line(bearing_step), options)
    # only the source and side-effect nodes run again; everything else is a cache hit
    assert {n for n, x in again.node_results.items() if x.status != "cached"} == {
        "setup", "step", "template", "save", "notify"}
    assert [a.sha256 for a in again.published] == [a.sha256 for a in result.published]


def test_bridge_nodes_run_their_wrapped_chains(tmp_path):
    wf = graph([node("setup", "order_line_setup"), node("cad", "bridge_legacy_cad"),
                node("still", "bridge_legacy_still", blender_still={"view_name": "bridged", "azimuth": 10.0})],
               [edge("setup", "cad", "order_line", "order_line"), edge("setup", "still", "order_line", "order_line"),
                *[edge("cad", "still", port, port) for port in ("cad_parts", "glb", "bbox")]])
    options = RunOptions(out_dir=tmp_path / "out", registry=fake_registry(), use_cache=False,
                         capabilities=frozenset({"bpy", "ocp"}))
    result = run_workflow(wf, order_line(fake_step_file(tmp_path)), options)
    assert result.status == "succeeded", result.error
    ports = {o.port for o in result.node_results["cad"].outputs}
    assert ports == {"step_file", "cad_parts", "glb", "bbox"}
    logs = "\n".join(result.node_results["still"].logs)
    assert "material_map_resolve" in logs and "blender_still" in logs
    # no output_save downstream: the render bridge publishes its image itself, as primary
    (asset,) = result.published
    assert asset.node_id == "still" and asset.primary and Path(asset.path).name == "bridged.png"
