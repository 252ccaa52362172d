"""Token revocation against a real `hartomat serve`: by the CLI in another process and by the
admin API, each refused from the very next request (no cache outlives a revocation)."""

from __future__ import annotations

import hashlib
import json
import subprocess

import pytest
import requests
from farm_support import CLI, FarmServer, token


@pytest.fixture(scope="module")
def farm(tmp_path_factory: pytest.TempPathFactory):
    data = tmp_path_factory.mktemp("farm-tokens")
    admin = token(data, "admin", "ops")
    server = FarmServer(data).start()
    yield server, admin
    server.stop()


def hartomat_token(server: FarmServer, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*CLI, "token", *args, "--data", str(server.data)], capture_output=True, text=True,
                          timeout=60)


def test_a_token_revoked_by_the_cli_is_refused_at_once_by_the_running_server(farm):
    server, admin = farm
    submit = token(server.data, "submit", "team-a")
    session = requests.Session()  # one kept-alive connection: nothing about it may outlive the revocation
    session.headers["Authorization"] = f"Bearer {submit}"
    assert session.get(f"{server.url}/api/orders", timeout=30).status_code == 200
    listed = json.loads(hartomat_token(server, "list", "--json").stdout)
    record = next(t for t in listed if t["name"] == "team-a")
    assert record["revoked"] is False and submit not in json.dumps(listed)
    done = hartomat_token(server, "revoke", record["id"])
    assert done.returncode == 0 and "revoked" in done.stdout, done.stderr
    worker, worker_id, job_id = held_job(server, admin, "render-cli")
    done = hartomat_token(server, "revoke", "render-cli")
    assert done.returncode == 0 and "1 job(s) its workers held are queued again" in done.stdout, done.stdout
    assert server.call("POST", f"/api/jobs/{job_id}/heartbeat", worker, json={"worker_id": worker_id}).status_code == 401
    assert server.call("GET", f"/api/jobs/{job_id}", admin).json()["status"] == "queued"
    reply = session.get(f"{server.url}/api/orders", timeout=30)
    assert reply.status_code == 401 and reply.json()["detail"] == "unknown or revoked token"
    table = hartomat_token(server, "list").stdout
    assert any(line.startswith(record["id"]) and "revoked 20" in line for line in table.splitlines()), table


def held_job(server: FarmServer, admin: str, name: str) -> tuple[str, str, str]:
    """A worker token `name` whose registered worker holds one job: (token, worker id, job id)."""
    content = f"ISO-10303-21; {name}".encode()
    sha = hashlib.sha256(content).hexdigest()
    assert server.call("POST", "/api/files", admin, data=content, headers={"X-Sha256": sha}).status_code == 201
    server.call("POST", "/api/orders", admin, json={"lines": [{"output_type": "still", "step_sha256": sha}]})
    worker = token(server.data, "worker", name)
    worker_id = server.call("POST", "/api/workers/register", worker,
                            json={"capabilities": ["bpy", "ocp"]}).json()["worker_id"]
    job = server.call("POST", f"/api/workers/{worker_id}/claim", worker, json={})
    assert job.status_code == 200, job.text
    return worker, worker_id, job.json()["job_id"]


def test_a_worker_token_revoked_by_the_admin_api_is_refused_at_once_and_its_job_requeued(farm):
    server, admin = farm
    worker, worker_id, job_id = held_job(server, admin, "render-7")
    record = next(t for t in server.call("GET", "/api/tokens", admin).json() if t["name"] == "render-7")
    revoked = server.call("POST", f"/api/tokens/{record['id']}/revoke", admin)
    assert revoked.status_code == 200 and revoked.json()["revoked"] is True and revoked.json()["revoked_at"] > 0
    assert server.call("POST", f"/api/workers/{worker_id}/claim", worker, json={}).status_code == 401
    assert server.call("POST", f"/api/jobs/{job_id}/heartbeat", worker, json={"worker_id": worker_id}).status_code == 401
    job = server.call("GET", f"/api/jobs/{job_id}", admin).json()
    assert job["status"] == "queued" and job["runs"][-1]["status"] == "handed_back"  # not after a lease
    again = server.call("POST", f"/api/tokens/{record['id']}/revoke", admin)  # idempotent
    assert again.status_code == 200 and again.json()["revoked_at"] == revoked.json()["revoked_at"]


def test_revoking_by_name_needs_one_live_token_of_that_name(farm):
    server, admin = farm
    first, second = token(server.data, "submit", "shared-name"), token(server.data, "submit", "shared-name")
    reply = server.call("POST", "/api/tokens/shared-name/revoke", admin)
    assert reply.status_code == 409 and "revoke one by id" in reply.json()["detail"]
    assert server.call("GET", "/api/orders", first).status_code == 200
    assert server.call("POST", "/api/tokens/tok-0000000000000000/revoke", admin).status_code == 404
    missing = hartomat_token(server, "revoke", "no-such-token")
    assert missing.returncode == 2 and "no token with id or name 'no-such-token'" in missing.stderr
    assert server.call("GET", "/api/orders", second).status_code == 200
