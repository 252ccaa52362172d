"""Token revocation against a real `hartomat serve`: by the CLI in another process and by the
admin API, each refused from the very next request (no cache outlives a revocation)."""

from __future__ import annotations

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
    reply = session.get(f"{server.url}/api/orders", timeout=30)
    assert reply.status_code == 401 and reply.json()["detail"] == "unknown or revoked token"
    table = hartomat_token(server, "list").stdout
    assert any(line.startswith(record["id"]) and "revoked 20" in line for line in table.splitlines()), table


def test_a_worker_token_revoked_by_the_admin_api_is_refused_at_once(farm):
    server, admin = farm
    worker = token(server.data, "worker", "render-7")
    worker_id = server.call("POST", "/api/workers/register", worker, json={"capabilities": ["bpy"]}).json()["worker_id"]
    assert server.call("POST", f"/api/workers/{worker_id}/claim", worker, json={}).status_code == 204
    record = next(t for t in server.call("GET", "/api/tokens", admin).json() if t["name"] == "render-7")
    revoked = server.call("POST", f"/api/tokens/{record['id']}/revoke", admin)
    assert revoked.status_code == 200 and revoked.json()["revoked"] is True and revoked.json()["revoked_at"] > 0
    assert server.call("POST", f"/api/workers/{worker_id}/claim", worker, json={}).status_code == 401
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
