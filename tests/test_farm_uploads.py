"""Uploads against a real `hartomat serve`: scoped to their tenant, bounded by a quota, removed
when unused past the retention age, deletable by an admin, and their UTF-8 names kept."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote

import pytest
from farm_support import FarmServer, token, wait_until

from server_bridge.client import FarmClient

GB = 1024**3


def _farm(factory: pytest.TempPathFactory, name: str, **env: str) -> tuple[FarmServer, dict[str, str]]:
    data = factory.mktemp(name)
    tokens = {"a": token(data, "submit", "tenant-a"), "b": token(data, "submit", "tenant-b"),
              "admin": token(data, "admin"), "worker": token(data, "worker")}
    return FarmServer(data, lease_s=2, env=env).start(), tokens


@pytest.fixture(scope="module")
def farm(tmp_path_factory) -> Iterator[tuple[FarmServer, dict[str, str]]]:
    server, tokens = _farm(tmp_path_factory, "uploads", HARTOMAT_UPLOAD_QUOTA_GB=str(6000 / GB))
    yield server, tokens
    server.stop()


def upload(server: FarmServer, tok: str, content: bytes, name: str | bytes = "p.step", chunked: bool = False) -> Any:
    sha = hashlib.sha256(content).hexdigest()
    return server.call("POST", "/api/files", tok, data=iter([content]) if chunked else content,
                       headers={"X-Sha256": sha, "X-Filename": name})


def order(server: FarmServer, tok: str, sha: str) -> Any:
    return server.call("POST", "/api/orders", tok, json={"lines": [{"output_type": "still", "step_sha256": sha}]})


def test_a_tenant_cannot_order_another_tenants_upload_nor_tell_that_it_exists(farm):
    server, tokens = farm
    content = b"ISO-10303-21; tenant a's part"
    assert upload(server, tokens["a"], content).status_code == 201
    sha = hashlib.sha256(content).hexdigest()
    foreign, unknown = order(server, tokens["b"], sha), order(server, tokens["b"], "ab" * 32)
    assert foreign.status_code == unknown.status_code == 422
    assert foreign.json()["detail"].replace(sha, "X") == unknown.json()["detail"].replace("ab" * 32, "X")
    assert "you have no upload with sha256" in foreign.json()["detail"]
    assert order(server, tokens["a"], sha).status_code == 201
    assert order(server, tokens["admin"], sha).status_code == 201  # an admin may order any stored file
    assert upload(server, tokens["b"], content).status_code == 201  # b uploads the bytes itself: now b's too
    assert order(server, tokens["b"], sha).status_code == 201


def test_product_library_files_may_be_ordered_by_every_tenant(farm):
    server, tokens = farm
    (server.data / "products").mkdir(exist_ok=True)
    (server.data / "products" / "shared-part.step").write_bytes(b"ISO-10303-21; library")
    for tenant in ("a", "b"):
        reply = server.call("POST", "/api/orders", tokens[tenant], json={
            "lines": [{"output_type": "still", "product": "shared-part"}]})
        assert reply.status_code == 201, reply.text


def test_a_tenants_uploads_are_bounded_by_its_quota_and_nothing_past_it_is_kept(farm):
    server, tokens = farm  # quota: 6000 bytes per tenant
    first, second = b"ISO-10303-21; q1" + b"1" * 2500, b"ISO-10303-21; q2" + b"2" * 2500
    assert upload(server, tokens["b"], first).status_code == 201
    assert upload(server, tokens["b"], first).status_code == 201  # the same file again costs nothing
    assert upload(server, tokens["b"], second).status_code == 201
    third = b"ISO-10303-21; q3" + b"3" * 2500
    declared = upload(server, tokens["b"], third)  # refused before the body is read (Content-Length)
    assert declared.status_code == 413 and "upload quota of 6000 bytes" in declared.json()["detail"]
    streamed = upload(server, tokens["b"], third, chunked=True)  # chunked: no length, refused once received
    assert streamed.status_code == 413 and "upload quota" in streamed.json()["detail"]
    sha3 = hashlib.sha256(third).hexdigest()
    assert server.call("GET", f"/api/files/{sha3}", tokens["admin"]).status_code == 404
    assert not (server.data / "files" / sha3[:2] / sha3).exists()
    assert upload(server, tokens["a"], third).status_code == 201  # another tenant's room is its own
    assert upload(server, tokens["admin"], b"ISO-10303-21; admin" + b"x" * 9000).status_code == 201


def test_an_admin_deletes_an_upload_no_live_order_uses(farm):
    server, tokens = farm
    used, unused = b"ISO-10303-21; used by an order", b"ISO-10303-21; never ordered"
    assert upload(server, tokens["a"], used).status_code == upload(server, tokens["a"], unused).status_code == 201
    sha_used, sha_unused = (hashlib.sha256(c).hexdigest() for c in (used, unused))
    live = order(server, tokens["a"], sha_used).json()
    refused = server.call("DELETE", f"/api/files/{sha_used}", tokens["admin"])
    assert refused.status_code == 409 and live["id"] in refused.json()["detail"]
    assert server.call("DELETE", f"/api/files/{sha_unused}", tokens["a"]).status_code == 403
    server.call("POST", f"/api/orders/{live['id']}/cancel", tokens["a"])
    deleted = server.call("DELETE", f"/api/files/{sha_used}", tokens["admin"])
    assert deleted.status_code == 200 and deleted.json() == {"sha256": sha_used, "deleted": True, "record_kept": True}
    assert server.call("GET", f"/api/files/{sha_used}", tokens["admin"]).status_code == 410
    assert order(server, tokens["a"], sha_used).status_code == 422  # no longer a's upload
    gone = server.call("DELETE", f"/api/files/{sha_unused}", tokens["admin"])
    assert gone.json() == {"sha256": sha_unused, "deleted": True, "record_kept": False}
    assert server.call("GET", f"/api/files/{sha_unused}", tokens["admin"]).status_code == 404
    assert server.call("DELETE", f"/api/files/{sha_unused}", tokens["admin"]).status_code == 404


def test_uploads_no_order_uses_are_removed_after_the_retention_age(tmp_path_factory):
    server, tokens = _farm(tmp_path_factory, "retention", HARTOMAT_UPLOAD_RETENTION_H=str(2 / 3600))
    try:
        kept, dropped = b"ISO-10303-21; ordered", b"ISO-10303-21; left alone"
        assert upload(server, tokens["a"], kept).status_code == upload(server, tokens["a"], dropped).status_code == 201
        sha_kept, sha_dropped = (hashlib.sha256(c).hexdigest() for c in (kept, dropped))
        assert order(server, tokens["a"], sha_kept).status_code == 201
        wait_until(lambda: server.call("GET", f"/api/files/{sha_dropped}", tokens["admin"]).status_code == 404, 30,
                   "the unused upload to be removed")
        assert not (server.data / "files" / sha_dropped[:2] / sha_dropped).exists()
        assert server.call("GET", f"/api/files/{sha_kept}", tokens["admin"]).status_code == 200
        assert order(server, tokens["a"], sha_kept).status_code == 201
        assert order(server, tokens["a"], sha_dropped).status_code == 422
    finally:
        server.stop()


@pytest.mark.parametrize("how", ["raw UTF-8", "percent-encoded"])
def test_a_utf8_file_name_is_kept(farm, how):
    server, tokens = farm
    name = f"Präzisions-Lager Ø20 螺丝 {how}.step"
    content = f"ISO-10303-21; {how}".encode()
    header = name.encode() if how == "raw UTF-8" else quote(name)
    assert upload(server, tokens["a"], content, header).status_code == 201
    reply = server.call("GET", f"/api/files/{hashlib.sha256(content).hexdigest()}", tokens["admin"])
    assert unquote(reply.headers["content-disposition"].split("filename*=utf-8''")[1]) == name


def test_the_farm_client_sends_utf8_names(farm, tmp_path: Path):
    server, tokens = farm
    step = tmp_path / "Lager-Ø20-螺丝.step"
    step.write_bytes(b"ISO-10303-21; client")
    sha = FarmClient(server.url, tokens["a"]).upload_file(step)
    reply = server.call("GET", f"/api/files/{sha}", tokens["admin"])
    assert unquote(reply.headers["content-disposition"].split("filename*=utf-8''")[1]) == "Lager-Ø20-螺丝.step"


def test_files_stored_before_uploads_had_tenants_go_to_their_orders_submitters(tmp_path: Path):
    """A farm file at v7: a file an order uses becomes that order's submitter's upload; a file nothing
    uses becomes nobody's (retention removes it); a cache file stays out of the uploads."""
    import sqlite3

    from server_bridge.db import MIGRATIONS, Store, apply_migration, now

    path = tmp_path / "farm.sqlite"
    conn = sqlite3.connect(path, isolation_level=None)
    conn.row_factory = sqlite3.Row
    for migration in MIGRATIONS[:7]:
        apply_migration(conn, migration)
    t = now()
    for sha in ("a" * 64, "b" * 64, "c" * 64):
        conn.execute("INSERT INTO files VALUES (?, 10, 'f.step', ?)", (sha, t))
    conn.execute("INSERT INTO orders (id, status, submitted_by, created_at) VALUES ('o', 'queued', 'tok-1', ?)", (t,))
    conn.execute("INSERT INTO order_lines (id, order_id, position, product, step_sha256, output_type) "
                 "VALUES ('l', 'o', 0, 'p', ?, 'still')", ("a" * 64,))
    conn.execute("INSERT INTO cache_entries VALUES ('k', 'occ_glb_export', '{}', 10, ?, ?, 0)", (t, t))
    conn.execute("INSERT INTO cache_files VALUES ('k', ?)", ("c" * 64,))
    conn.execute("PRAGMA user_version = 7")
    conn.close()
    store = Store(path)
    owners = {(r["sha256"][0], r["owner"]) for r in store.all("SELECT sha256, owner FROM file_owners")}
    store.close()
    assert owners == {("a", "tok-1"), ("b", "")}
