"""The farm dashboard: its view API against a real server, and the app itself in real headless
Chromium (playwright-core, tools/dashboard/e2e/dashboard.e2e.mjs) against a real server and a
real worker rendering tiny stills. Screenshots go to docs/images/dashboard-*.png."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest
from farm_support import FarmServer, start_worker, stop_process, token

ROOT = Path(__file__).resolve().parents[1]
DASHBOARD = ROOT / "tools" / "dashboard"
CHROMIUM = os.environ.get("HARTOMAT_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"


@pytest.fixture(scope="module")
def farm(tmp_path_factory: pytest.TempPathFactory):
    data = tmp_path_factory.mktemp("farm-dashboard")
    tokens = {role: token(data, role) for role in ("submit", "worker", "admin")}
    server = FarmServer(data, lease_s=6).start()
    yield server, tokens
    server.stop()


def upload(server: FarmServer, tok: str, path: Path) -> str:
    import hashlib

    body = path.read_bytes()
    sha = hashlib.sha256(body).hexdigest()
    reply = server.call("POST", "/api/files", tok, data=body, headers={"X-Sha256": sha, "X-Filename": path.name})
    assert reply.status_code == 201, reply.text
    return sha


def test_the_page_and_its_files_are_served_without_a_token(farm):
    server, _ = farm
    page = server.call("GET", "/", None)
    assert page.status_code == 200 and "text/html" in page.headers["content-type"]
    assert "script-src 'self'" in page.headers["content-security-policy"]
    assert '<script defer src="/static/app.js">' in page.text
    script = server.call("GET", "/static/app.js", None)
    assert script.status_code == 200 and "javascript" in script.headers["content-type"] and len(script.content) > 10_000
    assert server.call("GET", "/static/../farm.sqlite", None).status_code == 404
    missing = server.call("GET", "/static/nope.js", None)
    assert missing.status_code == 404 and missing.json()["detail"] == "no dashboard file 'nope.js'"


def test_me_says_the_role_and_refuses_a_wrong_token(farm):
    server, tokens = farm
    assert server.call("GET", "/api/me", tokens["submit"]).json() == {"role": "submit", "name": "submit"}
    refused = server.call("GET", "/api/me", "hm_submit_wrong")
    assert refused.status_code == 401 and set(refused.json()) == {"detail", "problems"}


def test_order_list_is_paginated_filtered_and_private(farm, single_part_step):
    server, tokens = farm
    other = token(server.data, "submit", "other")
    sha = upload(server, tokens["submit"], single_part_step)
    made = []
    for output_type in ("still", "turntable", "still"):
        reply = server.call("POST", "/api/orders", tokens["submit"],
                            json={"lines": [{"output_type": output_type, "step_sha256": sha}]})
        assert reply.status_code == 201, reply.text
        made.append(reply.json()["id"])
        time.sleep(0.01)  # distinct creation times: newest first is the order below
    page = server.call("GET", "/api/dashboard/orders?limit=2", tokens["submit"])
    body = page.json()
    assert [o["id"] for o in body["orders"]] == made[::-1][:2] and body["total"] == 3
    assert body["counts"]["queued"] == 3 and body["orders"][0]["jobs"] == 1 and body["orders"][0]["jobs_done"] == 0
    rest = server.call("GET", "/api/dashboard/orders?limit=2&offset=2", tokens["submit"]).json()
    assert [o["id"] for o in rest["orders"]] == [made[0]]
    turntables = server.call("GET", "/api/dashboard/orders?output_type=turntable", tokens["submit"]).json()
    assert [o["id"] for o in turntables["orders"]] == [made[1]] and turntables["orders"][0]["output_types"] == ["turntable"]
    assert server.call("GET", "/api/dashboard/orders?status=succeeded", tokens["submit"]).json()["total"] == 0
    assert server.call("GET", "/api/dashboard/orders", other).json()["total"] == 0  # not theirs
    assert server.call("GET", f"/api/dashboard/orders/{made[0]}", other).status_code == 404
    bad = server.call("GET", "/api/dashboard/orders?limit=0", tokens["submit"])
    assert bad.status_code == 422 and "limit" in bad.json()["detail"]
    # an unchanged view is a bodiless 304, so polling costs no JSON
    again = server.call("GET", "/api/dashboard/orders?limit=2", tokens["submit"],
                        headers={"If-None-Match": page.headers["etag"]})
    assert again.status_code == 304 and again.content == b""
    view = server.call("GET", f"/api/dashboard/orders/{made[0]}", tokens["submit"]).json()
    line = view["lines"][0]
    assert [n["id"] for n in line["workflow"]["nodes"]][:2] == ["setup", "step"]
    assert {"source": "setup", "target": "step"} in line["workflow"]["edges"]
    assert [j["status"] for j in line["jobs"]] == ["queued"] and line["jobs"][0]["nodes"] == {}
    for order_id in made:
        server.call("POST", f"/api/orders/{order_id}/cancel", tokens["submit"])


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_dashboard_in_chromium_against_a_real_server_and_worker(bearing_step, single_part_step, broken_step,
                                                               tmp_path: Path):
    tokens = {role: token(tmp_path / "farm", role) for role in ("submit", "worker", "admin")}
    server = FarmServer(tmp_path / "farm", lease_s=6).start()
    assert (DASHBOARD / "node_modules" / "playwright-core").is_dir(), "run scripts/setup.sh (npm ci in tools/dashboard)"
    assert Path(CHROMIUM).exists(), f"no Chromium at {CHROMIUM}: run scripts/setup.sh"
    worker = start_worker(server, tokens["worker"], tmp_path / "w", "w-dash", "--tags", "studio-a")
    config = {"url": server.url, "tokens": tokens, "steps": [str(bearing_step), str(single_part_step)],
              "broken": str(broken_step), "size": 48, "chromium": CHROMIUM, "timeout_ms": 400_000,
              "shots": str(ROOT / "docs" / "images"), "failure_shots": str(tmp_path), "server_pid": server.proc.pid if server.proc else 0}
    try:
        run = subprocess.run(["node", str(DASHBOARD / "e2e" / "dashboard.e2e.mjs")], cwd=DASHBOARD,
                             env={**os.environ, "HARTOMAT_E2E": json.dumps(config)},
                             capture_output=True, text=True, timeout=850)
    finally:
        stop_process(worker)
        server.stop()
    report: dict[str, Any] = json.loads(run.stdout.strip().splitlines()[-1]) if run.stdout.strip() else {}
    worker_log = (tmp_path / "w-dash.log").read_text(errors="replace")[-3000:]
    assert run.returncode == 0 and not report.get("problems"), \
        f"{run.stdout[-6000:]}\n{run.stderr[-3000:]}\nworker log:\n{worker_log}\npages at the failure: {tmp_path}"
    found = report["findings"]
    assert "node 'still' (blender_still): setting 'samples'" in found["refusals"][0], found["refusals"]
    assert "needs admin" in found["refusals"][2]
    assert found["still"] == {"width": 48, "height": 48}
    assert found["still_node_status"] == "succeeded"
    assert "Duration" in found["panel"] and "Attempts" in found["panel"] and "Log tail" in found["panel"]
    assert found["estimate"].startswith("Estimate: unknown (no successful job of"), found["estimate"]
    assert found["costs"].startswith("Machine time: ") and "Per node" in found["costs"], found["costs"]
    assert "still blender_still" in found["costs"] and "w-dash" in found["costs"], found["costs"]
    provenance = found["provenance"]
    import bpy

    assert f"Blender {bpy.app.version_string} (bpy module, build {bpy.app.build_hash.decode()})" in provenance
    assert "CYCLES on CPU, denoiser" in provenance and "w-dash" in provenance, provenance
    assert found["model"]["state"] == "ready" and "triangles" in found["model"]["caption"], found["model"]
    assert found["blocked_after"] == []
    assert "the server does not answer" in found["server_down"]
    assert found["output_type"]["mode"] == "graph" and found["output_type"]["modes"][-2:] == ["shadow", "graph"]
    assert found["output_type"]["overrides"]["still"]["samples"] == 2, found["output_type"]
    assert "unknown or revoked token" in found["revoked"] and found["token_left"] is None
    assert found["retry"] == [["bearing", "still", {"still": {"resolution_x": 48, "resolution_y": 48, "samples": 1}}]]
    assert found["statuses"].count("succeeded") == 1 and found["statuses"].count("cancelled") == 1, found
    assert "priority" in found["refusals"][1] and "100" in found["refusals"][1], found["refusals"]
    assert found["priority"] == [20, 40] and found["paused"].startswith("Paused by submit"), found
    assert found["deleted"][0] == 410 and "was deleted by submit" in found["deleted"][1], found["deleted"]
    assert found["worker_tags"] == "studio-a", found["worker_tags"]
    for name in ("signin", "submit-refused", "order", "order-phone", "orders", "orders-phone", "refused",
                 "workers", "output-type", "server-down", "order-paused", "order-delete"):
        assert (ROOT / "docs" / "images" / f"dashboard-{name}.png").stat().st_size > 5_000, name
