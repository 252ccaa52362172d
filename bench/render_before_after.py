"""`hartomat render` as a whole command, this checkout against another one, in one run.

Run by hand: `.venv/bin/python bench/render_before_after.py --base DIR [--repeat 3] [--size 256]
[--samples 16]` where DIR is another checkout (e.g. `git archive REV | tar -x -C DIR`, with its
generated files: engine/templates/*.blend). Each round renders every sample fixture once per side,
the side that goes first alternating, as a fresh process with `--no-cache` (no node cache serves
it; PYTHONPATH=DIR runs the other checkout's engine with this venv's bpy and OCP). Prints the median
wall time per fixture and side and their ratio.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

FIXTURES = ("bearing", "single", "nested", "inch")


def make_fixtures(folder: Path) -> dict[str, Path]:
    from engine.cad import samples

    makers = {"bearing": samples.make_bearing_step, "single": samples.make_single_part_step,
              "nested": samples.make_nested_assembly_step, "inch": samples.make_inch_part_step}
    return {name: makers[name](folder / f"{name}.step") for name in FIXTURES}


def render_once(tree: Path, step: Path, out: Path, size: int, samples: int) -> float:
    env = {**os.environ, "PYTHONPATH": str(tree)}
    command = [sys.executable, "-c", "import sys; from engine.cli import main; sys.exit(main())", "render", str(step),
               "--resolution", str(size), "--samples", str(samples), "--no-cache", "-o", str(out)]
    started = time.perf_counter()
    done = subprocess.run(command, env=env, capture_output=True, text=True, cwd=tree)
    took = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"{tree}: render of {step.name} failed:\n{done.stderr[-2000:]}")
    return took


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", required=True, help="the other checkout (before)")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--samples", type=int, default=16)
    args = parser.parse_args()
    sides = {"before": Path(args.base).resolve(), "after": ROOT}
    times: dict[tuple[str, str], list[float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        steps = make_fixtures(work)
        for round_no in range(args.repeat):
            order = list(sides.items()) if round_no % 2 == 0 else list(reversed(sides.items()))
            for name, step in steps.items():
                for side, tree in order:
                    out = work / f"{side}-{name}-{round_no}"
                    times.setdefault((name, side), []).append(render_once(tree, step, out, args.size, args.samples))
    print("| fixture | before (median s) | after (median s) | after/before |\n|---|---:|---:|---:|")
    for name in FIXTURES:
        before, after = (statistics.median(times[(name, side)]) for side in ("before", "after"))
        print(f"| {name} | {before:.2f} | {after:.2f} | {after / before:.2f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
