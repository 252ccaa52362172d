"""Chaos on 127.0.0.1: three `hartomat worker` processes and twelve small orders (STEP -> GLB,
published, then a webhook that takes a moment to answer), while a worker is SIGKILLed mid-job,
the server is SIGKILLed and restarted, and the server's test-mode fault switch answers 503 to
every API request for 10 s. Every order completes, each asset is published exactly once, no
surviving worker exits, and no orphan file or row is left behind."""

from __future__ import annotations

import hashlib
import json
import signal
import sqlite3
import subprocess
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from farm_support import FarmServer, start_worker, stop_process, token, wait_until

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]

ORDERS = 12
WORKERS = ("w1", "w2", "w3")
# order line -> STEP -> GLB -> published -> a webhook: small, and a job long enough to be killed in
CHAOS_WORKFLOW = {
    "version": 1, "name": "chaos", "family": "still",
    "nodes": [{"id": "setup", "step": "order_line_setup"}, {"id": "step", "step": "resolve_step_path"},
              {"id": "glb", "step": "occ_glb_export"}, {"id": "save", "step": "output_save"},
              {"id": "notify", "step": "notify", "params": {"webhook_url": "", "backoff_s": 0.2}}],
    "edges": [{"source": "setup", "source_output": "order_line", "target": "step", "target_input": "order_line"},
              {"source": "step", "source_output": "step_file", "target": "glb", "target_input": "step_file"},
              {"source": "glb", "source_output": "glb", "target": "save", "target_input": "media"},
              {"source": "save", "source_output": "assets", "target": "notify", "target_input": "assets"}]}


class SlowHook(BaseHTTPRequestHandler):
    """The order system's webhook: records which order line called, answers after 1.5 s."""

    calls: list[str] = []

    def do_POST(self) -> None:  # noqa: N802 - http.server's naming
        body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))))
        SlowHook.calls.append(body["order_line_id"])
        time.sleep(1.5)
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture()
def hook():
    server = ThreadingHTTPServer(("127.0.0.1", 0), SlowHook)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server
    server.shutdown()


def orphans(data: Path) -> dict[str, Any]:
    """What a settled farm must not hold: temp uploads, unpublished assets, files without a row,
    rows without a file, jobs not settled."""
    with sqlite3.connect(data / "farm.sqlite") as db:
        rows = {sha for (sha,) in db.execute("SELECT sha256 FROM files")}
        unpublished = db.execute("SELECT count(*) FROM media_assets WHERE committed = 0").fetchone()[0]
        unsettled = db.execute("SELECT count(*) FROM jobs WHERE status IN ('queued', 'running')").fetchone()[0]
    stored = {p.name for p in (data / "files").rglob("*") if p.is_file() and ".incoming" not in p.parts}
    return {"incoming": sorted(p.name for p in (data / "files" / ".incoming").iterdir()),
            "unpublished_assets": unpublished, "unsettled_jobs": unsettled,
            "files_without_row": sorted(stored - rows), "rows_without_file": sorted(rows - stored)}


def test_the_farm_survives_a_killed_worker_a_killed_server_and_ten_seconds_of_503s(
        tmp_path: Path, hook, single_part_step: Path, monkeypatch):
    data = tmp_path / "farm"
    tokens = {role: token(data, role) for role in ("submit", "worker", "admin")}
    server = FarmServer(data, lease_s=15, test_mode=True).start()
    monkeypatch.setenv("HARTOMAT_WEBHOOK_ALLOW", "127.0.0.1")  # the workers' own config
    procs: dict[str, subprocess.Popen[str]] = {}
    try:
        workflow = {**CHAOS_WORKFLOW, "nodes": [
            {**n, "params": {**n["params"], "webhook_url": f"http://127.0.0.1:{hook.server_port}/done"}}
            if n["id"] == "notify" else n for n in CHAOS_WORKFLOW["nodes"]]}
        saved = server.call("POST", "/api/workflows", tokens["admin"], json=workflow).json()
        assert server.call("PUT", "/api/output-types/chaos", tokens["admin"], json={
            "family": "still", "artifact_kind": "glb", "workflow_id": saved["id"]}).status_code == 200
        for name in WORKERS:
            procs[name] = start_worker(server, tokens["worker"], tmp_path / name, name, "--capabilities", "ocp")
        ids = wait_until(lambda: len(w := {x["name"]: x["id"] for x in server.call(
            "GET", "/api/workers", tokens["admin"]).json()}) == len(WORKERS) and w, 120, "three workers")

        content = single_part_step.read_bytes()
        sha = hashlib.sha256(content).hexdigest()
        assert server.call("POST", "/api/files", tokens["submit"], data=content,
                           headers={"X-Sha256": sha, "X-Filename": "part.step"}).status_code == 201
        order_ids = []
        for n in range(ORDERS):
            reply = server.call("POST", "/api/orders", tokens["submit"], json={
                "lines": [{"output_type": "chaos", "step_sha256": sha, "product": f"part{n}"}]})
            assert reply.status_code == 201, reply.text
            order_ids.append(reply.json()["id"])

        # 1. w1 is SIGKILLed mid-job: its output is published, its webhook is on the wire
        def w1_in_its_webhook() -> bool:
            for line_id in list(SlowHook.calls):
                job = server.call("GET", f"/api/jobs/job-{line_id[4:]}", tokens["admin"]).json()
                if job["status"] == "running" and job["worker_id"] == ids["w1"]:
                    return True
            return False

        wait_until(w1_in_its_webhook, 180, "w1 to be in a job's webhook")
        procs["w1"].send_signal(signal.SIGKILL)
        procs["w1"].wait(10)

        # 2. the server is SIGKILLed and started again on the same port
        server.stop(signal.SIGKILL)
        time.sleep(2)
        server.start()

        # 3. ten seconds in which every API request answers 503 (Retry-After: 1)
        wait_until(lambda: sum(server.call("GET", f"/api/orders/{o}", tokens["admin"]).json()["finished_at"]
                               is not None for o in order_ids) >= 2, 180, "two orders to finish")
        reply = server.call("POST", "/api/test/fault", tokens["admin"],
                            json={"status": 503, "seconds": 10, "retry_after": 1})
        assert reply.status_code == 200, reply.text
        time.sleep(10)

        finished = wait_until(lambda: all((s := [server.call("GET", f"/api/orders/{o}", tokens["admin"]).json()
                                                 for o in order_ids])[i]["finished_at"] for i in range(ORDERS)) and s,
                              400, "every order to finish")
        for status in finished:
            assert status["status"] == "succeeded", status
            (line,) = status["lines"]
            assert [a["role"] for a in line["assets"]] == ["glb_model"], line  # published exactly once
        assert all(procs[name].poll() is None for name in ("w2", "w3")), "a surviving worker exited"
        wait_until(lambda: orphans(data) == {"incoming": [], "unpublished_assets": 0, "unsettled_jobs": 0,
                                             "files_without_row": [], "rows_without_file": []}, 60,
                   f"no orphans (now {orphans(data)})")
        for name in ("w2", "w3"):
            stop_process(procs[name])
            assert procs[name].returncode == 0, (tmp_path / f"{name}.log").read_text()[-3000:]
        logs = "".join((tmp_path / f"{name}.log").read_text() for name in ("w2", "w3"))
        assert "server trouble" in logs
    finally:
        for proc in procs.values():
            stop_process(proc)
        server.stop(signal.SIGKILL)
