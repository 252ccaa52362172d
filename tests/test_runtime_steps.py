"""A run stepped by a UI's thread (`run_steps` with `ui_thread`): main-thread nodes one per turn on
the caller's thread, the rest on worker threads or in the helper interpreter, the caller's thread
free between turns, cancel and early close recorded, a bad graph refused before anything is written."""

from __future__ import annotations

import json
import os
import sys
import threading
from pathlib import Path

import pytest
from runtime_helpers import edge, graph, node, order_line, runtime_registry

from engine.runtime import PlanError, RunOptions, run_steps


def options(tmp_path: Path, **extra) -> RunOptions:
    extra.setdefault("registry", runtime_registry())
    extra.setdefault("capabilities", frozenset())
    return RunOptions(out_dir=tmp_path / "out", use_cache=False, ui_thread=True, **extra)


def drive(steps, between=None) -> tuple[object, int]:
    """Turns the caller takes until the run ends; `between(turn)` runs after each turn."""
    turns = 0
    while True:
        try:
            next(steps)
        except StopIteration as done:
            return done.value, turns
        turns += 1
        if between is not None:
            between(turns)


def test_main_thread_nodes_run_on_the_callers_thread_the_rest_off_it(tmp_path):
    wf = graph([node("pure", "t_where"), node("render", "t_main"), node("cad", "t_proc", seconds=0.1)],
               [edge("pure", "render"), edge("render", "cad")])
    result, _ = drive(run_steps(wf, order_line(), options(tmp_path, helper_python=sys.executable)))
    assert result.status == "succeeded", result.error
    data = {n: r.outputs[0].data for n, r in result.node_results.items()}
    assert data["render"]["thread"] == threading.current_thread().name
    assert data["pure"]["thread"] != threading.current_thread().name and data["pure"]["pid"] == os.getpid()
    cad = result.node_results["cad"]  # execution="process": in the helper, whose record names it
    assert cad.interpreter == sys.executable and cad.pid not in (None, os.getpid())
    assert result.node_results["render"].pid == os.getpid() == result.node_results["pure"].pid
    summary = json.loads((tmp_path / "out" / "run.json").read_text())
    assert summary["nodes"]["render"]["pid"] == os.getpid()


def test_each_turn_runs_at_most_one_main_thread_node(tmp_path):
    wf = graph([node(f"m{i}", "t_main") for i in range(4)], [edge(f"m{i}", f"m{i + 1}") for i in range(3)])
    done: list[str] = []
    seen: list[int] = []
    opts = options(tmp_path, progress=lambda e: done.append(e.node_id) if e.status == "succeeded" else None)
    result, turns = drive(run_steps(wf, order_line(), opts), between=lambda _turn: seen.append(len(done)))
    assert result.status == "succeeded"
    assert seen[0] == 0  # the first turn opens the run and runs nothing
    assert all(b - a <= 1 for a, b in zip(seen, seen[1:], strict=False)), seen
    assert done == ["m0", "m1", "m2", "m3"]


def test_the_callers_thread_is_free_while_an_off_thread_node_works(tmp_path):
    wf = graph([node("slow", "t_slow", seconds=1.0), node("after", "t_main")], [edge("slow", "after")])
    running: list[int] = []
    statuses: dict[str, str] = {}
    opts = options(tmp_path, progress=lambda e: statuses.__setitem__(e.node_id, e.status))
    result, _ = drive(run_steps(wf, order_line(), opts, wait=0.01),
                      between=lambda turn: running.append(turn) if statuses.get("slow") == "running" else None)
    assert result.status == "succeeded"
    assert len(running) > 5, running  # the caller got its thread back many times during the node


def test_cancel_between_turns_stops_the_run(tmp_path):
    wf = graph([node("slow", "t_slow", seconds=30), node("after", "t_main")], [edge("slow", "after")])
    flag = {"cancel": False}
    opts = options(tmp_path, cancel=lambda: flag["cancel"])
    result, _ = drive(run_steps(wf, order_line(), opts, wait=0.01),
                      between=lambda turn: flag.__setitem__("cancel", turn > 10))
    assert result.status == "cancelled"
    assert result.node_results["slow"].status == "cancelled"
    assert result.node_results["after"].status == "cancelled"


def test_closing_the_steps_early_records_the_run_as_cancelled(tmp_path):
    wf = graph([node(f"m{i}", "t_main") for i in range(3)], [edge("m0", "m1"), edge("m1", "m2")])
    steps = run_steps(wf, order_line(), options(tmp_path))
    next(steps)
    next(steps)
    steps.close()
    summary = json.loads((tmp_path / "out" / "run.json").read_text())
    assert summary["status"] == "cancelled" and summary["error"] == "run abandoned before its end"


def test_a_bad_graph_fails_on_the_first_turn_with_nothing_written(tmp_path):
    wf = graph([node("a", "t_main"), node("b", "t_main")], [edge("a", "b"), edge("b", "a")])
    with pytest.raises(PlanError, match="cycle"):
        next(run_steps(wf, order_line(), options(tmp_path)))
    assert not (tmp_path / "out").exists()


def test_a_node_waiting_on_its_hosts_job_gives_the_caller_a_turn_per_step(tmp_path):
    """The still in Blender's editor waits on a render job this way: the caller's thread (the UI)
    gets it back at every step, and off-thread nodes finish meanwhile."""
    wf = graph([node("job", "t_job", seconds=0.6), node("side", "t_slow", seconds=0.1),
                node("after", "t_main")], [edge("job", "after")])
    statuses: dict[str, str] = {}
    during: list[str] = []
    opts = options(tmp_path, progress=lambda e: statuses.__setitem__(e.node_id, e.status))
    result, _ = drive(run_steps(wf, order_line(), opts, wait=0.01),
                      between=lambda _turn: during.append(statuses.get("side", "")) if statuses.get("job") == "running"
                      else None)
    assert result.status == "succeeded", result.error
    job = result.node_results["job"].outputs[0].data
    assert job["stepped"] and job["turns"] > 5 and job["thread"] == threading.current_thread().name, job
    assert len(during) >= job["turns"], (len(during), job)  # one turn of the caller per step of the node
    assert "succeeded" in during  # the thread node finished while the job node was still waiting
    assert result.node_results["after"].status == "succeeded"


def test_a_run_nobody_steps_waits_on_the_job_in_one_call(tmp_path):
    """Farm workers and `hartomat render`: the same node runs to its end inside run_workflow."""
    from engine.runtime import run_workflow

    wf = graph([node("job", "t_job", seconds=0.2), node("after", "t_main")], [edge("job", "after")])
    result = run_workflow(wf, order_line(), RunOptions(out_dir=tmp_path / "out", use_cache=False,
                                                       registry=runtime_registry(), capabilities=frozenset()))
    assert result.status == "succeeded", result.error
    job = result.node_results["job"].outputs[0].data
    assert not job["stepped"] and job["turns"] > 5, job


def test_a_job_stopped_by_the_host_cancels_the_run_and_nothing_after_it_runs(tmp_path):
    """Esc on Blender's render job: the node is cancelled, and so is the run (not 'succeeded')."""
    wf = graph([node("job", "t_job", seconds=0.2, tag="stopped"), node("after", "t_main")], [edge("job", "after")])
    result, _ = drive(run_steps(wf, order_line(), options(tmp_path), wait=0.01))
    assert result.status == "cancelled", (result.status, result.error)
    assert result.node_results["job"].status == "cancelled"
    assert result.node_results["after"].status == "cancelled"
    assert result.node_results["after"].outputs == []
    summary = json.loads((tmp_path / "out" / "run.json").read_text())
    assert summary["status"] == "cancelled", summary
