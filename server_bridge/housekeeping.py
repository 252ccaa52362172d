"""Nothing left behind: temp files of interrupted uploads, and the outputs of runs that lost.

A server killed mid-upload leaves its temp file in `files/.incoming`; `clear_incoming` empties
that folder at start, before any upload can be in flight. A run that lost its lease (or failed,
or was handed back) may have uploaded assets that were never published; once its job is settled
no run can publish them any more, so `sweep` deletes those rows, and their stored files when no
other asset or order line refers to them. The reaper calls it on every pass.

Uploads move their file into place and record it without yielding to the event loop in between,
and `sweep` runs on that loop without yielding either, so it never deletes a file an upload is
about to record.
"""

from __future__ import annotations

from .db import Store
from .jobstate import TERMINAL
from .storage import FileStore


def clear_incoming(files: FileStore) -> int:
    """Delete every temp file of an earlier server process; returns how many."""
    removed = 0
    for stale in files.incoming.iterdir():
        if stale.is_file() or stale.is_symlink():
            stale.unlink(missing_ok=True)
            removed += 1
    return removed


def sweep(store: Store, files: FileStore) -> int:
    """Delete unpublished assets of settled jobs and their now unused files; returns how many assets."""
    settled = ",".join("?" * len(TERMINAL))
    with store.tx() as c:
        rows = c.execute(f"SELECT a.id, a.sha256 FROM media_assets a JOIN jobs j ON j.id = a.job_id "
                         f"WHERE a.committed = 0 AND j.status IN ({settled})", tuple(TERMINAL)).fetchall()
        c.executemany("DELETE FROM media_assets WHERE id = ?", [(r["id"],) for r in rows])
    for sha256 in sorted({r["sha256"] for r in rows}):
        drop_if_unused(store, files, sha256)
    return len(rows)


def drop_if_unused(store: Store, files: FileStore, sha256: str) -> bool:
    """Delete a stored file and its record when no asset, order line, job part or cache entry refers to it."""
    with store.tx() as c:
        used = c.execute("SELECT 1 FROM media_assets WHERE sha256 = ? UNION ALL "
                         "SELECT 1 FROM order_lines WHERE step_sha256 = ? UNION ALL "
                         "SELECT 1 FROM job_parts WHERE sha256 = ? UNION ALL "
                         "SELECT 1 FROM cache_files WHERE sha256 = ? LIMIT 1", (sha256,) * 4).fetchone()
        if used is not None:
            return False
        c.execute("DELETE FROM files WHERE sha256 = ?", (sha256,))
        files.path(sha256).unlink(missing_ok=True)  # inside the transaction: a failed unlink keeps the record
    return True
