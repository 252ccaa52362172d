"""Nothing left behind (server_bridge/housekeeping.py), against a real `hartomat serve`: the temp
file of an upload cut off by a killed server is gone after the restart, and the outputs a lost,
failed or cancelled run uploaded but never published are removed, rows and files, once the job is
settled; files something else still refers to stay."""

from __future__ import annotations

import hashlib
import signal
import socket
import sqlite3
from pathlib import Path

import pytest
from farm_support import FarmServer, token, wait_until
from test_farm_queue import Api, claim, complete, register, submit, upload_asset


@pytest.fixture()
def farm(tmp_path: Path):
    tokens = {role: token(tmp_path, role) for role in ("submit", "worker", "admin")}
    server = FarmServer(tmp_path, lease_s=1.0).start()
    yield server, {role: Api(server, tok) for role, tok in tokens.items()}
    server.stop()


def stored(server: FarmServer, content: bytes) -> Path:
    sha = hashlib.sha256(content).hexdigest()
    return server.data / "files" / sha[:2] / sha


def asset_rows(server: FarmServer, job_id: str) -> list[tuple[str, int]]:
    with sqlite3.connect(server.data / "farm.sqlite") as db:
        return db.execute("SELECT role, committed FROM media_assets WHERE job_id = ? ORDER BY role",
                          (job_id,)).fetchall()


def test_a_temp_file_of_an_upload_cut_off_by_a_killed_server_is_cleared_at_start(farm):
    server, apis = farm
    content = b"ISO-10303-21; " + b"x" * 200_000
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=30)
    sock.sendall(f"POST /api/files HTTP/1.1\r\nHost: farm\r\nAuthorization: {apis['submit'].session.headers['Authorization']}"
                 f"\r\nX-Sha256: {hashlib.sha256(content).hexdigest()}\r\nContent-Length: {len(content)}\r\n\r\n".encode())
    sock.sendall(content[:100_000])
    incoming = server.data / "files" / ".incoming"
    wait_until(lambda: any(p.stat().st_size for p in incoming.iterdir()), 10, "the upload's temp file")
    server.stop(signal.SIGKILL)
    sock.close()
    assert len(list(incoming.iterdir())) == 1  # what a killed server leaves behind
    server.start()
    assert list(incoming.iterdir()) == []
    assert apis["submit"]("GET", "/api/orders").status_code == 200


def test_a_lost_runs_unpublished_assets_are_removed_once_the_job_succeeds_elsewhere(farm):
    server, apis = farm
    worker = apis["worker"]
    order = submit(apis["submit"], 1)
    lost, rescuer = register(worker), register(worker)
    job = claim(worker, lost)
    assert upload_asset(worker, lost, job["job_id"], b"PNG lost only", role="preview").status_code == 201
    assert upload_asset(worker, lost, job["job_id"], b"PNG kept", role="thumbnail").status_code == 201
    rerun = wait_until(lambda: claim(worker, rescuer), 15, "the job to come back after its lease")
    assert upload_asset(worker, rescuer, rerun["job_id"], b"PNG final").status_code == 201
    assert upload_asset(worker, rescuer, rerun["job_id"], b"PNG kept", role="still").status_code == 201
    assert asset_rows(server, job["job_id"]) == [("preview", 0), ("primary_render", 0), ("still", 0), ("thumbnail", 0)]
    assert complete(worker, rescuer, rerun["job_id"]).json()["job"] == "succeeded"
    wait_until(lambda: len(asset_rows(server, job["job_id"])) == 2, 15, "the sweep of the lost run's assets")
    assert asset_rows(server, job["job_id"]) == [("primary_render", 1), ("still", 1)]
    assert not stored(server, b"PNG lost only").exists()
    assert stored(server, b"PNG kept").exists() and stored(server, b"PNG final").exists()  # published: kept
    assets = apis["submit"]("GET", f"/api/orders/{order['id']}").json()["lines"][0]["assets"]
    assert sorted(apis["submit"]("GET", f"/api/assets/{a['id']}").content for a in assets) == [b"PNG final", b"PNG kept"]
    step = order["lines"][0]["step_sha256"]
    assert (server.data / "files" / step[:2] / step).exists()  # the order's STEP file stays


@pytest.mark.parametrize("ending", ["failed", "cancelled"])
def test_a_job_that_ends_unpublished_leaves_no_asset_row_or_file(farm, ending):
    server, apis = farm
    worker = apis["worker"]
    order = submit(apis["submit"], 1, "turntable")
    holder = register(worker)
    job = claim(worker, holder)
    content = f"MP4 {ending}".encode()
    assert upload_asset(worker, holder, job["job_id"], content).status_code == 201
    if ending == "cancelled":
        apis["submit"]("POST", f"/api/orders/{order['id']}/cancel")
    else:
        for other in (register(worker), register(worker)):  # three failures on three workers: failed for good
            complete(worker, holder, job["job_id"], "failed", error="render crashed")
            holder = other
            job = wait_until(lambda h=other: claim(worker, h), 15, "the retry")
    assert complete(worker, holder, job["job_id"], ending, error="render crashed").json()["job"] == ending
    wait_until(lambda: asset_rows(server, job["job_id"]) == [], 15, "the sweep")
    assert not stored(server, content).exists()


def test_an_upload_that_arrives_after_its_job_settled_keeps_no_file(farm):
    server, apis = farm
    worker = apis["worker"]
    submit(apis["submit"], 1)
    slow, fast = register(worker), register(worker)
    job = claim(worker, slow)
    content = b"PNG from a worker that lost its lease mid-upload" * 1000
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=30)
    sock.sendall(f"POST /api/jobs/{job['job_id']}/assets?worker_id={slow}&role=primary_render HTTP/1.1\r\n"
                 f"Host: farm\r\nAuthorization: {worker.session.headers['Authorization']}\r\n"
                 f"X-Sha256: {hashlib.sha256(content).hexdigest()}\r\nContent-Length: {len(content)}\r\n\r\n".encode())
    sock.sendall(content[:1000])  # the job is still held when the upload starts ...
    rerun = wait_until(lambda: claim(worker, fast), 15, "the job to come back after its lease")
    complete(worker, fast, rerun["job_id"])  # ... and settled before it ends
    sock.sendall(content[1000:])
    with sock:
        head = sock.recv(65536).decode("latin-1")
    assert head.startswith("HTTP/1.1 409"), head
    assert not stored(server, content).exists()
    assert list((server.data / "files" / ".incoming").iterdir()) == []
