"""Warm CAD on a real farm: one `hartomat worker` (a real server on 127.0.0.1) keeps its CAD
processes for its whole life. The same pool process (a child of the worker, `import OCP` paid
once) runs `extract` and `glb_export` for two jobs of different products; SIGKILLed in the middle
of a job's `glb_export`, it is replaced and the node runs again in the fresh process, so the
order still succeeds on its first job attempt. A process grown past `--cad-max-rss` is replaced
after its node."""

from __future__ import annotations

import os
import signal
from pathlib import Path
from typing import Any

import pytest
from farm_support import FarmServer, start_worker, stop_process, token, wait_until
from process_support import family, process_alive

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]

TINY = {"blender_still": {"resolution_x": 32, "resolution_y": 32, "samples": 1},
        "thumbnail_save": {"sizes": [16]}}
CAD = ("extract", "glb_export")


def run_order(submitter: Any, step: Path, overrides: dict[str, Any]) -> dict[str, Any]:
    order_id = submitter.submit([step], "still", overrides=overrides)["id"]
    status: dict[str, Any] = submitter.wait_order(order_id, timeout=600)
    assert status["status"] == "succeeded", status
    return status


def last_run(admin: Any, status: dict[str, Any]) -> dict[str, Any]:
    job = admin.job(status["lines"][0]["job"]["id"])
    return {"job": job, "nodes": job["runs"][-1]["summary"]["nodes"]}


@pytest.fixture()
def farm(tmp_path: Path):
    from server_bridge.client import FarmClient

    tokens = {role: token(tmp_path, role) for role in ("submit", "worker", "admin")}
    server = FarmServer(tmp_path).start()
    yield server, tokens, FarmClient(server.url, tokens["submit"]), FarmClient(server.url, tokens["admin"])
    server.stop()


def test_one_cad_process_serves_two_jobs_and_a_killed_one_is_replaced_with_its_node_run_again(
        farm, tmp_path: Path, bearing_step: Path, single_part_step: Path):
    server, tokens, submitter, admin = farm
    worker = start_worker(server, tokens["worker"], tmp_path / "work", "cad-w", "--cad-processes", "1",
                          "--no-farm-cache")
    try:
        first = last_run(admin, run_order(submitter, single_part_step, TINY))
        second = last_run(admin, run_order(submitter, bearing_step, TINY))
        pids = {run["nodes"][node]["pid"] for run in (first, second) for node in CAD}
        assert len(pids) == 1, pids  # one warm process, both jobs
        (pool_pid,) = pids
        assert pool_pid != worker.pid and pool_pid in family(worker.pid) and process_alive(pool_pid)

        # a slow glb_export (fine tessellation: over 5 s here), its process killed while it runs
        slow = {**TINY, "occ_glb_export": {"linear_deflection": 0.001, "angular_deflection": 0.1}}
        order_id = submitter.submit([bearing_step], "still", overrides=slow)["id"]
        job_id = wait_until(lambda: (j := submitter.order(order_id)["lines"][0]["job"]) and j["id"], 60, "the job")
        wait_until(lambda: any("[glb_export] running" in line
                               for line in admin.job(job_id)["logs"]), 120,
                   "glb_export to start")
        os.kill(pool_pid, signal.SIGKILL)
        status = submitter.wait_order(order_id, timeout=600)
        assert status["status"] == "succeeded", status
        third = last_run(admin, status)
        assert third["job"]["attempts"] == 1, third["job"]  # the node ran again, the job was not lost
        glb = third["nodes"]["glb_export"]
        assert glb["pid"] != pool_pid and glb["pid"] in family(worker.pid), glb
        said = f"pool process {pool_pid} ended (signal 9) while running the attempt; running it again"
        assert any(said in line for line in third["job"]["logs"]), third["job"]["logs"]
        assert not process_alive(pool_pid)
    finally:
        stop_process(worker)
    assert worker.returncode == 0
    assert not process_alive(glb["pid"])  # the worker stops its CAD processes when it stops


def test_a_cad_process_past_the_memory_bound_is_replaced_after_its_node(farm, tmp_path: Path,
                                                                        single_part_step: Path):
    server, tokens, submitter, admin = farm
    worker = start_worker(server, tokens["worker"], tmp_path / "work", "rss-w", "--cad-processes", "1",
                          "--cad-max-rss", "50", "--no-farm-cache")
    try:
        run = last_run(admin, run_order(submitter, single_part_step, TINY))
    finally:
        stop_process(worker)
    assert run["nodes"]["extract"]["pid"] != run["nodes"]["glb_export"]["pid"]
    log = (tmp_path / "rss-w.log").read_text()
    assert f"pool process {run['nodes']['extract']['pid']} uses" in log and "past the bound of 50 MiB" in log, log
