"""The farm-wide artifact cache over HTTP on a real server: sha256-checked uploads, the first
entry per key kept, an entry naming files never uploaded refused, a lookup whose file vanished
is a miss, least recently used entries evicted past --cache-max-gb, `hartomat farm cache`."""

from __future__ import annotations

import hashlib
import json
import subprocess

import pytest
from farm_support import CLI, FarmServer, token

GB = 1024**3


@pytest.fixture()
def farm(tmp_path):
    tokens = {role: token(tmp_path, role) for role in ("submit", "worker", "admin")}
    server = FarmServer(tmp_path, env={"HARTOMAT_CACHE_MAX_GB": str(300 / GB)}).start()
    yield server, tokens
    server.stop()


def upload(server: FarmServer, tok: str, body: bytes, sha: str | None = None) -> int:
    reply = server.call("POST", "/api/cache/files", tok, data=body,
                        headers={"X-Sha256": sha or hashlib.sha256(body).hexdigest()})
    return reply.status_code


def entry(*bodies: bytes) -> dict:
    stored = [{"name": f"f{i}.bin", "sha256": hashlib.sha256(b).hexdigest(), "size": len(b)}
              for i, b in enumerate(bodies)]
    return {"step": "occ_glb_export", "outputs": {"glb": [{"kind": "glb", "role": None, "data": {"n": len(bodies)},
                                                             "set": len(bodies) > 1, "stored": stored}]}}


def key(n: int) -> str:
    return hashlib.sha256(str(n).encode()).hexdigest()


def test_entries_are_checked_first_kept_missed_when_files_vanish_and_evicted_lru(farm):
    server, tokens = farm
    worker = tokens["worker"]
    wid = {"worker_id": server.call("POST", "/api/workers/register", worker, json={}).json()["worker_id"]}
    a, b, c = b"a" * 100, b"b" * 150, b"c" * 100
    assert upload(server, worker, a, sha="0" * 64) in (400, 422)  # bytes that do not match are refused
    assert upload(server, worker, a) == 201
    missing = server.call("PUT", f"/api/cache/entries/{key(1)}", worker, params=wid, json=entry(a, b))
    assert missing.status_code == 422 and "not uploaded" in missing.json()["detail"]
    assert server.call("PUT", f"/api/cache/entries/{key(1)}", worker, params=wid, json=entry(a)).json()["kept"] is True
    assert server.call("PUT", f"/api/cache/entries/{key(1)}", worker, params=wid, json=entry(a)).json()["kept"] is False
    hit = server.call("GET", f"/api/cache/entries/{key(1)}", worker)
    assert hit.status_code == 200 and hit.json()["outputs"]["glb"][0]["data"] == {"n": 1}
    assert server.call("GET", f"/api/cache/entries/{key(1)}", tokens["submit"]).status_code == 403
    assert server.call("GET", f"/api/cache/entries/{key(9)}", worker).status_code == 404
    bad = entry(a)
    bad["outputs"]["glb"][0]["stored"][0]["sha256"] = "zz"
    for path, body in ((f"/api/cache/entries/{key(4)}", bad), ("/api/cache/entries/not-a-key", entry(a)),
                       (f"/api/cache/entries/{key(4)}", {"step": "x", "outputs": [1]})):
        refused = server.call("PUT", path, worker, params=wid, json=body)
        assert refused.status_code == 422 and refused.json()["problems"], refused.text

    assert upload(server, worker, b) == 201 and upload(server, worker, c) == 201
    server.call("PUT", f"/api/cache/entries/{key(2)}", worker, params=wid, json=entry(b))
    server.call("GET", f"/api/cache/entries/{key(1)}", worker)  # key 1 is now the most recent
    server.call("PUT", f"/api/cache/entries/{key(3)}", worker, params=wid, json=entry(c))  # 350 bytes > 300: evict key 2
    stats = server.call("GET", "/api/cache", tokens["admin"]).json()
    assert (stats["entries"], stats["bytes"], stats["hits"]) == (2, 200, 2)
    assert server.call("GET", f"/api/cache/entries/{key(2)}", worker).status_code == 404
    b_sha = hashlib.sha256(b).hexdigest()
    assert not (server.data / "files" / b_sha[:2] / b_sha).exists()  # an evicted entry's file goes too

    c_sha = hashlib.sha256(c).hexdigest()
    (server.data / "files" / c_sha[:2] / c_sha).unlink()  # vanished from disk: a miss, and the entry goes
    assert server.call("GET", f"/api/cache/entries/{key(3)}", worker).status_code == 404
    assert server.call("GET", "/api/cache", tokens["admin"]).json()["entries"] == 1

    def farm_cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([*CLI, "farm", "cache", *args, "--server", server.url, "--token", tokens["admin"]],
                              capture_output=True, text=True, timeout=60)

    shown = farm_cli("stats")
    assert shown.returncode == 0 and "1 entries" in shown.stdout and "occ_glb_export 1" in shown.stdout
    assert farm_cli("clear").stdout.strip() == "cleared 1 cache entries"
    assert json.loads(farm_cli("stats", "--json").stdout)["entries"] == 0
    a_sha = hashlib.sha256(a).hexdigest()
    assert not (server.data / "files" / a_sha[:2] / a_sha).exists()
