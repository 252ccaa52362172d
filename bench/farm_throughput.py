"""Farm throughput against the physical limit: PRODUCTS different generated products (bearings,
brackets, nested and grid assemblies of varied size) as still orders on 2 workers, in products
per hour, against the limit measured in the same run.

The farm: a real `hartomat serve` on 127.0.0.1 and two real `hartomat worker` processes, each
with one render thread ($HARTOMAT_RENDER_THREADS=1) and `--no-farm-cache`; every product is a new
file, so no cache serves any node (the table counts the node results a cache served: 0
expected). The workers are warmed with one small order each first; the measured wall time runs
from submitting all the orders to the last one's end (server clock).

The limit: for each product, the minimal OCP script as a process (bench/cad.py --serial: XCAF
read, mesh, GLB) plus a minimal bpy render script as a process (this file's --minimal-render:
import the GLB, frame a camera, a sun, Cycles at the same size, samples, adaptive threshold and
denoiser, one thread), run one after another; their sum divided by the 2 cores is the shortest
wall time any farm on this machine could take.

Usage: .venv/bin/python bench/farm_throughput.py [--products 12] [--size 512] [--samples 32] [--write]
(--write replaces `## Farm throughput` in docs/performance.md)
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT))

CORES = 2


def products(folder: Path, count: int) -> list[Path]:
    """`count` different STEP files: bearings, brackets, nested and grid assemblies of varied size."""
    from engine.cad import samples

    specs: list[tuple[str, Any]] = [
        ("bearing-9", samples.bearing_spec(9)), ("bracket", samples.single_part_spec()),
        ("nested", samples.nested_spec()), ("bracket-plate", samples.bracket_plate_spec()),
        ("plain-bearing-7", samples.plain_bearing_spec(7)), ("grid-16", samples.large_assembly_spec(16)),
        ("bearing-14", samples.bearing_spec(14)), ("colour-chart", samples.colour_chart_spec()),
        ("grid-36", samples.large_assembly_spec(36)), ("bearing-6", samples.bearing_spec(6)),
        ("plain-bearing-12", samples.plain_bearing_spec(12)), ("grid-64", samples.large_assembly_spec(64)),
    ]
    if count > len(specs):
        raise SystemExit(f"at most {len(specs)} products")
    return [samples.write_step(spec, folder / f"{name}.step") for name, spec in specs[:count]]


def minimal_render(glb: str, png: str, size: int, samples: int) -> None:
    """The minimal bpy render: what any still needs, nothing of the project."""
    import bpy
    from mathutils import Vector

    bpy.ops.wm.read_factory_settings(use_empty=True)
    scene = bpy.context.scene
    bpy.ops.import_scene.gltf(filepath=glb)
    points = [o.matrix_world @ Vector(c) for o in scene.objects if o.type == "MESH" for c in o.bound_box]
    low = Vector(tuple(min(p[i] for p in points) for i in range(3)))
    high = Vector(tuple(max(p[i] for p in points) for i in range(3)))
    centre, diagonal = (low + high) / 2, (high - low).length
    camera = bpy.data.objects.new("camera", bpy.data.cameras.new("camera"))
    scene.collection.objects.link(camera)
    camera.location = centre + Vector((1.0, -1.0, 0.8)).normalized() * diagonal * 1.8
    camera.rotation_euler = (centre - camera.location).to_track_quat("-Z", "Y").to_euler()
    camera.data.clip_start, camera.data.clip_end = diagonal / 100, diagonal * 10
    scene.camera = camera
    sun = bpy.data.objects.new("sun", bpy.data.lights.new("sun", "SUN"))
    scene.collection.objects.link(sun)
    sun.rotation_euler = (0.6, 0.2, 0.8)
    render = scene.render
    render.engine = "CYCLES"
    render.resolution_x = render.resolution_y = size
    render.threads_mode, render.threads = "FIXED", 1
    scene.cycles.device, scene.cycles.samples, scene.cycles.adaptive_threshold = "CPU", samples, 0.01
    scene.cycles.use_denoising = bool(getattr(__import__("_cycles"), "with_openimagedenoise", False))
    render.filepath = png
    bpy.ops.render.render(write_still=True)


def timed(command: list[str]) -> float:
    started = time.perf_counter()
    subprocess.run(command, check=True, capture_output=True, timeout=1800)
    return time.perf_counter() - started


def limit(steps: list[Path], out: Path, size: int, samples: int) -> dict[str, float]:
    """Per product: the minimal OCP script and the minimal render, each a whole process."""
    cad = render = 0.0
    for step in steps:
        glb, png = out / f"{step.stem}.glb", out / f"{step.stem}.png"
        cad += timed([sys.executable, str(ROOT / "bench" / "cad.py"), "--serial", str(step), str(glb)])
        render += timed([sys.executable, __file__, "--minimal-render", str(glb), str(png), str(size), str(samples)])
    return {"cad": cad, "render": render, "wall": (cad + render) / CORES}


def farm(steps: list[Path], work: Path, size: int, samples: int, warm_step: Path) -> dict[str, Any]:
    """All the still orders on two warm workers; wall time from submission to the last end."""
    from farm_support import CLI, FarmServer, stop_process, token, wait_until

    from server_bridge.client import FarmClient

    tokens = {role: token(work, role) for role in ("submit", "worker", "admin")}
    server = FarmServer(work, lease_s=60).start()
    env = {**os.environ, "HARTOMAT_RENDER_THREADS": "1"}
    workers = [subprocess.Popen([*CLI, "worker", "--server", server.url, "--token", tokens["worker"],
                                 "--work-dir", str(work / f"w{i}"), "--name", f"w{i}", "--wait", "2",
                                 "--no-farm-cache"], stdout=open(work / f"w{i}.log", "w"),  # noqa: SIM115
                                stderr=subprocess.STDOUT, env=env) for i in range(CORES)]
    try:
        client, admin = FarmClient(server.url, tokens["submit"]), FarmClient(server.url, tokens["admin"])
        look = {"still": {"resolution_x": size, "resolution_y": size, "samples": samples}}
        warm = [client.submit([warm_step], "still", overrides={"still": {"resolution_x": 32, "resolution_y": 32,
                                                                         "samples": 1, "elevation": 10.0 + i}})["id"]
                for i in range(CORES)]
        for order_id in warm:
            client.wait_order(order_id, timeout=600)
        wait_until(lambda: len(admin.workers()) >= CORES, 120, "both workers")
        started = time.time()
        orders = [client.submit([step], "still", overrides=look)["id"] for step in steps]
        done = [client.wait_order(order_id, timeout=3600) for order_id in orders]
        failed = [o["id"] for o in done if o["status"] != "succeeded"]
        if failed:
            raise SystemExit(f"orders failed: {failed}")
        wall = max(o["finished_at"] for o in done) - started
        cached = 0
        for order in done:
            run = admin.job(order["lines"][0]["job"]["id"])["runs"][-1]
            cached += sum(1 for n in (run["summary"] or {})["nodes"].values() if n["status"] == "cached")
        workers_used = len({o["lines"][0]["job"]["worker_id"] for o in done})
        return {"wall": wall, "cached": cached, "workers_used": workers_used}
    finally:
        for worker in workers:
            stop_process(worker)  # type: ignore[arg-type]
        server.stop()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--products", type=int, default=12)
    parser.add_argument("--size", type=int, default=512)
    parser.add_argument("--samples", type=int, default=32)
    parser.add_argument("--write", action="store_true")
    parser.add_argument("--minimal-render", nargs=4, metavar=("GLB", "PNG", "SIZE", "SAMPLES"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.minimal_render:
        glb, png, size, samples = args.minimal_render
        minimal_render(glb, png, int(size), int(samples))
        return 0
    from bench.perfdoc import machine, write_section

    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="hartomat-throughput-") as tmp:
        root = Path(tmp)
        (root / "steps").mkdir()
        (root / "farm").mkdir()
        (root / "limit").mkdir()
        from engine.cad import samples

        steps = products(root / "steps", args.products)
        warm_step = samples.write_step(samples.bearing_spec(5), root / "warm.step")  # none of the products
        measured = farm(steps, root / "farm", args.size, args.samples, warm_step)
        bound = limit(steps, root / "limit", args.size, args.samples)
    per_hour = args.products / measured["wall"] * 3600
    limit_per_hour = args.products / bound["wall"] * 3600
    command = (f".venv/bin/python bench/farm_throughput.py --products {args.products} --size {args.size} "
               f"--samples {args.samples}")
    text = f"""## Farm throughput

`{command} --write` on {machine()}; load average {load_before:.1f} before, {os.getloadavg()[0]:.1f} after
(other work shared the machine unless that is below 1). {args.products} different products as still
orders ({args.size}², {args.samples} samples) on 2 long-lived workers with one render thread each and
`--no-farm-cache`, each product a new file: node results served by any cache: **{measured['cached']}**.
Orders ran on {measured['workers_used']} worker(s).

| | wall time | products per hour |
|---|---|---|
| farm (submission of all to the last end) | {measured['wall']:.1f} s | {per_hour:.0f} |
| physical limit: minimal OCP scripts {bound['cad']:.1f} s + minimal bpy renders {bound['render']:.1f} s, \
as processes, summed ÷ 2 cores | {bound['wall']:.1f} s | {limit_per_hour:.0f} |
| farm ÷ limit | | **{per_hour / limit_per_hour:.2f}** (target ≥ 0.85) |
"""
    print(text)
    if args.write:
        write_section("Farm throughput", text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
