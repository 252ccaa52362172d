"""The farm's SQLite store: one WAL file, its schema, and forward-only migrations.

One connection guarded by a lock serves the whole server process: every statement is short,
so serialising them is cheaper than contending for SQLite's file lock across connections. The
connection is shared across threads (check_same_thread=False); the lock makes that safe. Async
code never calls the store itself: routes are plain `def` (FastAPI's threadpool) or hand their
store calls to `off_loop`.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import hashlib
import json
import queue
import sqlite3
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, ParamSpec, TypeVar

SCHEMA_V1 = """
CREATE TABLE tokens (
    id TEXT PRIMARY KEY, name TEXT NOT NULL, role TEXT NOT NULL, hash TEXT NOT NULL UNIQUE,
    created_at REAL NOT NULL, revoked INTEGER NOT NULL DEFAULT 0);
CREATE TABLE workflows (
    id TEXT PRIMARY KEY, name TEXT NOT NULL, family TEXT NOT NULL, document TEXT NOT NULL,
    created_at REAL NOT NULL, updated_at REAL NOT NULL);
CREATE TABLE output_types (
    name TEXT PRIMARY KEY, family TEXT NOT NULL, artifact_kind TEXT NOT NULL,
    workflow_id TEXT NOT NULL REFERENCES workflows(id), overrides TEXT NOT NULL DEFAULT '{}',
    mode TEXT NOT NULL DEFAULT 'graph', legacy_fallback INTEGER NOT NULL DEFAULT 1,
    mode_changed_by TEXT, mode_changed_at REAL, created_at REAL NOT NULL);
CREATE TABLE mode_changes (
    id INTEGER PRIMARY KEY, output_type TEXT NOT NULL, old_mode TEXT, new_mode TEXT NOT NULL,
    changed_by TEXT NOT NULL, changed_at REAL NOT NULL);
CREATE TABLE files (
    sha256 TEXT PRIMARY KEY, size INTEGER NOT NULL, name TEXT NOT NULL, created_at REAL NOT NULL);
CREATE TABLE orders (
    id TEXT PRIMARY KEY, status TEXT NOT NULL, submitted_by TEXT NOT NULL,
    webhook_url TEXT, webhook_status TEXT NOT NULL DEFAULT 'none', webhook_attempts INTEGER NOT NULL DEFAULT 0,
    webhook_error TEXT, created_at REAL NOT NULL, finished_at REAL);
CREATE TABLE order_lines (
    id TEXT PRIMARY KEY, order_id TEXT NOT NULL REFERENCES orders(id), position INTEGER NOT NULL,
    product TEXT NOT NULL, step_sha256 TEXT REFERENCES files(sha256), output_type TEXT NOT NULL,
    overrides TEXT NOT NULL DEFAULT '{}');
CREATE TABLE jobs (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL UNIQUE,
    order_id TEXT NOT NULL REFERENCES orders(id), order_line_id TEXT NOT NULL REFERENCES order_lines(id),
    output_type TEXT NOT NULL, mode TEXT NOT NULL, caps INTEGER NOT NULL DEFAULT 0,
    status TEXT NOT NULL, worker_id TEXT, run_id TEXT, lease_expires REAL, attempts INTEGER NOT NULL DEFAULT 0,
    failed_workers TEXT NOT NULL DEFAULT '', cancel_requested INTEGER NOT NULL DEFAULT 0,
    error TEXT, created_at REAL NOT NULL, updated_at REAL NOT NULL);
CREATE INDEX jobs_queue ON jobs(status, seq);
CREATE INDEX jobs_order ON jobs(order_id, status);
CREATE TABLE job_logs (
    id INTEGER PRIMARY KEY, job_id TEXT NOT NULL, run_id TEXT, at REAL NOT NULL, line TEXT NOT NULL);
CREATE INDEX job_logs_job ON job_logs(job_id);
CREATE TABLE runs (
    id TEXT PRIMARY KEY, job_id TEXT NOT NULL, worker_id TEXT NOT NULL, status TEXT NOT NULL,
    mode TEXT NOT NULL, fell_back INTEGER NOT NULL DEFAULT 0, summary TEXT, parity TEXT, error TEXT,
    started_at REAL NOT NULL, finished_at REAL);
CREATE INDEX runs_job ON runs(job_id);
CREATE TABLE node_results (
    run_id TEXT NOT NULL, node_id TEXT NOT NULL, step TEXT, status TEXT NOT NULL,
    fraction REAL, message TEXT, updated_at REAL NOT NULL, PRIMARY KEY (run_id, node_id));
CREATE TABLE media_assets (
    id TEXT PRIMARY KEY, order_id TEXT NOT NULL, order_line_id TEXT NOT NULL, job_id TEXT NOT NULL,
    run_id TEXT NOT NULL, node_id TEXT, role TEXT NOT NULL, kind TEXT, name TEXT NOT NULL,
    sha256 TEXT NOT NULL, size INTEGER NOT NULL, is_primary INTEGER NOT NULL DEFAULT 0,
    committed INTEGER NOT NULL DEFAULT 0, created_at REAL NOT NULL,
    UNIQUE (order_line_id, role, sha256));
CREATE INDEX media_assets_run ON media_assets(run_id);
CREATE TABLE workers (
    id TEXT PRIMARY KEY, name TEXT NOT NULL, token_id TEXT NOT NULL, caps INTEGER NOT NULL,
    capabilities TEXT NOT NULL, registered_at REAL NOT NULL, last_seen REAL NOT NULL);
CREATE TABLE worker_streaks (
    worker_id TEXT NOT NULL, output_type TEXT NOT NULL, failures INTEGER NOT NULL DEFAULT 0,
    blocked INTEGER NOT NULL DEFAULT 0, PRIMARY KEY (worker_id, output_type));
"""

# v2: when a token was revoked; uncommitted assets indexed for the housekeeping sweep.
SCHEMA_V2 = """
ALTER TABLE tokens ADD COLUMN revoked_at REAL;
CREATE INDEX media_assets_unpublished ON media_assets(job_id) WHERE committed = 0;
"""

# Frozen order lines: what a line's jobs run is fixed at submission. Workflow documents are
# kept by content hash and never change, so editing a workflow or an output type later
# changes new orders only.
FROZEN_LINES_V3 = """
CREATE TABLE workflow_documents (sha256 TEXT PRIMARY KEY, document TEXT NOT NULL, created_at REAL NOT NULL);
ALTER TABLE order_lines ADD COLUMN workflow_sha256 TEXT REFERENCES workflow_documents(sha256);
ALTER TABLE order_lines ADD COLUMN family TEXT;
ALTER TABLE order_lines ADD COLUMN run_overrides TEXT;
ALTER TABLE order_lines ADD COLUMN legacy_fallback INTEGER;
"""


def document_sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def keep_document(conn: sqlite3.Connection, text: str) -> str:
    """Store a workflow document under its content hash (once) and return the hash."""
    sha = document_sha256(text)
    conn.execute("INSERT OR IGNORE INTO workflow_documents VALUES (?, ?, ?)", (sha, text, now()))
    return sha


def freeze_lines_of_older_orders(conn: sqlite3.Connection) -> None:
    """Lines submitted before lines were frozen get what their jobs would have run then."""
    from engine.model.overrides import merge_overrides  # here: the store module loads without the engine

    rows = conn.execute(
        "SELECT l.id, o.overrides, l.overrides AS line_overrides, o.legacy_fallback, w.family, w.document "
        "FROM order_lines l JOIN output_types o ON o.name = l.output_type "
        "JOIN workflows w ON w.id = o.workflow_id WHERE l.workflow_sha256 IS NULL").fetchall()
    for row in rows:
        overrides = merge_overrides(loads(row["overrides"], {}), loads(row["line_overrides"], {}))
        conn.execute("UPDATE order_lines SET workflow_sha256 = ?, family = ?, run_overrides = ?, "
                     "legacy_fallback = ? WHERE id = ?",
                     (keep_document(conn, row["document"]), row["family"], json.dumps(overrides),
                      row["legacy_fallback"], row["id"]))


# Fan-out: a split line has a prep job (the nodes feeding the split node, e.g. CAD), part jobs
# (frame chunks, views) claimable after it (after_id), and one assemble job (their parent_id)
# claimable once every part succeeded; parts hand their files on through job_parts.
FAN_OUT_V5 = """
ALTER TABLE jobs ADD COLUMN kind TEXT NOT NULL DEFAULT 'line';
ALTER TABLE jobs ADD COLUMN parent_id TEXT;
ALTER TABLE jobs ADD COLUMN part TEXT;
ALTER TABLE jobs ADD COLUMN after_id TEXT;
CREATE INDEX jobs_parent ON jobs(parent_id) WHERE parent_id IS NOT NULL;
CREATE TABLE job_parts (
    job_id TEXT NOT NULL, node_id TEXT NOT NULL, port TEXT NOT NULL, member INTEGER NOT NULL,
    name TEXT NOT NULL, kind TEXT NOT NULL, role TEXT, data TEXT NOT NULL DEFAULT '{}',
    sha256 TEXT NOT NULL, size INTEGER NOT NULL, PRIMARY KEY (job_id, node_id, port, member));
CREATE INDEX job_parts_sha ON job_parts(sha256);
"""

# The farm-wide artifact cache (server_bridge/farm_cache.py): entries by node content key, and
# the stored files each entry uses.
CACHE_V6 = """
CREATE TABLE cache_entries (
    key TEXT PRIMARY KEY, step TEXT NOT NULL, manifest TEXT NOT NULL, size INTEGER NOT NULL,
    created_at REAL NOT NULL, last_used REAL NOT NULL, hits INTEGER NOT NULL DEFAULT 0);
CREATE INDEX cache_entries_lru ON cache_entries(last_used);
CREATE TABLE cache_files (key TEXT NOT NULL, sha256 TEXT NOT NULL, PRIMARY KEY (key, sha256));
CREATE INDEX cache_files_sha ON cache_files(sha256);
"""

# v7: the dashboard's order list (newest first, filtered by output type, with a thumbnail) reads
# lines and assets by order.
DASHBOARD_INDEXES_V7 = """
CREATE INDEX orders_created ON orders(created_at);
CREATE INDEX order_lines_order ON order_lines(order_id, output_type);
CREATE INDEX media_assets_order ON media_assets(order_id);
"""

# v8: uploads per tenant (server_bridge/uploads.py): who uploaded which stored file, for scoping,
# quotas and retention. Files of earlier orders go to those orders' submitters; files nothing
# refers to go to '' (nobody's: only an admin may order them, and retention removes them).
FILE_OWNERS_V8 = """
CREATE TABLE file_owners (
    sha256 TEXT NOT NULL REFERENCES files(sha256), owner TEXT NOT NULL, size INTEGER NOT NULL,
    created_at REAL NOT NULL, PRIMARY KEY (sha256, owner));
CREATE INDEX file_owners_owner ON file_owners(owner);
CREATE INDEX file_owners_created ON file_owners(created_at);
INSERT OR IGNORE INTO file_owners SELECT DISTINCT f.sha256, o.submitted_by, f.size, f.created_at
    FROM files f JOIN order_lines l ON l.step_sha256 = f.sha256 JOIN orders o ON o.id = l.order_id;
INSERT OR IGNORE INTO file_owners SELECT f.sha256, '', f.size, f.created_at FROM files f
    WHERE NOT EXISTS (SELECT 1 FROM file_owners x WHERE x.sha256 = f.sha256)
    AND NOT EXISTS (SELECT 1 FROM media_assets a WHERE a.sha256 = f.sha256)
    AND NOT EXISTS (SELECT 1 FROM job_parts p WHERE p.sha256 = f.sha256)
    AND NOT EXISTS (SELECT 1 FROM cache_files c WHERE c.sha256 = f.sha256)
"""

# v9: render statistics (each node's wall and process CPU seconds, a run's CPU seconds as its
# worker measured them), the provenance of each media asset (server_bridge/provenance.py), and
# counters that outlive what they count (farm-cache hits and misses, for /metrics); /metrics counts
# jobs by status and output type from an index.
STATS_PROVENANCE_V9 = """
ALTER TABLE node_results ADD COLUMN wall_s REAL;
ALTER TABLE node_results ADD COLUMN cpu_s REAL;
ALTER TABLE runs ADD COLUMN cpu_s REAL;
ALTER TABLE media_assets ADD COLUMN provenance TEXT;
CREATE INDEX jobs_status_type ON jobs(status, output_type);
CREATE TABLE farm_counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
CREATE TABLE farm_histograms (
    name TEXT NOT NULL, label TEXT NOT NULL, bucket INTEGER NOT NULL, count INTEGER NOT NULL, total REAL NOT NULL,
    PRIMARY KEY (name, label, bucket));
"""

# v10: who wrote each farm cache entry (worker and its token), so an admin can purge one worker's
# entries (server_bridge/farm_cache.py).
CACHE_WRITER_V10 = """
ALTER TABLE cache_entries ADD COLUMN worker_id TEXT;
ALTER TABLE cache_entries ADD COLUMN token_id TEXT;
CREATE INDEX cache_entries_worker ON cache_entries(worker_id);
CREATE INDEX cache_entries_token ON cache_entries(token_id);
"""


# v11: running the farm (issue 27): an order's priority and who paused it (or one line); the tags a
# worker offers and an output type or line requires; each job carries its order's priority,
# paused flag, required tags ("|a|b|", sorted) and tenant (the submitting token), so one index
# serves the claim: per tenant, the highest priority, then the oldest. tenant_turns says when
# each tenant was last served (fair share); order_removals is what stays of a deleted or
# archived order.
FARM_OPERATIONS_V11 = """
ALTER TABLE orders ADD COLUMN priority INTEGER NOT NULL DEFAULT 50;
ALTER TABLE orders ADD COLUMN paused_by TEXT;
ALTER TABLE orders ADD COLUMN paused_at REAL;
ALTER TABLE order_lines ADD COLUMN tags TEXT NOT NULL DEFAULT '';
ALTER TABLE order_lines ADD COLUMN paused_by TEXT;
ALTER TABLE order_lines ADD COLUMN paused_at REAL;
ALTER TABLE output_types ADD COLUMN tags TEXT NOT NULL DEFAULT '[]';
ALTER TABLE workers ADD COLUMN tags TEXT NOT NULL DEFAULT '[]';
ALTER TABLE jobs ADD COLUMN priority INTEGER NOT NULL DEFAULT 50;
ALTER TABLE jobs ADD COLUMN paused INTEGER NOT NULL DEFAULT 0;
ALTER TABLE jobs ADD COLUMN tags TEXT NOT NULL DEFAULT '';
ALTER TABLE jobs ADD COLUMN tenant TEXT NOT NULL DEFAULT '';
UPDATE jobs SET tenant = coalesce((SELECT submitted_by FROM orders o WHERE o.id = jobs.order_id), '');
CREATE INDEX jobs_claim ON jobs(status, paused, tenant, priority DESC, seq);
CREATE INDEX order_lines_step ON order_lines(step_sha256);
CREATE TABLE tenant_turns (tenant TEXT PRIMARY KEY, turn REAL NOT NULL);
CREATE TABLE order_removals (
    order_id TEXT PRIMARY KEY, action TEXT NOT NULL, removed_by TEXT NOT NULL, removed_at REAL NOT NULL,
    submitted_by TEXT NOT NULL, status TEXT NOT NULL, created_at REAL NOT NULL, lines INTEGER NOT NULL,
    jobs INTEGER NOT NULL, assets INTEGER NOT NULL, files_removed INTEGER NOT NULL,
    files_kept INTEGER NOT NULL, bytes_freed INTEGER NOT NULL);
"""


Migration = str | Callable[[sqlite3.Connection], None]
# index = schema version reached after applying it; append, never edit.
MIGRATIONS: list[Migration] = [SCHEMA_V1, SCHEMA_V2, FROZEN_LINES_V3, freeze_lines_of_older_orders, FAN_OUT_V5,
                               CACHE_V6, DASHBOARD_INDEXES_V7, FILE_OWNERS_V8, STATS_PROVENANCE_V9,
                               CACHE_WRITER_V10, FARM_OPERATIONS_V11]


def new_id(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:16]}"


def now() -> float:
    return time.time()


def loads(text: str | None, default: Any = None) -> Any:
    return json.loads(text) if text else default


def tags_within(needed: str, offered: str) -> bool:
    """Whether every tag in `needed` ("|a|b|") is in `offered` (same form): the claim's tag check."""
    return all(f"|{tag}|" in offered for tag in needed.split("|") if tag)


def apply_migration(conn: sqlite3.Connection, migration: Migration) -> None:
    if callable(migration):
        migration(conn)
        return
    for statement in migration.split(";"):
        if statement.strip():
            conn.execute(statement)


P = ParamSpec("P")
T = TypeVar("T")


class _StoreThread:
    """One thread that runs the store work of async code (the long-poll claim, uploads, the
    request guard), in order: a queue put, and one call_soon_threadsafe back. Cheaper per call
    than an executor or Starlette's threadpool (about 10 against 40-170 µs of CPU in isolation),
    but each hop still costs the server a few context switches (docs/performance.md)."""

    def __init__(self) -> None:
        self._calls: queue.SimpleQueue[tuple[asyncio.AbstractEventLoop, asyncio.Future[Any], Callable[[], Any]]]
        self._calls = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    async def run(self, call: Callable[[], T]) -> T:
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(target=self._serve, name="hartomat-store", daemon=True)
                self._thread.start()
        loop = asyncio.get_running_loop()
        future: asyncio.Future[T] = loop.create_future()
        self._calls.put((loop, future, call))
        return await future

    def _serve(self) -> None:
        while True:
            loop, future, call = self._calls.get()
            try:
                result, error = call(), None
            except BaseException as exc:  # handed to the awaiting route, which answers it
                result, error = None, exc
            with contextlib.suppress(RuntimeError):  # the loop closed: nobody waits for this
                loop.call_soon_threadsafe(_settle, future, result, error)


def _settle(future: asyncio.Future[Any], result: Any, error: BaseException | None) -> None:
    if future.cancelled():  # the client went away
        return
    if error is not None:
        future.set_exception(error)
    else:
        future.set_result(result)


_STORE_THREAD = _StoreThread()


async def off_loop(call: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
    """Run blocking store (or disk) work in the store thread, so it never blocks the event loop."""
    return await _STORE_THREAD.run(functools.partial(call, *args, **kwargs))


class Store:
    """The server's database handle: `with store.tx() as c:` runs one IMMEDIATE transaction."""

    def __init__(self, path: str | Path, busy_timeout_s: float = 10.0) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.conn = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        self.conn.row_factory = sqlite3.Row
        self.conn.execute("PRAGMA journal_mode=WAL")
        self.conn.execute("PRAGMA synchronous=NORMAL")
        self.conn.execute("PRAGMA foreign_keys=ON")
        self.conn.execute(f"PRAGMA busy_timeout={int(busy_timeout_s * 1000)}")
        self.conn.create_function("tags_within", 2, tags_within, deterministic=True)
        self.lock = threading.RLock()
        self.migrate()

    def migrate(self) -> int:
        """Apply every migration newer than the file's `user_version`; returns the version."""
        with self.lock:
            version = self.conn.execute("PRAGMA user_version").fetchone()[0]
            for index in range(version, len(MIGRATIONS)):
                self.conn.execute("BEGIN IMMEDIATE")
                try:
                    apply_migration(self.conn, MIGRATIONS[index])
                    self.conn.execute(f"PRAGMA user_version={index + 1}")
                    self.conn.execute("COMMIT")
                except BaseException:
                    self.conn.execute("ROLLBACK")
                    raise
            return len(MIGRATIONS)

    @contextmanager
    def tx(self) -> Iterator[sqlite3.Connection]:
        with self.lock:
            self.conn.execute("BEGIN IMMEDIATE")
            try:
                yield self.conn
                self.conn.execute("COMMIT")  # can fail too (disk full): then roll back, never stay open
            except BaseException:
                if self.conn.in_transaction:  # SQLite may have rolled back already
                    self.conn.execute("ROLLBACK")
                raise

    def one(self, sql: str, *args: Any) -> sqlite3.Row | None:
        with self.lock:
            row: sqlite3.Row | None = self.conn.execute(sql, args).fetchone()
            return row

    def all(self, sql: str, *args: Any) -> list[sqlite3.Row]:
        with self.lock:
            return list(self.conn.execute(sql, args).fetchall())

    def close(self) -> None:
        with self.lock:
            self.conn.close()
