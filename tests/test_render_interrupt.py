"""Cancel stops a running render (issue 30, finding 6): real bpy, real OCP, the still preset graph.

A cancel (or a node's timeout) that arrives while Cycles renders a still sets Blender's break flag
from a watcher thread (engine/render/blender/interrupt.py): the render stops part-way, writes no
image, and the node and the run end cancelled. Before, the render ran to its end first.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from real_blender import REPO, require_blender, run_headless_script
from runtime_helpers import order_line

from engine.legacy.presets import preset_workflow
from engine.runtime import ProgressEvent, RunOptions, run_workflow

pytestmark = [pytest.mark.timeout(900)]

# far more work than the cancel leaves it: rendered to the end this takes many minutes here
LONG = {"still": {"resolution_x": 512, "resolution_y": 512, "samples": 4096, "adaptive_threshold": 0,
                  "denoise": False}}


def test_the_blender_break_flag_is_found_in_this_bpy():
    import bpy

    from engine.render.blender.interrupt import break_flag

    flag = break_flag(bpy)
    assert flag is not None  # else cancel would wait for the render's end: the layout needs a new entry


BLENDER_BREAK = f"""
import sys, time
sys.path.insert(0, {str(REPO)!r})
import bpy
from engine.render.blender import interrupt
assert interrupt.break_flag(bpy) is not None, "no break flag in this Blender"
scene = bpy.context.scene
scene.render.engine = "CYCLES"
scene.cycles.samples, scene.cycles.use_adaptive_sampling, scene.cycles.use_denoising = 100000, False, False
scene.render.resolution_x = scene.render.resolution_y = 64
scene.render.filepath = sys.argv[-1]
started = time.monotonic()
with interrupt.interruptible(bpy, lambda: time.monotonic() > started + 2) as fired:
    result = bpy.ops.render.render(write_still=True)
print("HARTOMAT_BREAK", result, fired())
"""


def test_a_render_in_blender_4_3_is_interrupted_too(tmp_path: Path):
    """Debian's Blender 4.3 (the farm worker's `blender -b -P scripts/farm_worker.py`): its layout is known too."""
    require_blender()
    script = tmp_path / "break_probe.py"
    script.write_text(BLENDER_BREAK)
    image = tmp_path / "never.png"
    run = run_headless_script(script, tmp_path / "user", str(image), timeout=600)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    assert "HARTOMAT_BREAK {'CANCELLED'} True" in run.stdout, run.stdout[-3000:]
    assert not image.exists()


def test_a_cancel_mid_render_stops_cycles_and_writes_no_image(tmp_path: Path, single_part_step: Path):
    rendering: list[float] = []

    def progress(event: ProgressEvent) -> None:
        if event.node_id == "still" and event.message.startswith("rendering") and not rendering:
            rendering.append(time.monotonic())

    def cancel() -> bool:
        return bool(rendering) and time.monotonic() > rendering[0] + 2.0

    result = run_workflow(preset_workflow("still"), order_line(single_part_step),
                          RunOptions(out_dir=tmp_path / "out", use_cache=False, overrides=LONG, progress=progress,
                                     cancel=cancel))
    stopped_after = time.monotonic() - rendering[0] - 2.0
    assert result.status == "cancelled", result.error
    still = result.node_results["still"]
    assert still.status == "cancelled", still.error
    assert not list((tmp_path / "out").rglob("still.png"))  # the render never reached its end
    print(f"render stopped {stopped_after:.1f} s after the cancel")
