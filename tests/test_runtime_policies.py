"""Retry and failure policies, timeouts, process pool, helper interpreter, missing capability."""

from __future__ import annotations

import sys
from pathlib import Path

from runtime_helpers import (
    TEST_NODES,
    edge,
    fake_registry,
    fake_step_file,
    graph,
    node,
    order_line,
    register_needing,
    runtime_registry,
)

from engine.model.node_definition import DEFAULT_TIMEOUTS, NodeDefinition
from engine.model.registry import REGISTRY
from engine.runtime import RunOptions, run_workflow
from engine.runtime.store import RunStore


def options(tmp_path: Path, **extra) -> RunOptions:
    extra.setdefault("registry", runtime_registry())
    extra.setdefault("capabilities", frozenset())
    return RunOptions(out_dir=tmp_path / "out", use_cache=False, **extra)


def attempts(result, node_id: str, phase: str = "graph") -> list[dict]:
    with RunStore(result.store_path) as store:
        return [a for a in store.attempts(result.run_id) if a["node_id"] == node_id and a["phase"] == phase]


def test_retries_until_success_and_records_every_attempt(tmp_path):
    wf = graph([node("f", "t_flaky", policy={"max_attempts": 3, "backoff_s": 0.01}, fail_times=2)], [])
    result = run_workflow(wf, order_line(), options(tmp_path))
    assert result.status == "succeeded"
    rows = attempts(result, "f")
    assert [(a["attempt"], a["status"]) for a in rows] == [(1, "failed"), (2, "failed"), (3, "succeeded")]
    assert rows[0]["error"]["message"] == "flaky failure 1" and "Traceback" in rows[0]["error"]["traceback"]
    assert result.node_results["f"].attempt == 3


def test_retries_exhausted_fail_the_run(tmp_path):
    wf = graph([node("f", "t_flaky", policy={"max_attempts": 2}, fail_times=5)], [])
    result = run_workflow(wf, order_line(), options(tmp_path))
    assert result.status == "failed" and "flaky failure 2" in result.error
    assert [a["status"] for a in attempts(result, "f")] == ["failed", "failed"]


def _two_branches(policy: dict) -> object:
    # a -> boom -> after ; a -> other -> other2 (independent branch, later in JSON order)
    return graph([node("a", "t_noop"), node("boom", "t_boom", policy=policy), node("after", "t_noop"),
                  node("other", "t_noop"), node("other2", "t_noop")],
                 [edge("a", "boom"), edge("boom", "after"), edge("a", "other"), edge("other", "other2")])


def test_on_fail_fail_run_stops_the_run(tmp_path):
    result = run_workflow(_two_branches({"on_fail": "fail_run"}), order_line(), options(tmp_path))
    statuses = {k: r.status for k, r in result.node_results.items()}
    assert result.status == "failed" and not result.fell_back
    assert statuses == {"a": "succeeded", "boom": "failed", "after": "skipped", "other": "skipped",
                        "other2": "skipped"}
    assert "node 'boom'" in result.error and "boom in boom" in result.error
    logs = result.node_results["boom"].logs
    assert logs[-1].endswith("about to fail")  # stdout captured per node ...
    assert logs[0].endswith("[warning] probe: careful now")  # ... and Python logging
    assert not any("careful" in line for r in result.node_results.values() if r.node_id != "boom"
                   for line in r.logs)


def test_progress_callbacks_print_to_the_terminal_not_into_the_node_log(tmp_path, capsys):
    # call.progress runs the caller's callback from inside the node, where stdout is the node's log
    def show(event) -> None:
        if event.status == "running" and event.message == "working":
            print(f"progress {event.node_id}", file=sys.stderr)
            print(f"progress {event.node_id}")

    wf = graph([node("s", "t_slow", seconds=0.1)], [])
    result = run_workflow(wf, order_line(), options(tmp_path, progress=show))
    captured = capsys.readouterr()
    assert result.status == "succeeded"
    assert "progress s" in captured.err and "progress s" in captured.out
    assert not any("progress s" in line for line in result.node_results["s"].logs)


def test_on_fail_continue_finishes_independent_branches(tmp_path):
    result = run_workflow(_two_branches({"on_fail": "continue"}), order_line(), options(tmp_path))
    statuses = {k: r.status for k, r in result.node_results.items()}
    assert statuses == {"a": "succeeded", "boom": "failed", "after": "skipped", "other": "succeeded",
                        "other2": "succeeded"}
    assert result.status == "failed"
    skipped = attempts(result, "after")
    assert skipped[0]["status"] == "skipped" and "upstream node 'boom' failed" in skipped[0]["error"]["message"]


def _still_graph(fail: bool, policy: dict | None = None):
    from engine.legacy.presets import preset_workflow

    wf = preset_workflow("still")
    still = wf.node("still")
    if fail:
        still.params["view_name"] = "fail"
    if policy:
        still.policy = still.policy.model_validate(policy) if still.policy else None
        from engine.model.workflow import NodePolicy

        still.policy = NodePolicy.model_validate(policy)
    return wf


def test_on_fail_fallback_legacy_reruns_legacy(tmp_path):
    wf = _still_graph(fail=True, policy={"on_fail": "fallback_legacy"})
    result = run_workflow(wf, order_line(fake_step_file(tmp_path)), options(
        tmp_path, registry=fake_registry(), capabilities=frozenset({"bpy", "ocp"}), max_workers=0))
    assert result.fell_back and result.status == "succeeded"
    assert result.node_results["still"].status == "failed"
    assert result.legacy_results["still"].status == "succeeded"
    primary = [a for a in result.published if a.primary]
    assert len(primary) == 1 and primary[0].node_id == "still" and Path(primary[0].path).is_file()
    with RunStore(result.store_path) as store:
        run = store.get_run(result.run_id)
    assert run["fell_back"] and run["status"] == "succeeded" and "graph failed" in run["error"]
    assert {a["phase"] for a in run["attempts"]} == {"graph", "legacy"}


def test_fail_run_does_not_fall_back_unless_asked(tmp_path):
    wf = _still_graph(fail=True)
    common = {"registry": fake_registry(), "capabilities": frozenset({"bpy", "ocp"}), "max_workers": 0}
    result = run_workflow(wf, order_line(fake_step_file(tmp_path)), options(tmp_path / "a", **common))
    assert result.status == "failed" and not result.fell_back and not result.published
    result = run_workflow(wf, order_line(fake_step_file(tmp_path)), options(tmp_path / "b", fallback=True, **common))
    assert result.status == "succeeded" and result.fell_back


def test_timeout_stops_a_slow_inline_node(tmp_path):
    wf = graph([node("s", "t_slow", policy={"timeout_s": 0.2, "max_attempts": 2}, seconds=30)], [])
    result = run_workflow(wf, order_line(), options(tmp_path))
    rows = attempts(result, "s")
    assert [a["error"]["type"] for a in rows] == ["NodeTimeoutError", "NodeTimeoutError"]
    assert result.status == "failed"


def test_a_node_without_a_policy_timeout_stops_at_its_kinds_default(tmp_path):
    """No graph policy: the node's definition (else its family, DEFAULT_TIMEOUTS) bounds an attempt."""
    registry = runtime_registry()
    definition, executor = TEST_NODES["t_slow"]
    registry.register(NodeDefinition.model_validate({**definition.model_dump(), "key": "t_slow_kind",
                                                     "timeout_s": 0.3}), executor)
    wf = graph([node("s", "t_slow_kind", seconds=5)], [])
    result = run_workflow(wf, order_line(), RunOptions(out_dir=tmp_path / "out", registry=registry, use_cache=False,
                                                       capabilities=frozenset()))
    error = attempts(result, "s")[0]["error"]
    assert error["type"] == "NodeTimeoutError" and "ran past its timeout" in error["message"], error
    assert result.status == "failed"


def test_every_node_kind_has_a_default_timeout():
    for definition in REGISTRY:
        assert definition.family in DEFAULT_TIMEOUTS, definition.key  # none falls back silently
        assert 0 < definition.attempt_timeout() <= 24 * 3600, definition.key
    assert REGISTRY.get("blender_still").attempt_timeout() == DEFAULT_TIMEOUTS["render"]
    assert REGISTRY.get("occ_glb_export").attempt_timeout() == DEFAULT_TIMEOUTS["cad"]


def test_process_nodes_run_in_spawned_pool_at_the_same_time(tmp_path):
    # p1 and p2 each wait for the other: they succeed only if independent branches overlap
    meet = tmp_path / "meet"
    meet.mkdir()
    wf = graph([node("p1", "t_meet", source=str(meet), tag="p1", seconds=60),
                node("p2", "t_meet", source=str(meet), tag="p2", seconds=60), node("i", "t_noop"),
                node("boom", "t_proc_boom", policy={"on_fail": "continue"}), node("sink", "t_noop")],
               [edge("p1", "sink"), edge("p2", "sink"), edge("i", "sink")])
    result = run_workflow(wf, order_line(), options(tmp_path, max_workers=3))
    r = result.node_results
    assert [r[n].status for n in ("p1", "p2", "i", "sink")] == ["succeeded"] * 4, r["p1"].error
    assert r["boom"].status == "failed" and r["boom"].error["message"] == "boom in boom"
    assert r["boom"].logs and r["boom"].logs[-1].endswith("about to fail")  # logs come back from the child
    assert r["sink"].started >= max(r["p1"].ended, r["p2"].ended)


def _needs_ocp(registry):
    return register_needing(registry, "t_noop", "t_ocp", ("ocp",))


def test_missing_capability_fails_with_a_clear_message(tmp_path):
    wf = graph([node("cad", "t_ocp")], [])
    result = run_workflow(wf, order_line(), options(tmp_path, registry=_needs_ocp(runtime_registry())))
    error = result.node_results["cad"].error
    assert error["type"] == "MissingCapability" and "needs capability ocp" in error["message"]
    assert "helper" in error["message"]


def test_helper_interpreter_runs_nodes_this_one_cannot(tmp_path):
    wf = graph([node("a", "t_noop"), node("cad", "t_ocp", tag="via helper")], [edge("a", "cad")])
    helper = str(Path(sys.executable))
    result = run_workflow(wf, order_line(), options(tmp_path, registry=_needs_ocp(runtime_registry()),
                                                    helper_python=helper))
    cad = result.node_results["cad"]
    assert result.status == "succeeded", cad.error
    assert cad.interpreter == helper and cad.outputs[0].data == {"node": "cad", "tag": "via helper"}
    assert attempts(result, "cad")[0]["interpreter"] == helper


def test_timeout_stops_a_node_in_the_process_pool(tmp_path):
    wf = graph([node("p", "t_proc", policy={"timeout_s": 0.5}, seconds=60)], [])
    result = run_workflow(wf, order_line(), options(tmp_path, max_workers=1))
    p = result.node_results["p"]
    assert result.status == "failed" and p.error["type"] == "NodeTimeoutError"
    assert p.interpreter and p.duration < 30
