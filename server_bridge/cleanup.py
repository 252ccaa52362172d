"""Removing orders: delete one (its owner or an admin; jobs still to run are cancelled first,
only when asked) or archive settled orders older than an age (an admin).

An order's rows go (lines, jobs, runs, node results, logs, parts, assets), and so do the stored
files of its assets and parts, unless something else still refers to the same content (another
order's asset or part, an order line's STEP, a farm-cache entry) or an upload of that content is
in flight (FileStore pins): content-addressed files are shared. The order's STEP input is an
upload, not its output: it stays while any order or the upload retention keeps it. A short
record stays in `order_removals` (who, when, what, bytes freed); asking for the order then
answers 410 with it.

Each removal is one transaction under the store lock, unlinks included, so a claim, a report or
an upload sees the order either whole or gone.
"""

from __future__ import annotations

import sqlite3
from typing import Any

from engine.model.vocabulary import FINISHED_ORDER_STATUSES, JobStatus, Removal

from . import jobstate
from .auth import Principal
from .db import Store, now
from .orders import OrderError
from .storage import FileStore

_OF_ORDER = "SELECT id FROM jobs WHERE order_id = ?"
_USED = ("SELECT 1 FROM media_assets WHERE sha256 = ?1 UNION ALL SELECT 1 FROM order_lines WHERE step_sha256 = ?1 "
         "UNION ALL SELECT 1 FROM job_parts WHERE sha256 = ?1 UNION ALL SELECT 1 FROM cache_files WHERE sha256 = ?1 "
         "LIMIT 1")


def delete_order(store: Store, files: FileStore, who: Principal, order_id: str, cancel: bool) -> dict[str, Any]:
    """Delete one order; one with jobs still waiting or running needs `cancel` (409 without)."""
    with store.tx() as c:
        order = c.execute("SELECT * FROM orders WHERE id = ?", (order_id,)).fetchone()
        if order is None:
            raise OrderError(f"order {order_id!r} does not exist", 404)
        live = c.execute("SELECT id, status FROM jobs WHERE order_id = ? AND status IN (?, ?)",
                         (order_id, JobStatus.QUEUED, JobStatus.RUNNING)).fetchall()
        if live and not cancel:
            running = sum(row["status"] == JobStatus.RUNNING for row in live)
            raise OrderError(f"order {order_id!r} is {order['status']} ({running} job(s) running, "
                             f"{len(live) - running} waiting): delete it with cancel=true "
                             "(hartomat farm delete ORDER --cancel)", 409)
        for row in live:  # a running job's worker is refused at its next heartbeat or report
            jobstate.move(c, row["id"], JobStatus.CANCELLED, error="order deleted")
        return _remove(c, files, order, Removal.DELETED, who, unlink=True)


def archive(store: Store, files: FileStore, who: Principal, older_than_s: float, dry_run: bool) -> dict[str, Any]:
    """Remove every settled order that finished more than `older_than_s` ago (each in its own
    transaction); a dry run removes them inside one transaction and rolls it back, so its
    figures are what a real run would free."""
    finished = ",".join("?" * len(FINISHED_ORDER_STATUSES))
    sql = (f"SELECT * FROM orders WHERE status IN ({finished}) AND finished_at < ? ORDER BY finished_at")
    args = (*sorted(FINISHED_ORDER_STATUSES), now() - older_than_s)
    records: list[dict[str, Any]] = []
    if dry_run:
        with store.tx() as c:
            c.execute("SAVEPOINT dry_run")
            records = [_remove(c, files, order, Removal.ARCHIVED, who, unlink=False)
                       for order in c.execute(sql, args).fetchall()]
            c.execute("ROLLBACK TO dry_run")
            c.execute("RELEASE dry_run")
    else:
        for order_id in [row["id"] for row in store.all(sql, *args)]:
            with store.tx() as c:
                order = c.execute("SELECT * FROM orders WHERE id = ?", (order_id,)).fetchone()
                if order is not None and order["status"] in FINISHED_ORDER_STATUSES:
                    records.append(_remove(c, files, order, Removal.ARCHIVED, who, unlink=True))
    return {"dry_run": dry_run, "orders": records,
            "bytes_freed": sum(r["bytes_freed"] for r in records),
            "files_removed": sum(r["files_removed"] for r in records)}


def removal(store: Store, order_id: str) -> dict[str, Any] | None:
    row = store.one("SELECT * FROM order_removals WHERE order_id = ?", order_id)
    return dict(row) if row is not None else None


def _remove(c: sqlite3.Connection, files: FileStore, order: Any, action: Removal, who: Principal,
            unlink: bool) -> dict[str, Any]:
    """Delete one order's rows, then the files only it used; returns the record kept of it."""
    order_id = order["id"]
    stored = {row[0] for row in c.execute(
        f"SELECT sha256 FROM media_assets WHERE order_id = ?1 UNION SELECT sha256 FROM job_parts "
        f"WHERE job_id IN ({_OF_ORDER.replace('?', '?1')})", (order_id,))}
    counts = {name: c.execute(sql, (order_id,)).fetchone()[0] for name, sql in (
        ("lines", "SELECT count(*) FROM order_lines WHERE order_id = ?"),
        ("jobs", "SELECT count(*) FROM jobs WHERE order_id = ?"),
        ("assets", "SELECT count(*) FROM media_assets WHERE order_id = ? AND committed = 1"))}
    runs = f"SELECT id FROM runs WHERE job_id IN ({_OF_ORDER})"
    for sql in (f"DELETE FROM node_results WHERE run_id IN ({runs})", f"DELETE FROM runs WHERE job_id IN ({_OF_ORDER})",
                f"DELETE FROM job_logs WHERE job_id IN ({_OF_ORDER})", f"DELETE FROM job_parts WHERE job_id IN ({_OF_ORDER})",
                "DELETE FROM media_assets WHERE order_id = ?", "DELETE FROM jobs WHERE order_id = ?",
                "DELETE FROM order_lines WHERE order_id = ?", "DELETE FROM orders WHERE id = ?"):
        c.execute(sql, (order_id,))
    removed, kept, freed = 0, 0, 0
    for sha256 in sorted(stored):
        if c.execute(_USED, (sha256,)).fetchone() is not None or files.pinned(sha256):
            kept += 1
            continue
        size = c.execute("SELECT size FROM files WHERE sha256 = ?", (sha256,)).fetchone()
        c.execute("DELETE FROM files WHERE sha256 = ?", (sha256,))
        if unlink:
            files.path(sha256).unlink(missing_ok=True)  # inside the transaction: a failed unlink keeps the rows
        removed, freed = removed + 1, freed + (size[0] if size else 0)
    record = {"order_id": order_id, "action": action, "removed_by": who.name or who.token_id, "removed_at": now(),
              "submitted_by": order["submitted_by"], "status": order["status"], "created_at": order["created_at"],
              **counts, "files_removed": removed, "files_kept": kept, "bytes_freed": freed}
    c.execute(f"INSERT OR REPLACE INTO order_removals ({', '.join(record)}) VALUES ({', '.join('?' * len(record))})",
              tuple(record.values()))
    return record
