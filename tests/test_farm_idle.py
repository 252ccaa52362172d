"""An idle worker costs nothing: a real `hartomat worker` with one render thread
($HARTOMAT_RENDER_THREADS=1, as docs/performance.md suggests for several workers on one host)
serves one order of each preset from a real server on 127.0.0.1, and after each, while it waits
for the next job, it and its CAD processes use under 1% of a core (`/proc/PID/stat`).

Before the fix, Cycles' persistent render session outlived a turntable and kept a thread of
bpy's libtbb spinning on sched_yield: 100% of a core for as long as the worker lived.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from farm_support import FarmServer, for_preset, start_worker, stop_process, token, wait_until
from process_support import idle_cpu_share

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]

TINY = {"blender_still": {"resolution_x": 48, "resolution_y": 48, "samples": 2},
        "blender_turntable": {"resolution_x": 48, "resolution_y": 48, "samples": 2, "frame_count": 4},
        "thumbnail_save": {"sizes": [24]}}
PRESETS = ("turntable", "still", "multi_angle", "still_with_exports")
IDLE_LIMIT = 0.01  # of one core


def test_an_idle_worker_with_one_render_thread_uses_no_cpu_after_each_preset(tmp_path: Path, bearing_step: Path,
                                                                              monkeypatch: pytest.MonkeyPatch):
    from server_bridge.client import FarmClient

    monkeypatch.setenv("HARTOMAT_RENDER_THREADS", "1")
    tokens = {role: token(tmp_path, role) for role in ("submit", "worker")}
    server = FarmServer(tmp_path).start()
    worker = start_worker(server, tokens["worker"], tmp_path / "work", "idle-w")
    try:
        submitter = FarmClient(server.url, tokens["submit"])
        shares = {}
        for preset in PRESETS:
            order_id = submitter.submit([bearing_step], preset, overrides=for_preset(TINY, preset))["id"]
            status = wait_until(lambda oid=order_id: (s := submitter.order(oid))["finished_at"] and s, 600,
                                f"the {preset} order")
            assert status["status"] == "succeeded", (preset, status)
            wait_until(lambda: "succeeded -> job" in (tmp_path / "idle-w.log").read_text(), 30, "the report")
            shares[preset] = idle_cpu_share(worker.pid, 5.0)
        log = (tmp_path / "idle-w.log").read_text()
        assert all(share < IDLE_LIMIT for share in shares.values()), (shares, log[-3000:])
    finally:
        stop_process(worker)
        server.stop()


def test_a_turntable_in_chunks_on_two_one_thread_workers_equals_one_job_and_both_then_idle(
        tmp_path: Path, bearing_step: Path, monkeypatch: pytest.MonkeyPatch):
    """The issue's farm: two long-lived workers with one render thread each. A turntable split in
    chunks over both gives the same video as one job (`hartomat compare`), and afterwards
    neither worker uses CPU while it waits."""
    import json
    import subprocess

    from farm_support import CLI

    from server_bridge.client import FarmClient

    monkeypatch.setenv("HARTOMAT_RENDER_THREADS", "1")
    tokens = {role: token(tmp_path, role) for role in ("submit", "worker")}
    server = FarmServer(tmp_path).start()
    workers = [start_worker(server, tokens["worker"], tmp_path / f"w{i}", f"two-{i}") for i in range(2)]
    try:
        submitter = FarmClient(server.url, tokens["submit"])
        for i in range(2):
            wait_until(lambda n=i: "registered as" in (tmp_path / f"two-{n}.log").read_text(), 300, f"worker {i}")
        chunked = {**TINY, "blender_turntable": {**TINY["blender_turntable"], "chunk_size": 2}}
        done = {name: submitter.wait_order(submitter.submit([bearing_step], "turntable", overrides=for_preset(overrides, "turntable"))["id"],
                                           timeout=600)
                for name, overrides in (("split", chunked), ("whole", TINY))}
        assert all(status["status"] == "succeeded" for status in done.values()), done
        parts = done["split"]["lines"][0]["parts"]
        assert len(parts) == 2 and len({p["worker_id"] for p in parts}) == 2, parts
        videos = {}
        for name, status in done.items():
            files = submitter.fetch(status["id"], tmp_path / name)
            videos[name] = next(p for p in files if p.suffix == ".mp4")
        compared = subprocess.run([*CLI, "compare", str(videos["split"]), str(videos["whole"]), "--json"],
                                  capture_output=True, text=True, timeout=300)
        assert compared.returncode == 0 and json.loads(compared.stdout)["match"] is True, compared.stdout
        shares = [idle_cpu_share(worker.pid, 5.0) for worker in workers]
        assert all(share < IDLE_LIMIT for share in shares), shares
    finally:
        for worker in workers:
            stop_process(worker)
        server.stop()
