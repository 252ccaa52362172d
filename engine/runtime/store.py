"""The run store: runs, node attempts and media assets in one SQLite file (WAL).

Every write is one transaction, so a killed process leaves whole rows only. Opening the store
marks runs left 'running' by a process that no longer exists as 'interrupted' (and their
running node attempts too), so no run stays 'running' forever.
"""

from __future__ import annotations

import json
import os
import socket
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

from ..errors import HartomatError
from ..model.vocabulary import NodeStatus, RunStatus

SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    id TEXT PRIMARY KEY,
    order_line_id TEXT NOT NULL,
    order_line TEXT NOT NULL,
    workflow TEXT NOT NULL,
    mode TEXT NOT NULL,
    status TEXT NOT NULL,
    fell_back INTEGER NOT NULL DEFAULT 0,
    started REAL NOT NULL,
    ended REAL,
    pid INTEGER NOT NULL,
    host TEXT NOT NULL,
    out_dir TEXT NOT NULL,
    error TEXT,
    parity TEXT,
    summary TEXT
);
CREATE TABLE IF NOT EXISTS node_attempts (
    run_id TEXT NOT NULL REFERENCES runs(id),
    phase TEXT NOT NULL,
    node_id TEXT NOT NULL,
    attempt INTEGER NOT NULL,
    step TEXT NOT NULL,
    status TEXT NOT NULL,
    started REAL,
    ended REAL,
    duration REAL,
    logs TEXT NOT NULL DEFAULT '[]',
    outputs TEXT NOT NULL DEFAULT '[]',
    error TEXT,
    interpreter TEXT,
    cache_key TEXT,
    seq INTEGER NOT NULL,
    PRIMARY KEY (run_id, phase, node_id, attempt)
);
CREATE TABLE IF NOT EXISTS media_assets (
    order_line_id TEXT NOT NULL,
    role TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    run_id TEXT NOT NULL,
    node_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    path TEXT NOT NULL,
    size INTEGER NOT NULL,
    is_primary INTEGER NOT NULL,
    created REAL NOT NULL,
    PRIMARY KEY (order_line_id, role, sha256)
);
CREATE INDEX IF NOT EXISTS runs_started ON runs(started);
"""

SCHEMA_VERSION = 1


def default_store_path(out_dir: Path) -> Path:
    env = os.environ.get("HARTOMAT_STORE")
    return Path(env) if env else Path(out_dir) / "hartomat-runs.sqlite"


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _dumps(value: Any) -> str:
    return json.dumps(value, default=str)


class RunStore:
    """A small data-access layer; one connection guarded by a lock (threads wait on pools)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._seq = 0
        self.conn = sqlite3.connect(str(self.path), timeout=30, check_same_thread=False,
                                    isolation_level=None)
        self.conn.row_factory = sqlite3.Row
        try:
            self._open()
        except sqlite3.DatabaseError as exc:
            self.conn.close()
            raise HartomatError(f"{self.path}: not a usable run store: {exc}") from None

    def _open(self) -> None:
        self.conn.execute("PRAGMA journal_mode=WAL")
        self.conn.execute("PRAGMA synchronous=NORMAL")
        version = self.conn.execute("PRAGMA user_version").fetchone()[0]
        if version > SCHEMA_VERSION:
            self.conn.close()
            raise HartomatError(f"{self.path}: run store schema {version} is newer than this HartOMat "
                                f"understands ({SCHEMA_VERSION})")
        self.conn.executescript(SCHEMA)
        self.conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        self.recover_interrupted()

    def _tx(self) -> _Transaction:
        return _Transaction(self)

    def close(self) -> None:
        with self._lock:
            self.conn.close()

    def __enter__(self) -> RunStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- recovery -------------------------------------------------------------------------------
    def recover_interrupted(self) -> list[str]:
        """Runs left 'running' by a dead process on this host become 'interrupted'."""
        host = socket.gethostname()
        rows = self.conn.execute("SELECT id, pid, host FROM runs WHERE status = ?", (RunStatus.RUNNING,)).fetchall()
        dead = [r["id"] for r in rows if r["host"] == host and not _pid_alive(r["pid"])]
        now = time.time()
        with self._tx():
            for run_id in dead:
                self.conn.execute("UPDATE runs SET status=?, ended=?, error=? WHERE id=?",
                                  (RunStatus.INTERRUPTED, now, "the process running it ended before the run finished",
                                   run_id))
                self.conn.execute("UPDATE node_attempts SET status=?, ended=? WHERE run_id=? AND status IN (?, ?)",
                                  (NodeStatus.INTERRUPTED, now, run_id, NodeStatus.RUNNING, NodeStatus.PENDING))
        return dead

    # -- runs -----------------------------------------------------------------------------------
    def create_run(self, run_id: str, order_line: dict[str, Any], workflow: str, mode: str,
                   out_dir: Path) -> None:
        with self._tx():
            self.conn.execute(
                "INSERT INTO runs (id, order_line_id, order_line, workflow, mode, status, started, pid, host, "
                "out_dir) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (run_id, order_line.get("id", ""), _dumps(order_line), workflow, mode, RunStatus.RUNNING, time.time(),
                 os.getpid(), socket.gethostname(), str(out_dir)))

    def finish_run(self, run_id: str, status: str, fell_back: bool, error: str | None,
                   parity: dict[str, Any] | None, summary: dict[str, Any]) -> None:
        with self._tx():
            self.conn.execute(
                "UPDATE runs SET status=?, fell_back=?, ended=?, error=?, parity=?, summary=? WHERE id=?",
                (status, int(fell_back), time.time(), error, _dumps(parity) if parity is not None else None,
                 _dumps(summary), run_id))
            self.conn.execute("UPDATE node_attempts SET status=? WHERE run_id=? AND status IN (?, ?)",
                              (NodeStatus.CANCELLED, run_id, NodeStatus.RUNNING, NodeStatus.PENDING))

    # -- node attempts --------------------------------------------------------------------------
    def start_attempt(self, run_id: str, phase: str, node_id: str, step: str, attempt: int,
                      started: float) -> None:
        with self._tx():
            self._seq += 1
            self.conn.execute(
                "INSERT OR REPLACE INTO node_attempts (run_id, phase, node_id, attempt, step, status, started, seq) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (run_id, phase, node_id, attempt, step, NodeStatus.RUNNING, started, self._seq))

    def record_attempt(self, run_id: str, phase: str, result: dict[str, Any]) -> None:
        """Write an attempt's final state: update its 'running' row, or insert one (cached, skipped)."""
        values = (result["status"], result.get("started"), result.get("ended"), result.get("duration"),
                  _dumps(result.get("logs", [])), _dumps(result.get("outputs", [])),
                  _dumps(result["error"]) if result.get("error") else None, result.get("interpreter"),
                  result.get("cache_key"))
        key = (run_id, phase, result["node_id"], result["attempt"])
        with self._tx():
            updated = self.conn.execute(
                "UPDATE node_attempts SET status=?, started=?, ended=?, duration=?, logs=?, outputs=?, error=?, "
                "interpreter=?, cache_key=? WHERE run_id=? AND phase=? AND node_id=? AND attempt=?", values + key)
            if updated.rowcount == 0:
                self._seq += 1
                self.conn.execute(
                    "INSERT INTO node_attempts (status, started, ended, duration, logs, outputs, error, interpreter, "
                    "cache_key, run_id, phase, node_id, attempt, step, seq) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    values + key + (result["step"], self._seq))

    # -- media ----------------------------------------------------------------------------------
    def add_media_asset(self, asset: dict[str, Any]) -> bool:
        """Record a published asset; False when (order line, role, sha256) was already there."""
        with self._tx():
            cursor = self.conn.execute(
                "INSERT OR IGNORE INTO media_assets (order_line_id, role, sha256, run_id, node_id, kind, path, "
                "size, is_primary, created) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (asset["order_line_id"], asset["role"], asset["sha256"], asset["run_id"], asset["node_id"],
                 asset["kind"], asset["path"], asset["size"], int(asset["primary"]), time.time()))
            return cursor.rowcount > 0

    def media_assets(self, order_line_id: str | None = None) -> list[dict[str, Any]]:
        query = "SELECT * FROM media_assets"
        args: tuple[Any, ...] = ()
        if order_line_id is not None:
            query, args = query + " WHERE order_line_id=?", (order_line_id,)
        return [dict(r) for r in self.conn.execute(query + " ORDER BY created", args)]

    # -- reading --------------------------------------------------------------------------------
    def list_runs(self, limit: int = 50) -> list[dict[str, Any]]:
        rows = self.conn.execute(
            "SELECT id, order_line_id, workflow, mode, status, fell_back, started, ended FROM runs "
            "ORDER BY started DESC LIMIT ?", (limit,))
        return [dict(r) for r in rows]

    def get_run(self, run_id: str) -> dict[str, Any] | None:
        row = self.conn.execute("SELECT * FROM runs WHERE id=?", (run_id,)).fetchone()
        if row is None:
            matches = self.conn.execute("SELECT * FROM runs WHERE id LIKE ?", (run_id + "%",)).fetchall()
            if len(matches) != 1:
                return None
            row = matches[0]
        run = dict(row)
        for key in ("order_line", "parity", "summary"):
            run[key] = json.loads(run[key]) if run[key] else None
        run["fell_back"] = bool(run["fell_back"])
        run["attempts"] = self.attempts(run["id"])
        run["media_assets"] = [dict(r) for r in self.conn.execute(
            "SELECT * FROM media_assets WHERE run_id=? ORDER BY created", (run["id"],))]
        return run

    def attempts(self, run_id: str) -> list[dict[str, Any]]:
        rows = self.conn.execute("SELECT * FROM node_attempts WHERE run_id=? ORDER BY seq", (run_id,))
        attempts = []
        for row in rows:
            item = dict(row)
            item["logs"] = json.loads(item["logs"])
            item["outputs"] = json.loads(item["outputs"])
            item["error"] = json.loads(item["error"]) if item["error"] else None
            attempts.append(item)
        return attempts


class _Transaction:
    """BEGIN IMMEDIATE ... COMMIT under the store's lock; ROLLBACK on any exception."""

    def __init__(self, store: RunStore) -> None:
        self.store = store

    def __enter__(self) -> None:
        self.store._lock.acquire()
        self.store.conn.execute("BEGIN IMMEDIATE")

    def __exit__(self, exc_type: object, *rest: object) -> None:
        try:
            self.store.conn.execute("ROLLBACK" if exc_type else "COMMIT")
        finally:
            self.store._lock.release()
