"""What the publish check of output_save costs next to the render it checks (issue 25: under 2%).

Run by hand: `.venv/bin/python bench/publish_check.py [--size 512] [--samples 32] [--frames 24] [--repeat 20]`.
Renders the sample bearing once as a still and once as a turntable through the real graphs (bpy,
Cycles on the CPU, no cache), takes the render node's own duration from the run record, then
times the check on what the render wrote: the still (one frame), the turntable's three kept frames
(first, middle, last), each the median of `--repeat` runs. Prints a Markdown table.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def render(step: Path, out: Path, preset: str, size: int, samples: int, frames: int) -> tuple[float, list[Path]]:
    """(render node seconds, the frames the check reads) of one real run of `preset`."""
    from engine.legacy.presets import preset_workflow
    from engine.model.context import OrderLine
    from engine.runtime.modes import run_workflow
    from engine.runtime.options import RunOptions

    node = "still" if preset == "still" else "turntable"
    settings = {"resolution_x": size, "resolution_y": size, "samples": samples}
    if preset == "turntable":
        settings["frame_count"] = frames
    line = OrderLine(product=step.stem, step_path=str(step), output_type=preset)
    options = RunOptions(out_dir=out, use_cache=False, overrides={node: settings}, store_path=out / "runs.sqlite")
    result = run_workflow(preset_workflow(preset), line, options)
    if not result.ok:
        raise SystemExit(f"{preset} failed: {result.error}")
    record = result.node_results[node]
    artifact = record.outputs[0]
    files = [Path(artifact.path)] if preset == "still" else [Path(p) for p in artifact.data["check_frames"].values()]
    return float(record.duration or 0.0), files


def check_time(files: list[Path], repeat: int) -> float:
    from engine.render.publish_check import check_frame

    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        for index, path in enumerate(files):
            check_frame(path, "bench", str(index), False)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=512)
    parser.add_argument("--samples", type=int, default=32)
    parser.add_argument("--frames", type=int, default=24)
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args()
    from engine.cad.samples import make_bearing_step

    folder = Path(tempfile.mkdtemp(prefix="bench-publish-"))
    step = make_bearing_step(folder / "bearing.step")
    print("| output | render node | check | check ÷ render |\n|---|---:|---:|---:|")
    for preset in ("still", "turntable"):
        seconds, files = render(step, folder / preset, preset, args.size, args.samples, args.frames)
        checked = check_time(files, args.repeat)
        what = f"still {args.size}² ({args.samples} samples)" if preset == "still" else \
            f"turntable {args.frames} frames {args.size}² ({args.samples} samples), 3 frames checked"
        print(f"| {what} | {seconds:.2f} s | {checked * 1000:.1f} ms | {checked / seconds:.2%} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
