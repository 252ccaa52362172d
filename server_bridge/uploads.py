"""Whose uploads are whose: tenant scoping, the per-tenant quota, retention and the admin's delete.

Stored bytes are shared by content (files/<sha256>), but each upload is recorded per tenant (its
token) in `file_owners`; a product-library file belongs to LIBRARY. A submitter may order only its
own uploads and library files, and is answered the same whether another tenant's file or no file
has that sha256. A tenant's uploads count against its quota (the bytes it uploaded, shared or not).
An upload no order of its tenant uses is forgotten after the retention age, and its bytes deleted
once nothing else refers to them. An admin may delete an upload that no live order uses.
"""

from __future__ import annotations

from typing import Any

from engine.model.vocabulary import FINISHED_ORDER_STATUSES, Role

from .auth import Principal
from .db import Store, now
from .housekeeping import drop_if_unused
from .storage import FileStore, UploadError

LIBRARY = "library"  # the owner of product-library files: every tenant may order them


class UploadConflict(ValueError):
    """An admin's delete of a file something live still uses (409)."""

    status = 409


def owner_of(principal: Principal) -> str:
    return str(principal.token_id)


def may_order(store: Store, principal: Principal, sha256: str) -> bool:
    """Whether this caller may order a render of the stored file `sha256`."""
    if principal.role == Role.ADMIN:
        return store.one("SELECT 1 FROM files WHERE sha256 = ?", sha256) is not None
    return store.one("SELECT 1 FROM file_owners WHERE sha256 = ? AND owner IN (?, ?)",
                     sha256, owner_of(principal), LIBRARY) is not None


def usage(store: Store, owner: str) -> int:
    row = store.one("SELECT coalesce(sum(size), 0) AS used FROM file_owners WHERE owner = ?", owner)
    return int(row["used"]) if row else 0


def check_room(store: Store, principal: Principal, quota: int, incoming: int) -> None:
    """Before reading an upload's body: 413 when its declared size would pass the tenant's quota."""
    if principal.role == Role.SUBMIT and quota and usage(store, owner_of(principal)) + incoming > quota:
        raise UploadError(_over(store, owner_of(principal), quota, incoming), 413)


def _over(store: Store, owner: str, quota: int, size: int) -> str:
    return (f"upload of {size} bytes would pass your upload quota of {quota} bytes ({usage(store, owner)} in "
            "use); uploads no order uses are removed after the retention age, or an admin deletes them")


def record(store: Store, files: FileStore, sha: str, size: int, name: str, owner: str | None,
           quota: int = 0) -> None:
    """Record a stored file and, for an owner, its upload; past the quota nothing is kept (413)."""
    with store.tx() as c:
        c.execute("INSERT OR IGNORE INTO files VALUES (?, ?, ?, ?)", (sha, size, name, now()))
        if owner is None:
            return
        known = c.execute("SELECT 1 FROM file_owners WHERE sha256 = ? AND owner = ?", (sha, owner)).fetchone()
        used = c.execute("SELECT coalesce(sum(size), 0) FROM file_owners WHERE owner = ?", (owner,)).fetchone()[0]
        if known is None and quota and used + size > quota:
            over = True
        else:
            over = False
            c.execute("INSERT INTO file_owners VALUES (?, ?, ?, ?) ON CONFLICT (sha256, owner) "
                      "DO UPDATE SET created_at = excluded.created_at", (sha, owner, size, now()))
    if over:
        drop_if_unused(store, files, sha)
        raise UploadError(_over(store, owner, quota, size), 413)


def expire(store: Store, files: FileStore, retention_s: float) -> int:
    """Forget uploads older than `retention_s` that no order of their tenant uses; delete their bytes
    when nothing else refers to them. Returns how many uploads were forgotten."""
    cutoff = now() - retention_s
    with store.tx() as c:
        stale = c.execute(
            "SELECT f.sha256, f.owner FROM file_owners f WHERE f.created_at < ? AND f.owner != ? AND NOT EXISTS "
            "(SELECT 1 FROM order_lines l JOIN orders o ON o.id = l.order_id WHERE l.step_sha256 = f.sha256 "
            "AND (o.submitted_by = f.owner OR o.status NOT IN (" + _marks(FINISHED_ORDER_STATUSES) + ")))",
            (cutoff, LIBRARY, *sorted(FINISHED_ORDER_STATUSES))).fetchall()
        c.executemany("DELETE FROM file_owners WHERE sha256 = ? AND owner = ?",
                      [(r["sha256"], r["owner"]) for r in stale])
    for sha in sorted({r["sha256"] for r in stale}):
        if store.one("SELECT 1 FROM file_owners WHERE sha256 = ?", sha) is None:
            drop_if_unused(store, files, sha)
    return len(stale)


def delete(store: Store, files: FileStore, sha256: str) -> dict[str, Any]:
    """An admin's delete: refused (409) while a live order uses the file or when it is an output or
    a cache file; a finished order's line keeps the record (its download then answers 410)."""
    with store.tx() as c:
        if c.execute("SELECT 1 FROM files WHERE sha256 = ?", (sha256,)).fetchone() is None:
            raise UploadError(f"file {sha256[:80]!r} does not exist", 404)
        live = c.execute("SELECT o.id FROM order_lines l JOIN orders o ON o.id = l.order_id WHERE l.step_sha256 = ? "
                         f"AND o.status NOT IN ({_marks(FINISHED_ORDER_STATUSES)}) LIMIT 1",
                         (sha256, *sorted(FINISHED_ORDER_STATUSES))).fetchone()
        if live is not None:
            raise UploadConflict(f"file {sha256} is used by live order {live['id']}: cancel it or wait until it ends")
        used = c.execute("SELECT 'a published or pending asset' FROM media_assets WHERE sha256 = ? UNION ALL "
                         "SELECT 'a part of a job' FROM job_parts WHERE sha256 = ? UNION ALL "
                         "SELECT 'a farm cache entry' FROM cache_files WHERE sha256 = ? LIMIT 1",
                         (sha256,) * 3).fetchone()
        if used is not None:
            raise UploadConflict(f"file {sha256} is not only an upload: it is {used[0]}")
        c.execute("DELETE FROM file_owners WHERE sha256 = ?", (sha256,))
        kept = c.execute("SELECT 1 FROM order_lines WHERE step_sha256 = ? LIMIT 1", (sha256,)).fetchone() is not None
        if not kept:
            c.execute("DELETE FROM files WHERE sha256 = ?", (sha256,))
        files.path(sha256).unlink(missing_ok=True)  # inside the transaction: a failed unlink keeps the records
    return {"sha256": sha256, "deleted": True, "record_kept": kept}


def _marks(values: Any) -> str:
    return ",".join("?" * len(values))
