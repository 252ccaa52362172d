"""`hartomat convert` as a whole process against the minimal OCP script (bench/cad.py --serial:
`import OCP` and only the XCAF read, meshing and GLB write), for one file and for a batch.

The files: the PRODUCTS generated products of bench/farm_throughput.py (bearings, brackets,
nested and grid assemblies). Per file, `hartomat convert FILE -o GLB --no-cache` (a fresh work
folder each time: no cache serves anything) against the minimal script on the same file, as
processes; then one `hartomat convert --no-cache` of all the files in one call against the
minimal scripts' summed times. Each figure is the best of --repeat runs, interleaved (the machine
may be shared; the best run is the least disturbed one).

Usage: .venv/bin/python bench/cli_batch.py [--products 12] [--repeat 3] [--write]
(--write replaces `## CLI: one file and a batch` in docs/performance.md)
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

HARTOMAT = [sys.executable, "-m", "engine"]


def timed(command: list[str]) -> float:
    started = time.perf_counter()
    subprocess.run(command, check=True, capture_output=True, timeout=1800, cwd=ROOT)
    return time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--products", type=int, default=12)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--write", action="store_true")
    args = parser.parse_args()
    from bench.farm_throughput import products
    from bench.perfdoc import machine, write_section

    load = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="hartomat-cli-") as tmp:
        root = Path(tmp)
        (root / "steps").mkdir()
        steps = products(root / "steps", args.products)
        ours = {s.stem: float("inf") for s in steps}
        minimal = dict(ours)
        batch = float("inf")
        for r in range(args.repeat):
            for step in steps:
                minimal[step.stem] = min(minimal[step.stem], timed(
                    [sys.executable, str(ROOT / "bench" / "cad.py"), "--serial", str(step), str(root / "m.glb")]))
                ours[step.stem] = min(ours[step.stem], timed(
                    [*HARTOMAT, "convert", str(step), "-o", str(root / "o.glb"), "--no-cache",
                     "--work-dir", str(root / f"wd-{r}-{step.stem}")]))
            batch = min(batch, timed([*HARTOMAT, "convert", *map(str, steps), "-o", str(root / f"batch-{r}"),
                                      "--no-cache", "--work-dir", str(root / f"wd-batch-{r}")]))
    ratios = {name: ours[name] / minimal[name] for name in ours}
    rows = [f"| {name} | {minimal[name]:.2f} s | {ours[name]:.2f} s | {ratios[name]:.2f}× |" for name in ours]
    summed = sum(minimal.values())
    text = "\n".join([
        "## CLI: one file and a batch", "",
        f"`.venv/bin/python bench/cli_batch.py --products {args.products} --repeat {args.repeat} --write` on "
        f"{machine()}; load average {load:.1f} before, {os.getloadavg()[0]:.1f} after (other work shared the "
        "machine unless that is below 1). Whole processes, best of the repeats; `--no-cache` and a fresh work "
        "folder for every run, so no cache served anything.", "",
        "| file | minimal OCP script | `hartomat convert` | ratio |", "|---|---|---|---|", *rows,
        f"| **median ratio** | | | **{statistics.median(ratios.values()):.2f}×** (target ≤ 1.3×) |", "",
        f"All {args.products} files in one `hartomat convert` call: **{batch:.2f} s** against the minimal scripts' "
        f"sum of {summed:.2f} s: **{batch / summed:.2f}×** (target ≤ 1.05×).", ""])
    print(text)
    if args.write:
        write_section("CLI: one file and a batch", text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
