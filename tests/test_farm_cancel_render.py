"""Cancel stops a running render on the farm (issue 30, finding 6): a real `hartomat serve` on
127.0.0.1 and one real worker (bpy + OCP) rendering a long still.

The cancel reaches the worker with its next heartbeat (under a second), and the worker interrupts
Cycles (engine/render/blender/interrupt.py) instead of rendering to the end: the order ends
cancelled with nothing published, and the worker lives on for the next job.
"""

from __future__ import annotations

import hashlib
import time
from typing import Any

import pytest
from farm_support import FarmServer, derive_output_type, token, wait_until, worker_pool

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]

# rendered to the end, this still takes many minutes here
LONG = {"still": {"resolution_x": 512, "resolution_y": 512, "samples": 4096, "adaptive_threshold": 0,
                  "denoise": False}}


def _rendering(server: FarmServer, tok: str, job_id: str) -> bool:
    job: dict[str, Any] = server.call("GET", f"/api/jobs/{job_id}", tok).json()
    nodes = job["runs"][-1]["nodes"] if job["status"] == "running" and job["runs"] else []
    return any(n["node_id"] == "still" and n["status"] == "running" and (n["message"] or "").startswith("rendering")
               for n in nodes)


def test_a_cancelled_still_stops_rendering_on_the_worker(tmp_path, single_part_step):
    tokens = {role: token(tmp_path, role) for role in ("submit", "worker", "admin")}
    server = FarmServer(tmp_path, lease_s=10).start()
    try:
        assert derive_output_type(server, tokens["admin"], "long_still", "still", "image", LONG).status_code == 200
        body = single_part_step.read_bytes()
        sha = hashlib.sha256(body).hexdigest()
        server.call("POST", "/api/files", tokens["submit"], data=body, headers={"X-Sha256": sha})
        order = server.call("POST", "/api/orders", tokens["submit"], json={
            "lines": [{"output_type": "long_still", "step_sha256": sha}]}).json()
        job_id = order["lines"][0]["job"]["id"]
        (tmp_path / "workers").mkdir()
        with worker_pool(server, tokens["worker"], tmp_path / "workers", "--no-farm-cache") as start:
            worker = start("renderer")
            wait_until(lambda: _rendering(server, tokens["admin"], job_id), 240, "the worker to be rendering")
            time.sleep(2)  # well inside the render
            cancelled_at = time.monotonic()
            assert server.call("POST", f"/api/orders/{order['id']}/cancel", tokens["submit"]).status_code == 200
            done = wait_until(lambda: (s := server.call("GET", f"/api/orders/{order['id']}", tokens["submit"]).json())
                              ["finished_at"] and s, 120, "the cancelled order to finish")
            print(f"order finished {time.monotonic() - cancelled_at:.1f} s after the cancel")
            assert worker.poll() is None  # the worker lives on
        assert done["status"] == "cancelled" and done["lines"][0]["assets"] == []
        job = server.call("GET", f"/api/jobs/{job_id}", tokens["admin"]).json()
        still = next(n for n in job["runs"][-1]["nodes"] if n["node_id"] == "still")
        assert still["status"] == "cancelled", still
    finally:
        server.stop()
