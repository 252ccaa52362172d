"""The farm worker inside the provisioned real Blender (4.3, Python 3.13, no OCP): it finds
the engine's dependencies in a `pip install --target` folder, registers with the `bpy`
capability only, leaves jobs that need `ocp` to other workers, and serves several jobs in one
Blender process. Skips when the provisioned Blender is absent."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from farm_support import FarmServer, start_worker, stop_process, token, wait_until
from real_blender import REPO, blender_executable, blender_python_deps, not_provisioned_reason

pytestmark = [pytest.mark.slow, pytest.mark.real_blender, pytest.mark.timeout(600)]


@pytest.fixture(scope="module")
def blender() -> list[str]:
    command = blender_executable()
    if command is None:
        pytest.skip(not_provisioned_reason())
    return command


@pytest.fixture(scope="module")
def deps() -> Path:
    return blender_python_deps()


TINY_STILL = {"blender_still": {"samples": 2, "resolution_x": 64, "resolution_y": 64, "denoise": False}}


def test_blender_worker_runs_bpy_jobs_and_leaves_ocp_jobs(blender, deps, tmp_path: Path, bearing_step: Path):
    from server_bridge.client import FarmClient
    from server_bridge.probe import PROBE_OUTPUT_TYPE, install_probe

    tokens = {role: token(tmp_path, role) for role in ("submit", "worker", "admin")}
    server = FarmServer(tmp_path, lease_s=10).start()
    try:
        install_probe(FarmClient(server.url, tokens["admin"]))
        submitter = FarmClient(server.url, tokens["submit"])
        needs_ocp = submitter.submit([bearing_step], "still", overrides=TINY_STILL)["id"]
        probes = [submitter.submit([bearing_step], PROBE_OUTPUT_TYPE)["id"] for _ in range(2)]
        done = subprocess.run(
            [*blender, "-b", "--factory-startup", "--python-exit-code", "1", "-P", str(REPO / "scripts" / "farm_worker.py"),
             "--", "--server", server.url, "--token", tokens["worker"], "--deps", str(deps), "--max-jobs", "2",
             "--wait", "2", "--work-dir", str(tmp_path / "work")],
            capture_output=True, text=True, timeout=400)
        assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
        assert "Blender 4." in done.stdout and "registered as" in done.stdout
        workers = FarmClient(server.url, tokens["admin"]).workers()
        assert [w["capabilities"] for w in workers] == [["bpy"]]
        statuses = [submitter.order(order_id) for order_id in probes]
        assert [s["status"] for s in statuses] == ["succeeded", "succeeded"]
        assert {s["lines"][0]["job"]["worker_id"] for s in statuses} == {workers[0]["id"]}  # one warm process
        assert submitter.order(needs_ocp)["status"] == "queued"
        # a worker on the bpy module with OCP takes the job the Blender worker left
        worker = start_worker(server, tokens["worker"], tmp_path / "ocp-worker", "ocp-worker", "--max-jobs", "1")
        try:
            status = wait_until(lambda: (o := submitter.order(needs_ocp))["finished_at"] and o, 300,
                                "the ocp worker to finish the still")
        finally:
            stop_process(worker)
        assert status["status"] == "succeeded", status
        assert status["lines"][0]["job"]["worker_id"] != workers[0]["id"]
        assert any(a["role"] == "primary_render" for a in status["lines"][0]["assets"])
    finally:
        server.stop()
