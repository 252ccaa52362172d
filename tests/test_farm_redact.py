"""Submitters never read a worker's or the server's folders: against a real `hartomat serve`,
a job's error, logs and run records name files by their last name for the submitter, in full
for an admin."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator

import pytest
from farm_support import FarmServer, token

from server_bridge.redact import relative_names

WORK = "/srv/hartomat-work/w7/run-3f2a"
ERROR = f"node 'still': cannot read {WORK}/cad/part.glb: template index /opt/farm/templates/index.json is broken"


@pytest.fixture(scope="module")
def farm(tmp_path_factory) -> Iterator[tuple[FarmServer, dict[str, str]]]:
    data = tmp_path_factory.mktemp("redact")
    tokens = {role: token(data, role) for role in ("submit", "worker", "admin")}
    server = FarmServer(data, lease_s=5).start()
    yield server, tokens
    server.stop()


def test_a_failed_jobs_paths_read_as_relative_names_to_the_submitter(farm):
    server, tokens = farm
    content = b"ISO-10303-21; redact"
    sha = hashlib.sha256(content).hexdigest()
    server.call("POST", "/api/files", tokens["submit"], data=content, headers={"X-Sha256": sha})
    order = server.call("POST", "/api/orders", tokens["submit"], json={
        "lines": [{"output_type": "still", "step_sha256": sha}]}).json()
    worker = server.call("POST", "/api/workers/register", tokens["worker"],
                         json={"capabilities": ["bpy", "ocp"]}).json()["worker_id"]
    job = server.call("POST", f"/api/workers/{worker}/claim", tokens["worker"], json={"wait_s": 5}).json()
    server.call("POST", f"/api/jobs/{job['job_id']}/heartbeat", tokens["worker"], json={
        "worker_id": worker, "logs": [f"wrote {WORK}/still.png", "reading C:\\farm\\work\\part.step"]})
    reply = server.call("POST", f"/api/jobs/{job['job_id']}/complete", tokens["worker"], json={
        "worker_id": worker, "status": "failed", "error": ERROR,
        "summary": {"nodes": {"still": {"status": "failed", "error": {"message": ERROR}}}}})
    assert reply.status_code == 200, reply.text
    seen = [server.call("GET", path, tokens["submit"]).text for path in
            (f"/api/jobs/{job['job_id']}", f"/api/orders/{order['id']}", f"/api/dashboard/orders/{order['id']}")]
    for text in seen:
        assert "/srv/" not in text and "/opt/farm" not in text and "C:\\\\farm" not in text, text
    detail = json.loads(seen[0])
    assert "cannot read part.glb: template index index.json is broken" in detail["error"]
    assert detail["logs"] == ["wrote still.png", "reading part.step"]
    admin = server.call("GET", f"/api/jobs/{job['job_id']}", tokens["admin"]).json()
    assert admin["error"] == ERROR  # operators keep the whole record


@pytest.mark.parametrize(("text", "shown"), [
    ("webhook http://127.0.0.1:9/hook: not delivered", "webhook http://127.0.0.1:9/hook: not delivered"),
    ("frames 1/24 on 2026/12/07", "frames 1/24 on 2026/12/07"),
    ("hook http://[2606:4700::1]/a/b sent", "hook http://[2606:4700::1]/a/b sent"),
    ("see cad/part.glb (relative)", "see cad/part.glb (relative)"),
    ("open '/home/op/.config/x.toml' failed.", "open 'x.toml' failed."),
    ("in (/tmp/a/b.png)", "in (b.png)"),
])
def test_relative_names_keep_urls_fractions_and_relative_paths(text, shown):
    assert relative_names(text) == shown
