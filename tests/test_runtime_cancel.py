"""Cancel between and inside nodes, progress events, and a run killed mid-way (SIGKILL)."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from process_support import process_alive
from runtime_helpers import chain, edge, graph, node, order_line, register_needing, runtime_registry

from engine.runtime import ProgressEvent, RunOptions, run_workflow
from engine.runtime.store import RunStore

TESTS = Path(__file__).parent


def options(tmp_path: Path, **extra) -> RunOptions:
    return RunOptions(out_dir=tmp_path / "out", registry=runtime_registry(), use_cache=False,
                      capabilities=frozenset(), **extra)


def test_progress_events_per_node(tmp_path):
    events: list[ProgressEvent] = []
    wf = graph([node("a", "t_noop"), node("s", "t_slow", seconds=0.1)], [edge("a", "s")])
    result = run_workflow(wf, order_line(), options(tmp_path, progress=events.append))
    assert result.status == "succeeded"
    assert [(e.node_id, e.status) for e in events if e.status != "running" or e.fraction == 0] == [
        ("a", "running"), ("a", "succeeded"), ("s", "running"), ("s", "succeeded")]
    assert any(e.node_id == "s" and e.status == "running" and e.fraction > 0 and e.message == "working"
               for e in events)


def test_cancel_between_nodes(tmp_path):
    done: list[str] = []

    def progress(event: ProgressEvent) -> None:
        if event.status == "succeeded":
            done.append(event.node_id)

    result = run_workflow(chain(5), order_line(), options(tmp_path, progress=progress,
                                                          cancel=lambda: len(done) >= 2))
    assert result.status == "cancelled"
    assert [r.status for r in result.node_results.values()] == ["succeeded", "succeeded", "cancelled",
                                                                "cancelled", "cancelled"]
    with RunStore(result.store_path) as store:
        assert store.get_run(result.run_id)["status"] == "cancelled"


def test_cancel_inside_a_long_node(tmp_path):
    started = time.monotonic()
    wf = graph([node("s", "t_slow", seconds=60), node("after", "t_noop")], [edge("s", "after")])
    result = run_workflow(wf, order_line(), options(tmp_path, cancel=lambda: time.monotonic() - started > 0.3))
    assert result.status == "cancelled"
    assert result.node_results["s"].status == "cancelled"
    assert result.node_results["s"].error["type"] == "CancelledError"
    assert result.node_results["after"].status == "cancelled"


def test_cancel_reaches_a_node_in_the_process_pool(tmp_path):
    started = time.monotonic()
    wf = graph([node("p", "t_proc", seconds=60)], [])
    result = run_workflow(wf, order_line(), options(tmp_path, max_workers=1,
                                                    cancel=lambda: time.monotonic() - started > 0.5))
    assert result.status == "cancelled" and result.node_results["p"].status == "cancelled"


CRASH_SCRIPT = """
import sys
sys.path.insert(0, {tests!r})
from pathlib import Path
from runtime_helpers import graph, node, edge, order_line, runtime_registry
from engine.runtime import RunOptions, run_workflow
if __name__ == "__main__":
    wf = graph([node("a", "t_noop"), node("slow", {step!r}, seconds=120), node("b", "t_noop")],
               [edge("a", "slow"), edge("slow", "b")])
    run_workflow(wf, order_line(), RunOptions(out_dir=Path({out!r}), registry=runtime_registry(),
                                              use_cache=False, capabilities=frozenset()))
"""


def _start_and_kill(tmp_path: Path, step: str) -> Path:
    """Run a graph whose node 'slow' takes minutes in a child process; SIGKILL it mid-node."""
    out = tmp_path / "out"
    script = tmp_path / "crash_run.py"
    script.write_text(CRASH_SCRIPT.format(tests=str(TESTS), out=str(out), step=step))
    process = subprocess.Popen([sys.executable, str(script)])
    try:
        _wait_for_running(out / "hartomat-runs.sqlite")
        pid_file = out / "nodes" / "slow" / "pid"
        deadline = time.monotonic() + 60
        while not pid_file.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        os.kill(process.pid, signal.SIGKILL)
    finally:
        process.wait(timeout=30)
    assert process.returncode == -signal.SIGKILL
    return out


def _wait_for_running(store_path: Path, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if store_path.exists():
            try:
                with sqlite3.connect(store_path) as conn:
                    row = conn.execute("SELECT 1 FROM node_attempts WHERE node_id='slow' AND status='running'").fetchone()
                if row:
                    return
            except sqlite3.OperationalError:
                pass
        time.sleep(0.05)
    raise AssertionError("the slow node never started")


def test_killed_run_leaves_a_consistent_store(tmp_path):
    out = _start_and_kill(tmp_path, "t_slow")
    with RunStore(out / "hartomat-runs.sqlite") as store:
        (run,) = store.list_runs()
        assert run["status"] == "interrupted" and run["ended"] is not None
        attempts = {a["node_id"]: a["status"] for a in store.attempts(run["id"])}
        assert attempts == {"a": "succeeded", "slow": "interrupted"}
        # and the store still takes new runs
    result = run_workflow(chain(2), order_line(), options(tmp_path))
    assert result.status == "succeeded"
    with RunStore(out / "hartomat-runs.sqlite") as store:
        assert [r["status"] for r in store.list_runs()] == ["succeeded", "interrupted"]


def test_cancel_stops_a_node_in_a_helper_interpreter(tmp_path):
    registry = register_needing(runtime_registry(), "t_slow", "t_slow_ocp", ("ocp",))
    started = time.monotonic()
    wf = graph([node("cad", "t_slow_ocp", seconds=60)], [])
    result = run_workflow(wf, order_line(), RunOptions(
        out_dir=tmp_path / "out", registry=registry, use_cache=False, capabilities=frozenset(),
        helper_python=sys.executable, cancel=lambda: time.monotonic() - started > 1.0))
    cad = result.node_results["cad"]
    assert result.status == "cancelled" and cad.status == "cancelled"
    assert "in helper" in cad.error["message"] and time.monotonic() - started < 30


def test_pool_workers_of_a_killed_run_exit_too(tmp_path):
    out = _start_and_kill(tmp_path, "t_proc")
    worker = int((out / "nodes" / "slow" / "pid").read_text())
    deadline = time.monotonic() + 20
    while process_alive(worker) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not process_alive(worker), f"pool worker {worker} outlived its run"
    with RunStore(out / "hartomat-runs.sqlite") as store:
        assert store.list_runs()[0]["status"] == "interrupted"
