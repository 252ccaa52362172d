"""Planning and dry runs: deterministic order, resolved settings, refusals, no side effects."""

from __future__ import annotations

from pathlib import Path

import pytest
from runtime_helpers import chain, edge, graph, node, order_line, runtime_registry

from engine.model.workflow import Workflow
from engine.runtime import PlanError, RunOptions, plan_workflow, run_workflow


def options(tmp_path: Path, **extra) -> RunOptions:
    return RunOptions(out_dir=tmp_path / "out", registry=runtime_registry(), cache_dir=tmp_path / "cache",
                      capabilities=frozenset(), **extra)


def test_order_is_topological_with_ties_by_json_order(tmp_path):
    # d is listed first but depends on c; a and b are independent roots: JSON order among ready nodes.
    wf = graph([node("d", "t_noop"), node("b", "t_noop"), node("a", "t_noop"), node("c", "t_noop")],
               [edge("a", "c"), edge("b", "c"), edge("c", "d")])
    plan = plan_workflow(wf, order_line(), options(tmp_path))
    assert plan.order == ["b", "a", "c", "d"]
    result = run_workflow(wf, order_line(), options(tmp_path))
    started = [r.started for r in (result.node_results[n] for n in ["b", "a", "c", "d"])]
    assert started == sorted(started)


def test_settings_defaults_params_then_step_then_node_overrides(tmp_path):
    wf = graph([node("x", "t_noop", tag="param", seconds=1.0), node("y", "t_noop", tag="param")], [])
    line = order_line(overrides={"t_noop": {"tag": "line-step"}, "y": {"fail_times": 2}})
    plan = plan_workflow(wf, line, options(tmp_path, overrides={"x": {"tag": "node"}}))
    x, y = plan.nodes
    assert x.settings == {"tag": "node", "fail_times": 0, "seconds": 1.0, "source": ""}
    assert y.settings["tag"] == "line-step" and y.settings["fail_times"] == 2


def test_bad_override_names_node_and_field(tmp_path):
    wf = chain(2)
    with pytest.raises(PlanError) as err:
        plan_workflow(wf, order_line(), options(tmp_path, overrides={"n1": {"fail_times": "many"}}))
    assert "node 'n1'" in str(err.value) and "fail_times" in str(err.value)
    with pytest.raises(PlanError, match="override 'nope' names neither"):
        plan_workflow(wf, order_line(), options(tmp_path, overrides={"nope": {"tag": "x"}}))


def test_invalid_graph_is_refused_with_its_problems(tmp_path):
    wf = Workflow.model_validate({"name": "broken", "family": "still", "nodes": [
        {"id": "a", "step": "t_noop"}, {"id": "b", "step": "t_nope"}],
        "edges": [{"source": "a", "source_output": "out", "target": "a", "target_input": "inp"}]})
    with pytest.raises(PlanError) as err:
        run_workflow(wf, order_line(), options(tmp_path))
    assert "unknown step 't_nope'" in str(err.value) and "self_loop" in str(err.value)
    assert not (tmp_path / "out").exists()


def test_dry_run_has_no_side_effects_and_predicts_cache_hits(tmp_path):
    wf = chain(3)
    plan = plan_workflow(wf, order_line(), options(tmp_path))
    assert [n.cache_hit for n in plan.nodes] == [False, False, False]
    assert not (tmp_path / "out").exists() and not (tmp_path / "cache").exists()
    description = plan.describe()
    assert description["order"] == ["n0", "n1", "n2"] and description["nodes"][0]["settings"]["tag"] == ""
    run_workflow(wf, order_line(), options(tmp_path))
    before = sorted(p.name for p in (tmp_path / "out").iterdir())
    plan = plan_workflow(wf, order_line(), options(tmp_path))
    assert [n.cache_hit for n in plan.nodes] == [True, True, True]
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == before


def test_ui_never_changes_cache_keys(tmp_path):
    wf = chain(2)
    moved = wf.model_copy(deep=True)
    moved.nodes[0].ui = {"position": [100, 200], "colour": "#ff0000"}
    moved.ui = {"zoom": 2}
    keys = [n.cache_key for n in plan_workflow(wf, order_line(), options(tmp_path)).nodes]
    assert keys == [n.cache_key for n in plan_workflow(moved, order_line(), options(tmp_path)).nodes]
