"""Does Cycles' persistent data pay for a chunk's frames? The bearing's GLB (a multi-part
assembly, from `hartomat convert`) in an empty bpy scene, a camera orbiting it as a turntable
does, FRAMES frames at SIZE², SAMPLES samples with one render thread, once with
`render.use_persistent_data` on (the turntable node's way) and once off, alternated ROUNDS
times; per-frame times, the first frame apart (it pays the scene's sync either way).
Caches: none (every frame is rendered; the GLB is converted once, before the timing).

Usage: .venv/bin/python bench/persistent_data.py [--frames 8] [--size 192] [--samples 12] [--rounds 2] [--write]
(--write replaces `## Persistent data in a chunk` in docs/performance.md)
"""

from __future__ import annotations

import argparse
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def frames(glb: Path, out: Path, count: int, size: int, samples: int, persistent: bool) -> list[float]:
    import bpy
    from mathutils import Vector

    bpy.ops.wm.read_factory_settings(use_empty=True)
    scene = bpy.context.scene
    bpy.ops.import_scene.gltf(filepath=str(glb))
    points = [o.matrix_world @ Vector(c) for o in scene.objects if o.type == "MESH" for c in o.bound_box]
    centre = sum(points, Vector()) / len(points)
    radius = max((p - centre).length for p in points) * 3
    camera = bpy.data.objects.new("camera", bpy.data.cameras.new("camera"))
    scene.collection.objects.link(camera)
    camera.data.clip_start = radius / 100
    scene.camera = camera
    sun = bpy.data.objects.new("sun", bpy.data.lights.new("sun", "SUN"))
    scene.collection.objects.link(sun)
    render = scene.render
    render.engine, render.resolution_x, render.resolution_y = "CYCLES", size, size
    render.threads_mode, render.threads = "FIXED", 1
    scene.cycles.device, scene.cycles.samples, scene.cycles.use_denoising = "CPU", samples, False
    render.use_persistent_data = persistent
    times = []
    for i in range(count):
        angle = 2 * math.pi * i / count
        camera.location = centre + Vector((math.cos(angle), math.sin(angle), 0.5)) * radius
        camera.rotation_euler = (centre - camera.location).to_track_quat("-Z", "Y").to_euler()
        render.filepath = str(out / f"f{i}.png")
        started = time.perf_counter()
        bpy.ops.render.render(write_still=True)
        times.append(time.perf_counter() - started)
    render.use_persistent_data = False  # frees the kept session (see engine/render/blender/render_setup.py)
    return times


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=8)
    parser.add_argument("--size", type=int, default=192)
    parser.add_argument("--samples", type=int, default=12)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--write", action="store_true")
    args = parser.parse_args()
    from bench.perfdoc import machine, write_section
    from engine.cad.samples import make_bearing_step

    load = os.getloadavg()[0]
    results: dict[bool, list[list[float]]] = {True: [], False: []}
    with tempfile.TemporaryDirectory(prefix="hartomat-persist-") as tmp:
        root = Path(tmp)
        step, glb = make_bearing_step(root / "bearing.step"), root / "bearing.glb"
        subprocess.run([sys.executable, "-m", "engine", "convert", str(step), "-o", str(glb), "--no-cache",
                        "--work-dir", str(root / "wd")], check=True, capture_output=True, cwd=ROOT)
        for _ in range(args.rounds):
            for persistent in (True, False):
                results[persistent].append(frames(glb, root, args.frames, args.size, args.samples, persistent))
    rows = []
    for persistent, label in ((True, "on"), (False, "off")):
        firsts = [run[0] for run in results[persistent]]
        rest = [t for run in results[persistent] for t in run[1:]]
        rows.append(f"| {label} | {', '.join(f'{t:.2f} s' for t in firsts)} | {statistics.median(rest):.3f} s | "
                    f"{', '.join(f'{sum(run):.2f} s' for run in results[persistent])} |")
    on = statistics.median(t for run in results[True] for t in run[1:])
    off = statistics.median(t for run in results[False] for t in run[1:])
    text = "\n".join([
        "## Persistent data in a chunk", "",
        f"`.venv/bin/python bench/persistent_data.py --frames {args.frames} --size {args.size} --samples "
        f"{args.samples} --rounds {args.rounds} --write` on {machine()}; load average {load:.1f} before, "
        f"{os.getloadavg()[0]:.1f} after (other work shared the machine unless that is below 1). The bearing "
        f"GLB in a bare bpy scene, {args.frames} turntable frames, one render thread, no cache; each round "
        "with persistent data on, then off.", "",
        "| persistent data | first frame (each round) | later frames (median) | whole chunk (each round) |",
        "|---|---|---|---|", *rows, "",
        f"Later frames with persistent data take **{on / off:.2f}×** the time without. The turntable node keeps it "
        "on for a chunk's frames and turns it off after the last (which frees the kept render session; left "
        "alive with one render thread it kept a TBB thread spinning, see Idle worker CPU).", ""])
    print(text)
    if args.write:
        write_section("Persistent data in a chunk", text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
