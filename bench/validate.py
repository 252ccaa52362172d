"""Validation time of generated graphs of 100 to 30,000 nodes: is growth linear?

Run: .venv/bin/python bench/validate.py [--write]
The graphs tile the migrated `multi_angle` preset (15 nodes, 34 edges) with suffixed ids, so
every copy is valid and each edge crosses real ports. `--write` replaces the `## Validation`
section of docs/performance.md.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from typing import Any

from perfdoc import machine, write_section  # bench/ is on the path when run as a script

from engine.legacy.presets import preset_workflow
from engine.model.validation import validate_workflow
from engine.model.workflow import Workflow, load_workflow_text

SIZES = (100, 1_000, 3_000, 10_000, 30_000)


def generate_graph(node_count: int, preset: str = "multi_angle") -> dict[str, Any]:
    """A valid workflow document of exactly `node_count` nodes (a truncated last tile is kept valid)."""
    tile = preset_workflow(preset).canonical()
    nodes: list[dict[str, Any]] = []
    edges: list[dict[str, Any]] = []
    copy = 0
    while len(nodes) < node_count:
        room = node_count - len(nodes)
        # a partial tile keeps the order_line_setup node only: a lone source is valid on its own
        part = tile["nodes"] if room >= len(tile["nodes"]) else tile["nodes"][:1] * room
        for index, node in enumerate(part):
            suffix = f"_{copy}" if room >= len(tile["nodes"]) else f"_{copy}_{index}"
            nodes.append({**node, "id": node["id"] + suffix})
        if room >= len(tile["nodes"]):
            edges.extend({**e, "source": f"{e['source']}_{copy}", "target": f"{e['target']}_{copy}"}
                         for e in tile["edges"])
        copy += 1
    return {"version": 1, "name": f"generated {node_count}", "family": preset, "nodes": nodes, "edges": edges}


def time_validation(node_count: int, repeats: int) -> dict[str, float]:
    text = json.dumps(generate_graph(node_count))
    best_load = best_validate = float("inf")
    for _ in range(repeats):
        start = time.process_time()
        workflow: Workflow = load_workflow_text(text)
        loaded = time.process_time()
        report = validate_workflow(workflow)
        done = time.process_time()
        assert report.ok, report.problems[:3]
        best_load, best_validate = min(best_load, loaded - start), min(best_validate, done - loaded)
    return {"nodes": node_count, "edges": len(workflow.edges), "load_s": best_load, "validate_s": best_validate}


def section(rows: list[dict[str, float]]) -> str:
    base = rows[0]
    lines = [
        "## Validation", "",
        "Command: `.venv/bin/python bench/validate.py --write` (best of 5 runs per size, CPU time of the",
        "process; generated graphs tiling the migrated `multi_angle` preset, all valid).", "",
        f"Machine: {machine()}; shared with other jobs, so treat small differences as noise.", "",
        "| nodes | edges | load (JSON → model) | validate | validate µs/node | validate time vs 100 nodes "
        "| node ratio |",
        "|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for row in rows:
        lines.append(
            f"| {row['nodes']:,} | {row['edges']:,} | {row['load_s'] * 1000:.1f} ms | "
            f"{row['validate_s'] * 1000:.1f} ms | {row['validate_s'] / row['nodes'] * 1e6:.1f} | "
            f"{row['validate_s'] / base['validate_s']:.1f}× | {row['nodes'] / base['nodes']:.0f}× |")
    by_size = {int(r["nodes"]): r for r in rows}
    ten, thousand, thirty = by_size[10_000], by_size[1_000], by_size[30_000]

    def per_node(row: dict[str, float], ref: dict[str, float]) -> float:
        return (row["validate_s"] / row["nodes"]) / (ref["validate_s"] / ref["nodes"])

    lines += ["", "Target: linear growth, 10,000 nodes well under a second. Measured: 10,000 nodes validate in "
              f"{ten['validate_s'] * 1000:.0f} ms (load {ten['load_s'] * 1000:.0f} ms). Time per node: 10,000 "
              f"against 1,000 nodes {per_node(ten, thousand):.2f}×, 30,000 against 10,000 "
              f"{per_node(thirty, ten):.2f}× (1.00× = perfectly linear). Every pass (nodes and settings, edges "
              "and ports, Kahn's cycle search) is one walk over the nodes or edges, with port lookups cached "
              "per step. Loading and validation pause CPython's cyclic garbage collector "
              "(`engine.model.workflow.gc_paused`): before that, each collection re-walked the growing heap of "
              "model objects and time per node doubled from 1,000 to 10,000 nodes. The growth that is left "
              "comes from the graph outgrowing the CPU caches and from the other jobs on this shared machine "
              f"(load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores at the end of this run): "
              "repeated runs differ by up to a third.", ""]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write", action="store_true", help="write the section into docs/performance.md")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    rows = [time_validation(n, args.repeats) for n in SIZES]
    text = section(rows)
    print(text)
    if args.write:
        write_section("Validation", text)


if __name__ == "__main__":
    main()
