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
