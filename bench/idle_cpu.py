"""Idle CPU of a farm worker after each preset: a real server on 127.0.0.1 and one worker, with
$HARTOMAT_RENDER_THREADS unset, 1 and 2; after each order of each preset (tiny renders) the
worker and its CAD processes are read from /proc/PID/stat over SECONDS while it waits for work.
With --blender, the same for `blender -b -P scripts/farm_worker.py` (Blender 4.3 and a deps folder).
Caches: none matter here (the figure is CPU while idle, after the work).

Usage: .venv/bin/python bench/idle_cpu.py [--seconds 10] [--blender] [--write]
(--write replaces `## Idle worker CPU` in docs/performance.md)
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT))

PRESETS = ("turntable", "still", "multi_angle", "still_with_exports")
TINY = {"blender_still": {"resolution_x": 48, "resolution_y": 48, "samples": 2, "denoise": False},
        "blender_turntable": {"resolution_x": 48, "resolution_y": 48, "samples": 2, "frame_count": 4,
                              "denoise": False},
        "thumbnail_save": {"sizes": [24]}}
SETTINGS = ("", "1", "2")


def idle_after_presets(work: Path, step: Path, command: list[str], threads: str, seconds: float) -> dict[str, float]:
    """One worker (`command` + connection options), each preset once; its idle share after each."""
    from farm_support import FarmServer, stop_process, token, wait_until
    from process_support import idle_cpu_share

    from server_bridge.client import FarmClient

    work.mkdir(parents=True)
    tokens = {role: token(work, role) for role in ("submit", "worker")}
    server = FarmServer(work).start()
    env = {k: v for k, v in os.environ.items() if k != "HARTOMAT_RENDER_THREADS"}
    if threads:
        env["HARTOMAT_RENDER_THREADS"] = threads
    log = work / "worker.log"
    worker = subprocess.Popen([*command, "--server", server.url, "--token", tokens["worker"], "--wait", "2",
                               "--work-dir", str(work / "w")], stdout=open(log, "w"),  # noqa: SIM115
                              stderr=subprocess.STDOUT, env=env)
    shares = {}
    try:
        client = FarmClient(server.url, tokens["submit"])
        for done, preset in enumerate(PRESETS, start=1):
            status = client.wait_order(client.submit([step], preset, overrides=TINY)["id"], timeout=900)
            if status["status"] != "succeeded":
                raise SystemExit(f"{preset} order {status['status']}: see {log}")
            wait_until(lambda n=done: log.read_text().count(" -> job ") >= n, 60, "the report")
            shares[preset] = idle_cpu_share(worker.pid, seconds)
    finally:
        stop_process(worker)  # type: ignore[arg-type]
        server.stop()
    return shares


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--blender", action="store_true", help="also the Blender 4.3 worker")
    parser.add_argument("--write", action="store_true")
    args = parser.parse_args()
    from farm_support import CLI

    from bench.perfdoc import machine, write_section
    from engine.cad.samples import make_bearing_step

    load = os.getloadavg()[0]
    results: dict[str, dict[str, dict[str, float]]] = {}
    with tempfile.TemporaryDirectory(prefix="hartomat-idle-") as tmp:
        root = Path(tmp)
        step = make_bearing_step(root / "bearing.step")
        workers = {"`hartomat worker`": [*CLI, "worker"]}
        if args.blender:
            from real_blender import make_blender_deps, require_blender

            deps = make_blender_deps(root / "deps")
            workers["`blender -b` worker"] = [*require_blender(), "-b", "--factory-startup", "-P",
                                              str(ROOT / "scripts" / "farm_worker.py"), "--", "--deps", str(deps)]
        for label, command in workers.items():
            for threads in SETTINGS:
                results.setdefault(label, {})[threads or "unset"] = idle_after_presets(
                    root / f"{len(results)}-{threads or 'unset'}", step, command, threads, args.seconds)
    header = " | ".join(f"threads {t or 'unset'}" for t in SETTINGS)
    rows = [f"| {label} after `{preset}` | " + " | ".join(f"{by[t or 'unset'][preset]:.1%}" for t in SETTINGS) + " |"
            for label, by in results.items() for preset in PRESETS]
    text = "\n".join([
        "## Idle worker CPU", "",
        f"`.venv/bin/python bench/idle_cpu.py --seconds {args.seconds:g}{' --blender' if args.blender else ''} "
        f"--write` on {machine()}; load average {load:.1f} before, {os.getloadavg()[0]:.1f} after. One worker "
        "and a real server on 127.0.0.1; after one order of each preset (48², 2 samples), the share of one core "
        f"the worker and its CAD processes used over {args.seconds:g} s while waiting for the next job "
        "(`/proc/PID/stat`), with `$HARTOMAT_RENDER_THREADS` as in each column (target < 1%).", "",
        f"| worker, after | {header} |", "|---|" + "---|" * len(SETTINGS), *rows, ""])
    print(text)
    if args.write:
        write_section("Idle worker CPU", text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
