"""No file names from the network (issue 30, finding 2), against a real `hartomat serve` on 127.0.0.1.

Every name or port that arrives in a cache manifest, a part upload or a claim is a plain file name:
the server refuses others with a 422 naming the field, and a worker that is handed one anyway (an
entry stored before the rule, a server that lies) writes nothing outside its work folder. Cache
entries record which worker wrote them, an admin purges one worker's entries, and a stored file
that no longer hashes to its name is never served from the cache.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from farm_support import FarmServer, farm_cli, token

from engine.filenames import UnsafeName, inside, plain_name
from server_bridge.client import FarmClient
from server_bridge.parts import PartsUnusable, fetch_parts
from server_bridge.remote_cache import RemoteCache
from server_bridge.worker import claim_workdir

BAD_NAMES = ["/abs/path/x", "../../tmp/x", "a/../../x", "..", "a\\..\\x", ".hidden", "x" * 129, "a\x00b", ""]


@pytest.fixture(scope="module")
def farm(tmp_path_factory):
    data = tmp_path_factory.mktemp("farm-names")
    tokens = {role: token(data, role, name=role) for role in ("submit", "worker", "admin")}
    tokens["worker2"] = token(data, "worker", name="other-worker")
    server = FarmServer(data).start()
    yield server, tokens
    server.stop()


def register(server: FarmServer, tok: str) -> str:
    reply = server.call("POST", "/api/workers/register", tok, json={"name": "w"})
    assert reply.status_code == 201, reply.text
    worker_id: str = reply.json()["worker_id"]
    return worker_id


def cache_file(server: FarmServer, tok: str, body: bytes) -> str:
    sha = hashlib.sha256(body).hexdigest()
    assert server.call("POST", "/api/cache/files", tok, data=body, headers={"X-Sha256": sha}).status_code == 201
    return sha


def manifest(sha: str, size: int, name: str = "still.png", port: str = "image") -> dict[str, Any]:
    return {"step": "blender_still", "outputs": {port: [{"kind": "image", "role": None, "data": {}, "set": False,
                                                         "stored": [{"name": name, "sha256": sha, "size": size}]}]}}


def key(n: int) -> str:
    return hashlib.sha256(f"key {n}".encode()).hexdigest()


def test_plain_names_only():
    for good in ("still.png", "frame_0001.png", "Kugellager 6204.glb", "Шарикоподшипник.stl", "a.b-c_d"):
        assert plain_name(good, "name") == good
    for bad in [*BAD_NAMES, " lead", "trail ", 7, None]:
        with pytest.raises(UnsafeName, match="is not a plain file name"):
            plain_name(bad, "name")


def test_inside_refuses_a_link_out_of_the_root(tmp_path):
    root = tmp_path / "work"
    root.mkdir()
    (root / "link").symlink_to(tmp_path)
    assert inside(root, "jobs", "job-1") == root / "jobs" / "job-1"
    with pytest.raises(UnsafeName, match="leads outside"):
        inside(root, "link", "x")


@pytest.mark.parametrize("bad", BAD_NAMES)
def test_a_cache_manifest_naming_a_path_is_refused_and_not_stored(farm, bad):
    server, tokens = farm
    worker_id = register(server, tokens["worker"])
    body = b"cached image bytes"
    sha = cache_file(server, tokens["worker"], body)
    for entry, field in ((manifest(sha, len(body), name=bad), "name"), (manifest(sha, len(body), port=bad), "outputs")):
        reply = server.call("PUT", f"/api/cache/entries/{key(1)}", tokens["worker"], params={"worker_id": worker_id},
                            json=entry)
        assert reply.status_code == 422, reply.text
        assert field in reply.text
        assert server.call("GET", f"/api/cache/entries/{key(1)}", tokens["worker"]).status_code == 404


@pytest.mark.parametrize(("field", "value"), [("port", "../../escaped"), ("name", "/tmp/x1.png"),
                                              ("node_id", "../up"), ("name", "..")])
def test_a_part_upload_naming_a_path_is_refused(farm, field, value):
    server, tokens = farm
    worker_id = register(server, tokens["worker"])
    body = b"part bytes"
    query = {"worker_id": worker_id, "node_id": "turntable", "port": "frames", "name": "frame_0001.png", field: value}
    reply = server.call("POST", "/api/jobs/job-0000000000000000/parts", tokens["worker"], params=query, data=body,
                        headers={"X-Sha256": hashlib.sha256(body).hexdigest()})
    assert reply.status_code == 422, reply.text
    assert f"query '{field}'" in reply.json()["detail"] and "is not a plain file name" in reply.json()["detail"]


def _plant_entry(server: FarmServer, cache_key: str, entry: dict[str, Any], sha: str) -> None:
    """An entry stored before the rule (or by a server that lies): written into the store directly."""
    with sqlite3.connect(server.data / "farm.sqlite") as conn:
        conn.execute("INSERT INTO cache_entries (key, step, manifest, size, created_at, last_used, hits) "
                     "VALUES (?, 'blender_still', ?, 1, 0, 0, 0)", (cache_key, json.dumps(entry)))
        conn.execute("INSERT INTO cache_files VALUES (?, ?)", (cache_key, sha))


@pytest.mark.parametrize("how", ["name", "port"])
def test_a_worker_restores_no_cache_file_outside_its_folder(farm, tmp_path, how):
    server, tokens = farm
    worker_id = register(server, tokens["worker"])
    body = b"poisoned"
    sha = cache_file(server, tokens["worker"], body)
    escape = tmp_path / "escaped"  # where each bad entry would put its file
    entry = (manifest(sha, len(body), name=str(escape / "x1.png")) if how == "name" else
             manifest(sha, len(body), port="../../../../../../escaped"))
    planted = key(2 if how == "name" else 4)
    _plant_entry(server, planted, entry, sha)
    lines: list[str] = []
    root = tmp_path / "work" / "jobs" / "job-1" / "run-1" / "farm-cache"
    cache = RemoteCache(FarmClient(server.url, tokens["worker"]), root, worker_id, lines.append)
    assert cache.fetch(planted) is None  # a miss: the node runs instead
    assert "unusable" in lines[0] and "is not a plain file name" in lines[0]
    assert not list(tmp_path.rglob("escaped*")) and not list(tmp_path.rglob("x1.png"))


def test_an_assembling_worker_writes_no_part_outside_its_folder(farm, tmp_path):
    server, tokens = farm
    worker_id = register(server, tokens["worker"])
    body = b"frame"
    sha = cache_file(server, tokens["worker"], body)  # a file any worker may read
    _plant_entry(server, key(3), manifest(sha, len(body)), sha)
    job = {"part_jobs": ["job-a"], "parts": [{"job_id": "job-a", "node_id": "turntable", "port": "../../..",
                                             "name": "x1.png", "sha256": sha, "member": 0}]}
    dest = tmp_path / "work" / "jobs" / "job-1" / "run-1" / "parts"
    with pytest.raises(PartsUnusable) as caught:
        fetch_parts(FarmClient(server.url, tokens["worker"]), job, worker_id, dest)
    assert caught.value.jobs == ["job-a"] and "is not a plain file name" in str(caught.value)
    assert not list(tmp_path.rglob("x1.png"))


@pytest.mark.parametrize("job", [
    {"job_id": "../../x", "run_id": "run-1", "workflow": {"nodes": []}},
    {"job_id": "job-1", "run_id": "/tmp/x", "workflow": {"nodes": []}},
    {"job_id": "job-1", "run_id": "run-1", "workflow": {"nodes": [{"id": "../../../tmp/n", "step": "notify"}]}},
    {"job_id": "job-1", "run_id": "run-1", "workflow": {"nodes": []}, "part": {"node_id": "../x"}},
])
def test_a_claim_naming_a_path_is_refused_before_anything_is_written(tmp_path, job):
    with pytest.raises(UnsafeName):
        claim_workdir(tmp_path / "work", job)
    assert not (tmp_path / "work").exists()


def test_cache_entries_record_their_writer_and_an_admin_purges_one_worker(farm):
    server, tokens = farm
    mine, other = register(server, tokens["worker"]), register(server, tokens["worker2"])
    for n, (tok, worker_id) in enumerate(((tokens["worker"], mine), (tokens["worker2"], other))):
        body = f"entry {n}".encode()
        reply = server.call("PUT", f"/api/cache/entries/{key(10 + n)}", tok, params={"worker_id": worker_id},
                            json=manifest(cache_file(server, tok, body), len(body)))
        assert reply.status_code == 200 and reply.json()["kept"], reply.text
    # a token can write only as its own workers
    stolen = server.call("PUT", f"/api/cache/entries/{key(12)}", tokens["worker2"], params={"worker_id": mine},
                         json=manifest(cache_file(server, tokens["worker2"], b"x"), 1))
    assert stolen.status_code == 404
    with sqlite3.connect(server.data / "farm.sqlite") as conn:
        writers = dict(conn.execute("SELECT key, worker_id FROM cache_entries WHERE key IN (?, ?, ?)",
                                    (key(10), key(11), key(12))).fetchall())
    assert writers == {key(10): mine, key(11): other}
    purged = server.call("DELETE", "/api/cache", tokens["admin"], params={"worker_id": other})
    assert purged.status_code == 200 and purged.json() == {"cleared": 1}
    assert server.call("GET", f"/api/cache/entries/{key(11)}", tokens["worker"]).status_code == 404
    assert server.call("GET", f"/api/cache/entries/{key(10)}", tokens["worker"]).status_code == 200
    assert server.call("DELETE", "/api/cache", tokens["worker"], params={"worker_id": mine}).status_code == 403
    cleared = farm_cli(server, tokens["admin"], "farm", "cache", "clear", "--worker", mine, timeout=60)
    assert cleared.returncode == 0 and cleared.stdout.strip() == "cleared 1 cache entries", cleared
    assert server.call("GET", f"/api/cache/entries/{key(10)}", tokens["worker"]).status_code == 404


def test_a_cached_file_changed_on_disk_is_never_served(farm):
    server, tokens = farm
    worker_id = register(server, tokens["worker"])
    body = b"the real render"
    sha = cache_file(server, tokens["worker"], body)
    assert server.call("PUT", f"/api/cache/entries/{key(20)}", tokens["worker"], params={"worker_id": worker_id},
                       json=manifest(sha, len(body))).json()["kept"]
    assert server.call("GET", f"/api/cache/entries/{key(20)}", tokens["worker"]).status_code == 200
    stored: Path = server.data / "files" / sha[:2] / sha
    stored.write_bytes(b"the fake render")  # same size, other bytes
    assert server.call("GET", f"/api/cache/entries/{key(20)}", tokens["worker"]).status_code == 404
    with sqlite3.connect(server.data / "farm.sqlite") as conn:  # the entry is dropped, not kept for later
        assert conn.execute("SELECT count(*) FROM cache_entries WHERE key = ?", (key(20),)).fetchone() == (0,)
