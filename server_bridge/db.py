"""The farm's SQLite store: one WAL file, its schema, and forward-only migrations.

One connection guarded by a lock serves the whole server process: every statement is short,
so serialising them is cheaper than contending for SQLite's file lock across connections.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

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

# index = schema version reached after applying it; append, never edit.
MIGRATIONS: list[str] = [SCHEMA_V1, SCHEMA_V2]


def new_id(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:16]}"


def now() -> float:
    return time.time()


def loads(text: str | None, default: Any = None) -> Any:
    return json.loads(text) if text else default


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
        self.lock = threading.RLock()
        self.migrate()

    def migrate(self) -> int:
        """Apply every migration newer than the file's `user_version`; returns the version."""
        with self.lock:
            version = self.conn.execute("PRAGMA user_version").fetchone()[0]
            for index in range(version, len(MIGRATIONS)):
                self.conn.execute("BEGIN IMMEDIATE")
                try:
                    for statement in MIGRATIONS[index].split(";"):
                        if statement.strip():
                            self.conn.execute(statement)
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
