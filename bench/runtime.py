"""Per-node overhead of the runtime (executor + run store) on graphs of no-op nodes.

    .venv/bin/python bench/runtime.py [--write]

Times run_workflow on a chain (1,000 nodes, plus 250 and 500 to check linear growth) and on a
wide graph (2,000 nodes: one root, 1,998 parallel nodes, one sink), with the node cache off and
on. Overhead per node = (run time - time of calling the same no-op executor directly) / nodes.
Target (issue 3): under 1 ms per node, growing linearly. `--write` puts a `## Runtime` section
into docs/performance.md.
"""

from __future__ import annotations

import argparse  # noqa: E402
import os  # noqa: E402
import statistics  # noqa: E402
import sys
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from runtime_helpers import chain, noop, order_line, runtime_registry, wide  # noqa: E402

from bench.perfdoc import machine, write_section  # noqa: E402
from engine.model.artifacts import Artifact  # noqa: E402
from engine.model.context import NodeCall, WorkflowContext  # noqa: E402
from engine.model.workflow import Workflow  # noqa: E402
from engine.runtime import RunOptions, run_workflow  # noqa: E402
from engine.runtime.options import RunResult  # noqa: E402

TARGET_MS = 1.0


def bare_calls(count: int) -> float:
    """Seconds to call the no-op executor `count` times with a hand-made NodeCall (the baseline)."""
    ctx = WorkflowContext(order_line=order_line(), run_dir=Path(tempfile.gettempdir()))
    definition = runtime_registry().get("t_noop")
    started = time.perf_counter()
    for i in range(count):
        call = NodeCall(node_id=f"n{i}", step="t_noop", settings=definition.settings_model(),
                        inputs={"inp": [Artifact(kind="bbox")]}, workdir=ctx.run_dir, context=ctx)
        noop(call)
    return time.perf_counter() - started


def timed_run(workflow: Workflow, use_cache: bool, folder: Path) -> tuple[float, float, RunResult]:
    """Wall and CPU seconds of one run_workflow (CPU time is steadier on a shared machine)."""
    options = RunOptions(out_dir=folder, registry=runtime_registry(), use_cache=use_cache,
                         cache_dir=folder / "cache", capabilities=frozenset())
    started, cpu = time.perf_counter(), time.process_time()
    result = run_workflow(workflow, order_line(), options)
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
    assert result.status == "succeeded", result.error
    return elapsed, cpu, result


def measure(name: str, workflow: Workflow, use_cache: bool, repeats: int) -> dict[str, float | str | int]:
    count = len(workflow.nodes)
    walls, cpus = [], []
    for _ in range(repeats):
        with tempfile.TemporaryDirectory() as tmp:
            wall, cpu, _ = timed_run(workflow, use_cache, Path(tmp))
            walls.append(wall)
            cpus.append(cpu)
    baseline = min(bare_calls(count) for _ in range(3))
    best = min(walls)
    per_node_ms = (best - baseline) / count * 1000
    return {"graph": name, "nodes": count, "cache": "on" if use_cache else "off", "run_s": best,
            "median_s": statistics.median(walls), "cpu_ms": (min(cpus) - baseline) / count * 1000,
            "baseline_s": baseline, "overhead_ms": per_node_ms, "vs_target": per_node_ms / TARGET_MS}


def table(rows: list[dict[str, float | str | int]]) -> str:
    lines = ["| graph | nodes | cache | run, best (s) | run, median (s) | direct calls (s) | "
             "overhead per node, wall (ms) | of 1 ms target | overhead per node, CPU (ms) |",
             "|---|---:|---|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        lines.append(f"| {r['graph']} | {r['nodes']} | {r['cache']} | {r['run_s']:.3f} | {r['median_s']:.3f} | "
                     f"{r['baseline_s']:.4f} | {r['overhead_ms']:.3f} | {r['vs_target']:.2f}x | {r['cpu_ms']:.3f} |")
    return "\n".join(lines)


def section(rows: list[dict[str, float | str | int]], growth: float, command: str) -> str:
    load = ", ".join(f"{v:.1f}" for v in os.getloadavg())
    where = f"{machine()}, load average {load} at the end"
    return (
        "## Runtime\n\n"
        f"Command: `{command}` (best and median of the runs; machine: {where}; SQLite store on local disk, "
        "WAL).\n\n"
        "Per-node overhead of the executor and run store on graphs of no-op nodes: best run time minus the "
        "time of calling the same executor directly, divided by the number of nodes (the CPU column does the "
        "same with the process's CPU time, which other work on a shared machine disturbs less). Each node writes two store "
        "transactions (attempt started, attempt finished); with the cache on, each node also looks its key up "
        "and stores its entry in the cache index (one more SQLite transaction; no files for JSON-only "
        "outputs). Fixed costs per run (validation, planning, opening the store, run.json) are included, so "
        "small graphs show a higher figure per node.\n\n"
        f"{table(rows)}\n\n"
        f"Linear growth: per-node overhead of the 1,000-node chain divided by that of the 250-node chain = "
        f"{growth:.2f} (1.00 = perfectly linear; below 1 the fixed costs per run are being spread).\n\n"
        "Two changes found by profiling this benchmark: nodes whose outputs are all JSON data get no work "
        "folder created up front (a mkdir cost 0.2-2 ms on this shared disk), and cache manifests moved from "
        "one file per entry into one SQLite index (creating a file cost 1-3 ms; the cache-on rows were "
        "5-7 ms per node before).\n"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--write", action="store_true", help="write the ## Runtime section of docs/performance.md")
    args = parser.parse_args()
    rows = [measure(f"chain {n}", chain(n), False, args.repeats) for n in (250, 500, 1000)]
    rows.append(measure("wide 2000", wide(2000), False, args.repeats))
    rows.append(measure("chain 1000", chain(1000), True, args.repeats))
    rows.append(measure("wide 2000", wide(2000), True, args.repeats))
    growth = float(rows[2]["overhead_ms"]) / float(rows[0]["overhead_ms"])
    command = " ".join([".venv/bin/python", "bench/runtime.py", *sys.argv[1:]])
    text = section(rows, growth, command)
    print(text)
    if args.write:
        write_section("Runtime", text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
