"""How soon a cancel stops a running Cycles render (issue 30): the still preset graph on the
single-part sample, a long render (512², 4096 samples, no adaptive sampling), cancelled a given
number of seconds after the still node starts rendering; the figure is the time from the cancel
to `run_workflow` returning (the node cancelled, no image written). Before issue 30 the render ran
to its end first. No caches serve it (use_cache off; every run renders). Each delay runs twice.
Usage: .venv/bin/python bench/render_cancel.py [--delays 2 20] [--write]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.perfdoc import machine, write_section  # noqa: E402

LONG = {"still": {"resolution_x": 512, "resolution_y": 512, "samples": 4096, "adaptive_threshold": 0,
                  "denoise": False}}


def one(step: Path, folder: Path, delay: float) -> tuple[float, str, bool]:
    """Seconds from the cancel to the run's end, the run's status, and whether an image was written."""
    from engine.legacy.presets import preset_workflow
    from engine.model.context import OrderLine
    from engine.runtime import ProgressEvent, RunOptions, run_workflow

    rendering: list[float] = []

    def progress(event: ProgressEvent) -> None:
        if event.node_id == "still" and event.message.startswith("rendering") and not rendering:
            rendering.append(time.monotonic())

    def cancel() -> bool:
        return bool(rendering) and time.monotonic() > rendering[0] + delay

    result = run_workflow(preset_workflow("still"), OrderLine(id="l", order_id="o", product="p", step_path=str(step)),
                          RunOptions(out_dir=folder, use_cache=False, overrides=LONG, progress=progress, cancel=cancel))
    return time.monotonic() - rendering[0] - delay, str(result.status), bool(list(folder.rglob("still.png")))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--delays", type=float, nargs="+", default=[2.0, 20.0])
    parser.add_argument("--write", action="store_true")
    args = parser.parse_args()
    from engine.cad.samples import make_single_part_step

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        step = make_single_part_step(Path(tmp) / "bracket.step")
        for delay in args.delays:
            for run in (1, 2):
                load = os.getloadavg()[0]
                stopped, status, wrote = one(step, Path(tmp) / f"d{delay}-{run}", delay)
                rows.append(f"| {delay:g} s | {run} | {stopped:.1f} s | {status} | {'yes' if wrote else 'no'} | "
                            f"{load:.1f} |")
                print(rows[-1], flush=True)
    text = "\n".join([
        "## Render cancel", "",
        f"`.venv/bin/python bench/render_cancel.py --delays {' '.join(f'{d:g}' for d in args.delays)} --write`; "
        f"{machine()}; the machine was shared with other engineers' jobs (load average at each run's start "
        "in the table). A 512², 4096-sample Cycles still of the single-part sample (rendered to its end, many "
        "minutes here), cancelled the given time after the still node started rendering; no cache serves "
        "any run. The watcher thread sets Blender's break flag; headless Cycles reads it between work "
        "steps, which grow as a render goes on:", "",
        "| cancelled after | run | stopped after the cancel | run status | image written | load |",
        "|---|---|---:|---|---|---:|", *rows, ""])
    print(text)
    if args.write:
        write_section("Render cancel", text)


if __name__ == "__main__":
    main()
