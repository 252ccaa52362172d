"""The gate in front of the farm API (server_bridge/guard.py, errors.py, jsonbody.py, faults.py),
against real `hartomat serve` processes: tokens checked before bodies are read, bodies capped,
NaN refused, one error shape, storage trouble answered 503/507, and the test-mode fault switch."""

from __future__ import annotations

import hashlib
import socket
import sqlite3
from pathlib import Path

import pytest
from farm_support import FarmServer, token, wait_until

ROLES = ("submit", "worker", "admin")


@pytest.fixture(scope="module")
def farm(tmp_path_factory: pytest.TempPathFactory):
    data = tmp_path_factory.mktemp("farm-guard")
    tokens = {role: token(data, role) for role in ROLES}
    server = FarmServer(data, test_mode=True, env={"HARTOMAT_DB_BUSY_S": "0.3"}).start()
    yield server, tokens
    server.stop()


def test_the_fault_switch_answers_503_for_the_seconds_asked_then_clears(farm):
    server, tokens = farm
    assert server.call("GET", "/api/orders", tokens["submit"]).status_code == 200
    reply = server.call("POST", "/api/test/fault", tokens["admin"], json={"status": 503, "seconds": 1.5})
    assert reply.status_code == 200 and reply.json()["status"] == 503, reply.text
    faulted = server.call("GET", "/api/orders", tokens["submit"])
    assert faulted.status_code == 503 and faulted.headers["Retry-After"] == "1"
    assert "fault injected" in faulted.json()["detail"] and faulted.json()["problems"] == []
    assert server.call("POST", "/api/workers/register", None, json={}).status_code == 503  # before the token
    assert server.call("GET", "/health", None).status_code == 200
    assert server.call("GET", "/api/test/fault", tokens["admin"]).json()["status"] == 503
    wait_until(lambda: server.call("GET", "/api/orders", tokens["submit"]).status_code == 200, 10, "fault expiry")
    server.call("POST", "/api/test/fault", tokens["admin"], json={"status": 500, "seconds": 60, "retry_after": None})
    reply = server.call("GET", "/api/orders", tokens["submit"])
    assert reply.status_code == 500 and "Retry-After" not in reply.headers
    assert server.call("POST", "/api/test/fault", tokens["admin"], json={"seconds": 0}).json()["status"] is None
    assert server.call("GET", "/api/orders", tokens["submit"]).status_code == 200


def test_the_fault_switch_is_for_admins_only(farm):
    server, tokens = farm
    for role in ("submit", "worker"):
        assert server.call("POST", "/api/test/fault", tokens[role], json={"seconds": 5}).status_code == 403
    assert server.call("POST", "/api/test/fault", tokens["admin"], json={"seconds": -1}).status_code == 422
    assert server.call("GET", "/api/orders", tokens["submit"]).status_code == 200


def test_a_server_not_in_test_mode_has_no_fault_switch(tmp_path):
    admin = token(tmp_path, "admin")
    server = FarmServer(tmp_path).start()
    try:
        reply = server.call("POST", "/api/test/fault", admin, json={"seconds": 30})
        assert reply.status_code == 404
        assert reply.json() == {"detail": "Not Found", "problems": []}
        assert server.call("GET", "/api/workers", admin).status_code == 200
        assert "/api/test/fault" not in server.call("GET", "/openapi.json", None).json()["paths"]
    finally:
        server.stop()


def rss_mb(server: FarmServer) -> float:
    assert server.proc is not None
    status = Path(f"/proc/{server.proc.pid}/status").read_text()
    return int(next(line for line in status.splitlines() if line.startswith("VmRSS")).split()[1]) / 1024


def raw_post(server: FarmServer, path: str, length: int, headers: str = "") -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=30)
    sock.sendall(f"POST {path} HTTP/1.1\r\nHost: farm\r\nContent-Type: application/json\r\n"
                 f"Content-Length: {length}\r\n{headers}\r\n".encode())
    return sock


def test_a_request_without_a_valid_token_is_answered_401_before_its_body_is_sent(farm):
    server, _ = farm
    for auth in ("", "Authorization: Bearer hm_submit_forged\r\n"):
        sock = raw_post(server, "/api/orders", 50 * 1024 * 1024, auth)
        with sock:
            sock.sendall(b'{"lines": [' + b"1, " * 20000)  # 60 kB of the 50 MB declared
            head = sock.recv(65536).decode("latin-1")  # the answer comes while 49.9 MB are still unsent
        assert head.startswith("HTTP/1.1 401"), head


def test_a_50_mb_body_without_a_token_leaves_server_memory_unchanged(farm):
    server, tokens = farm
    size, chunk = 50 * 1024 * 1024, b" " * (1024 * 1024)
    before = rss_mb(server)
    sock = raw_post(server, "/api/orders", size)
    with sock:
        sock.sendall(b"[")
        for _ in range(size // len(chunk)):
            sock.sendall(chunk)
        head = sock.recv(65536).decode("latin-1")
    grown = rss_mb(server) - before
    assert head.startswith("HTTP/1.1 401"), head
    assert grown < 10, f"server memory grew by {grown:.0f} MB for a refused 50 MB body"
    assert server.call("GET", "/api/orders", tokens["submit"]).status_code == 200


def test_json_bodies_are_capped_even_for_valid_tokens_but_uploads_stream(farm):
    server, tokens = farm
    big = b'{"lines": [' + b'{"output_type": "still"},' * 60000 + b'{"output_type": "still"}]}'  # 1.5 MB
    declared = server.call("POST", "/api/orders", tokens["submit"], data=big,
                           headers={"Content-Type": "application/json"})
    assert declared.status_code == 413 and "1048576 byte limit" in declared.json()["detail"]
    chunked = server.call("POST", "/api/orders", tokens["submit"], headers={"Content-Type": "application/json"},
                          data=(big[i:i + 65536] for i in range(0, len(big), 65536)))  # no Content-Length
    assert chunked.status_code == 413, chunked.text
    wrong_role = server.call("POST", "/api/workers/register", tokens["submit"], data=big)
    assert wrong_role.status_code == 413
    content = b"ISO-10303-21; " + b"x" * (3 * 1024 * 1024)  # uploads keep their own (512 MiB) limit
    sha = hashlib.sha256(content).hexdigest()
    upload = server.call("POST", "/api/files", tokens["submit"], data=content, headers={"X-Sha256": sha})
    assert upload.status_code == 201 and upload.json()["size"] == len(content)


@pytest.mark.parametrize("role, path, body", [
    ("worker", "/api/workers/wrk-x/claim", b'{"wait_s": NaN}'),
    ("submit", "/api/orders", b'{"lines": NaN}'),
    ("submit", "/api/orders", b'{"lines": [{"output_type": "still", "overrides": {"still": {"samples": Infinity}}}]}'),
    ("submit", "/api/orders", b'{"lines": [{"output_type": "still", "overrides": {"still": {"x": -Infinity}}}]}'),
    ("worker", "/api/workers/wrk-x/claim", b'{"wait_s": 1e999}'),
    ("admin", "/api/workflows", b'{"version": 1, "name": "n", "family": "still", "ui": {"zoom": NaN}}'),
])
def test_nan_and_infinity_are_refused_with_422_naming_them(farm, role, path, body):
    server, tokens = farm
    reply = server.call("POST", path, tokens[role], data=body, headers={"Content-Type": "application/json"})
    assert reply.status_code == 422, reply.text
    problem = reply.json()["problems"][0]
    assert problem["code"] == "json_invalid" and "only finite numbers" in problem["message"]
    assert "JSON" in reply.json()["detail"]


def test_an_integer_too_long_to_convert_gets_422_naming_it(farm):
    server, tokens = farm
    body = b'{"lines": [{"output_type": "still", "overrides": {"still": {"samples": ' + b"9" * 5000 + b"}}}]}"
    reply = server.call("POST", "/api/orders", tokens["submit"], data=body, headers={"Content-Type": "application/json"})
    assert reply.status_code == 422, reply.text
    problem = reply.json()["problems"][0]
    assert problem["code"] == "json_invalid" and "integer of 5000 digits is too long" in problem["message"]


@pytest.mark.parametrize("body", [{}, {"version": 1, "name": "empty", "family": "still", "nodes": [], "edges": []}])
def test_an_empty_workflow_is_refused(farm, body):
    server, tokens = farm
    before = server.call("GET", "/api/workflows", tokens["admin"]).json()
    reply = server.call("POST", "/api/workflows", tokens["admin"], json=body)
    assert reply.status_code == 422 and reply.json()["problems"][0]["code"] == "empty_workflow", reply.text
    assert server.call("GET", "/api/workflows", tokens["admin"]).json() == before


@pytest.mark.parametrize("method, path, role, kwargs, status", [
    ("POST", "/api/orders", "submit", {"json": {"lines": []}}, 422),
    ("POST", "/api/orders", "submit", {"data": b"{not json", "headers": {"Content-Type": "application/json"}}, 422),
    ("GET", "/api/orders?limit=-3", "submit", {}, 422),
    ("GET", "/api/orders/ord-none", "submit", {}, 404),
    ("GET", "/api/nowhere", "submit", {}, 404),
    ("DELETE", "/api/orders", "submit", {}, 405),
    ("POST", "/api/tokens", "submit", {"json": {"role": "admin"}}, 403),
    ("POST", "/api/files", "submit", {"data": b"x", "headers": {"X-Sha256": "nope"}}, 422),
    ("GET", "/api/orders", None, {}, 401),
])
def test_every_refusal_has_one_shape(farm, method, path, role, kwargs, status):
    server, tokens = farm
    reply = server.call(method, path, tokens[role] if role else None, **kwargs)
    assert reply.status_code == status, reply.text
    body = reply.json()
    assert set(body) == {"detail", "problems"} and isinstance(body["detail"], str) and body["detail"]
    assert all(isinstance(p["code"], str) and isinstance(p["message"], str) for p in body["problems"])
    if status == 422:  # the detail line names the first problem, whose location is structured
        assert body["problems"][0]["message"] in body["detail"] and body["problems"][0]["loc"]


def test_a_locked_database_answers_503_with_retry_after_and_recovers(farm):
    server, tokens = farm
    holder = sqlite3.connect(server.data / "farm.sqlite", isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")  # another process holds the write lock (an operator's sqlite3 shell)
    try:
        reply = server.call("POST", "/api/tokens", tokens["admin"], json={"role": "submit", "name": "while-locked"})
        assert reply.status_code == 503 and reply.headers["Retry-After"] == "1", reply.text
        assert "locked by another process" in reply.json()["detail"]
        assert server.call("GET", "/api/orders", tokens["submit"]).status_code == 200  # reads go on
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert server.call("POST", "/api/tokens", tokens["admin"], json={"role": "submit"}).status_code == 201


def test_a_full_disk_answers_507_keeps_nothing_half_written_and_recovers(tmp_path):
    # The server runs in its own mount namespace with a 4 MiB tmpfs as its data folder.
    data, outside = tmp_path / "data", tmp_path / "outside"
    data.mkdir()
    outside.mkdir()
    script = ('d=$1 o=$2 && shift 2 && mount -t tmpfs -o size=4m tmpfs "$d" && '
              '"$1" -m engine token create --role submit --data "$d" > "$o/submit" && exec "$@"')
    prefix = ["unshare", "--map-root-user", "--mount", "sh", "-c", script, "sh", str(data), str(outside)]
    server = FarmServer(data, prefix=prefix)
    server.start()
    try:
        submit = (outside / "submit").read_text().strip()
        inside = Path(f"/proc/{server.proc.pid}/root") / str(data).lstrip("/")  # type: ignore[union-attr]
        statuses, stored = [], []
        for i in range(8):
            content = bytes([i]) * (900 * 1024)
            sha = hashlib.sha256(content).hexdigest()
            reply = server.call("POST", "/api/files", submit, data=content, headers={"X-Sha256": sha})
            statuses.append(reply.status_code)
            if reply.status_code == 201:
                stored.append(sha)
            else:
                assert reply.status_code == 507, reply.text
                assert "No space left on device" in reply.json()["detail"] and "nothing was stored" in reply.json()["detail"]
        assert 507 in statuses and stored, statuses
        assert list((inside / "files" / ".incoming").iterdir()) == []  # the partial upload is gone
        orders = [server.call("POST", "/api/orders", submit, json={
            "lines": [{"output_type": "still", "step_sha256": stored[0], "product": "p" * 200}] * 50,
            "webhook_url": "https://example.com/" + "x" * 1900}) for _ in range(40)]
        codes = {reply.status_code for reply in orders}
        assert codes <= {201, 507} and 507 in codes, codes
        full = next(reply for reply in orders if reply.status_code == 507)
        listed = server.call("GET", "/api/orders", submit).json()  # no half-written order
        assert sorted(o["id"] for o in listed) == sorted(r.json()["id"] for r in orders if r.status_code == 201)
        assert "disk is full" in full.json()["detail"]
        for sha in stored:  # the operator frees space: the server goes on without a restart
            (inside / "files" / sha[:2] / sha).unlink()
        again = server.call("POST", "/api/orders", submit, json={"lines": [{"output_type": "still", "product": "x"}]})
        assert again.status_code == 422 and "not in the product library" in again.json()["detail"]
        assert server.call("POST", "/api/files", submit, data=b"ISO", headers={
            "X-Sha256": hashlib.sha256(b"ISO").hexdigest()}).status_code == 201
    finally:
        server.stop()
