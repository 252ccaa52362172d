"""Fan-out planning (engine/model/fanout.py), pure: where a line splits comes from the node
definitions' FanOut declarations, not from the preset, so a user graph splits the same way."""

from __future__ import annotations

import pytest

from engine.legacy.presets import preset_workflow
from engine.model.fanout import FanOutError, feeding_nodes, plan_fan_out
from engine.model.registry import REGISTRY
from engine.model.workflow import parse_workflow_document


def test_a_turntable_with_a_chunk_size_splits_into_frame_ranges():
    plan = plan_fan_out(preset_workflow("turntable"), {"turntable": {"frame_count": 10, "chunk_size": 4}})
    assert plan is not None and plan.kind == "frames" and plan.nodes == ("turntable",)
    assert [p.overrides["turntable"] for p in plan.parts] == [
        {"chunk_start": 0, "chunk_end": 4}, {"chunk_start": 4, "chunk_end": 8}, {"chunk_start": 8, "chunk_end": 10}]
    assert [p.label for p in plan.parts] == ["frames 0-3", "frames 4-7", "frames 8-9"]
    assert plan_fan_out(preset_workflow("turntable"), {}) is None  # no chunk size: one job


def test_a_user_graph_with_a_turntable_node_under_another_id_fans_out_too():
    preset = preset_workflow("turntable").canonical()
    for node in preset["nodes"]:
        if node["id"] == "turntable":
            node["id"] = "spin"
    for edge in preset["edges"]:
        for end in ("source", "target"):
            edge[end] = "spin" if edge[end] == "turntable" else edge[end]
    workflow = parse_workflow_document(preset)
    plan = plan_fan_out(workflow, {"blender_turntable": {"frame_count": 6, "chunk_size": 3}})  # by step key
    assert plan is not None and plan.nodes == ("spin",) and len(plan.parts) == 2
    assert feeding_nodes(workflow, plan.nodes) == ["bbox", "glb_export", "materials", "template"]


def test_views_split_one_job_per_still_with_split_job_on():
    plan = plan_fan_out(preset_workflow("multi_angle"), {"blender_still": {"split_job": True}})
    assert plan is not None and plan.kind == "views"
    assert plan.nodes == ("still_front", "still_side", "still_top", "still_iso")
    assert plan_fan_out(preset_workflow("multi_angle"), {"still_front": {"split_job": True}}) is None  # one view
    assert plan_fan_out(preset_workflow("still"), {"still": {"split_job": True}}) is None


@pytest.mark.parametrize("overrides, field, says", [
    ({"turntable": {"chunk_size": 0}}, "turntable.chunk_size", "must be at least 1"),
    ({"turntable": {"frame_count": 12, "chunk_size": 13}}, "turntable.chunk_size", "more than the 12 frames"),
    ({"turntable": {"chunk_size": 4, "chunk_start": 2}}, "turntable.chunk_size", "cannot be split again"),
])
def test_bad_chunk_sizes_are_refused_naming_the_field(overrides, field, says):
    with pytest.raises(FanOutError) as caught:
        plan_fan_out(preset_workflow("turntable"), overrides)
    assert caught.value.field == field and says in str(caught.value)


def test_the_split_is_declared_by_the_registry():
    turntable, still = REGISTRY.get("blender_turntable").fan_out, REGISTRY.get("blender_still").fan_out
    assert turntable is not None and (turntable.kind, turntable.size, turntable.parts) == ("frames", "chunk_size",
                                                                                           ("frames",))
    assert still is not None and (still.kind, still.switch) == ("views", "split_job")
