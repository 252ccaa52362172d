"""Modes and publishing: legacy, shadow (never publishes, parity stored), graph-authoritative
publishing, idempotent output_save."""

from __future__ import annotations

import json
from pathlib import Path

from runtime_helpers import edge, fake_registry, fake_step_file, graph, node, order_line

from engine.legacy.presets import preset_workflow
from engine.model.artifacts import Artifact, ArtifactKind
from engine.model.publishing import LocalPublisher
from engine.runtime import RunOptions, run_workflow
from engine.runtime.store import RunStore

CAPS = frozenset({"bpy", "ocp"})


def options(tmp_path: Path, **extra) -> RunOptions:
    return RunOptions(out_dir=tmp_path / "out", registry=fake_registry(), capabilities=CAPS, use_cache=False,
                      max_workers=0, **extra)


def media_files(out: Path) -> list[Path]:
    return sorted(p for p in (out / "media").rglob("*") if p.is_file() and p.name != "index.json")


def test_legacy_mode_runs_the_fixed_pipeline_and_publishes(tmp_path):
    result = run_workflow(preset_workflow("multi_angle"), order_line(fake_step_file(tmp_path), output_type="multi_angle"),
                          options(tmp_path, mode="legacy"))
    assert result.status == "succeeded", result.error
    assert list(result.legacy_results)[:3] == ["setup", "step", "extract"]
    renders = [a for a in result.published if a.role == "primary_render"]
    assert [a.node_id for a in renders] == ["still_front", "still_side", "still_top", "still_iso"]
    assert [a.primary for a in renders] == [True, False, False, False]
    assert all(Path(a.path).is_file() and a.path.startswith(str(tmp_path / "out" / "media")) for a in renders)
    summary = json.loads((tmp_path / "out" / "run.json").read_text())
    assert summary["status"] == "succeeded" and summary["mode"] == "legacy"
    assert {o["role"] for o in summary["outputs"]} >= {"primary_render", "thumbnail"}


def test_shadow_never_publishes_and_stores_parity(tmp_path):
    result = run_workflow(preset_workflow("still"), order_line(fake_step_file(tmp_path)), options(tmp_path, mode="shadow"))
    assert result.status == "succeeded"
    assert all(a.node_id in result.legacy_results for a in result.published)
    assert {a.role for a in result.published} == {"primary_render", "thumbnail"}
    assert result.node_results["save"].status == "succeeded"  # the graph's output_save ran ...
    assert not (tmp_path / "out" / "shadow" / "media").exists()  # ... and published nothing
    with RunStore(result.store_path) as store:
        run = store.get_run(result.run_id)
        assert {m["node_id"] for m in run["media_assets"]} <= set(result.legacy_results)
        assert {a["phase"] for a in run["attempts"]} == {"legacy", "shadow"}
    parity = run["parity"]
    assert parity["graph_status"] == "succeeded"
    assert parity["legacy_roles"] == parity["graph_roles"] == ["primary_render", "thumbnail"]
    assert parity["match"] is True and parity["roles"]["primary_render"]["verdict"]


def test_shadow_records_a_difference(tmp_path):
    wf = preset_workflow("still")
    wf.node("still").params["azimuth"] = 100.0  # graph renders another angle than legacy
    result = run_workflow(wf, order_line(fake_step_file(tmp_path)), options(tmp_path, mode="shadow"))
    assert result.status == "succeeded" and result.parity["match"] is False
    assert result.parity["roles"]["primary_render"]["verdict"] == "different"


def _render_graph(with_save: bool, source: Path):
    nodes = [node("render", "t_file", source=str(source)),
             node("blend", "t_file", source=str(source), tag="blend")]
    edges = []
    if with_save:
        nodes.append(node("save", "output_save", publish_check="off"))  # stand-in text, not a render
        edges = [edge("render", "save", "image", "media")]
    return graph(nodes, edges)


def test_render_self_publishes_only_without_output_save_downstream(tmp_path):
    source = tmp_path / "in.txt"
    source.write_text("pixels")
    alone = run_workflow(_render_graph(False, source), order_line(), options(tmp_path / "a"))
    assert sorted(a.node_id for a in alone.published) == ["blend", "render"]
    assert [a.primary for a in alone.published].count(True) == 1
    saved = run_workflow(_render_graph(True, source), order_line(), options(tmp_path / "b"))
    # 'render' feeds output_save: only output_save publishes it; 'blend' has none downstream.
    assert sorted((a.node_id, a.role) for a in saved.published) == [("blend", "primary_render"),
                                                                     ("save", "primary_render")]


def test_output_save_publishes_once_when_run_twice(tmp_path):
    source = tmp_path / "in.txt"
    source.write_text("pixels")
    wf = _render_graph(True, source)
    first = run_workflow(wf, order_line(), options(tmp_path))
    files = media_files(tmp_path / "out")
    second = run_workflow(wf, order_line(), options(tmp_path))
    assert media_files(tmp_path / "out") == files and len(files) == 2
    assert [a.path for a in first.published] == [a.path for a in second.published]
    with RunStore(first.store_path) as store:
        assert len(store.media_assets("line-1")) == 2


def test_exports_keep_their_roles_and_never_replace_the_primary(tmp_path):
    image, blend = tmp_path / "still.png", tmp_path / "scene.blend"
    image.write_bytes(b"png")
    blend.write_bytes(b"blend")
    publisher = LocalPublisher(tmp_path / "media", "line-9")
    render = publisher.publish(Artifact.from_file(ArtifactKind.IMAGE, image), "primary_render", True, "r", "run")
    again = publisher.publish(Artifact.from_file(ArtifactKind.IMAGE, image), "primary_render", True, "r", "run2")
    export = publisher.publish(Artifact.from_file(ArtifactKind.BLEND_FILE, blend), "blend_production", False, "b",
                               "run")
    assert again == render and render.primary and not export.primary
    assert [a.role for a in publisher.assets() if a.primary] == ["primary_render"]
