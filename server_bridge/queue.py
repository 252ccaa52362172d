"""What workers do to jobs: register, claim, heartbeat, upload assets, complete, hand back.

Status changes go through `jobstate`; this module decides which change a report means
(retry elsewhere, fail for good, block a worker from an output type). A failure on the order's
input fails at once and never counts toward a worker's block.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Sequence
from typing import Any

import orjson

from engine.model.vocabulary import (
    TERMINAL_JOB_STATUSES,
    JobKind,
    JobStatus,
    NodeStatus,
    RunStatus,
)

from . import jobstate, stats
from .auth import Principal
from .catalog import caps_mask
from .db import Store, document_sha256, loads, new_id, now
from .metrics import CLAIM_SECONDS
from .orders import roll_up, settle_assemble
from .tags import tag_key

MAX_FAILURES = 3  # a job that fails this often (on different workers while there are others) fails for good
BLOCK_AFTER = 3  # a worker failing this many jobs of one output type in a row is blocked from it


class QueueError(ValueError):
    def __init__(self, message: str, status: int = 409) -> None:
        super().__init__(message)
        self.status = status


def register_worker(store: Store, principal: Principal, name: str, capabilities: Sequence[str],
                    tags: Sequence[str] = ()) -> dict[str, Any]:
    worker_id, t = new_id("wrk"), now()
    caps, tag_list = sorted(set(capabilities)), sorted(set(tags))
    with store.tx() as c:
        c.execute("INSERT INTO workers (id, name, token_id, caps, capabilities, registered_at, last_seen, tags) "
                  "VALUES (?, ?, ?, ?, ?, ?, ?, ?)", (worker_id, name or worker_id, principal.token_id,
                                                     caps_mask(caps), json.dumps(caps), t, t, json.dumps(tag_list)))
    return {"worker_id": worker_id, "capabilities": caps, "tags": tag_list}


_WORKERS: dict[tuple[str, str], Any] = {}  # (db file, worker id) -> row; a worker never changes


def own_worker(store: Store, principal: Principal, worker_id: str) -> Any:
    """The worker's row, if this token registered it (rows are cached: they never change)."""
    row = _WORKERS.get((str(store.path), worker_id))
    if row is None:
        row = store.one("SELECT * FROM workers WHERE id = ?", worker_id)
        if row is not None:
            _WORKERS[(str(store.path), worker_id)] = row
    if row is None or row["token_id"] != principal.token_id:
        raise QueueError(f"worker {worker_id!r} is not registered with this token", 404)
    return row


def claim(store: Store, worker: Any, lease_s: float) -> dict[str, Any] | None:
    """Atomically take the next job this worker can run; None when there is none."""
    with store.tx() as c:
        return _claim(c, store, worker, lease_s)


def _claim(c: sqlite3.Connection, store: Store, worker: Any, lease_s: float) -> dict[str, Any] | None:
    started = time.perf_counter()
    run_id = new_id("run")
    _seen(c, store, worker["id"])
    job = jobstate.claim_next(c, worker["id"], worker["caps"], run_id, lease_s, tag_key(loads(worker["tags"], [])))
    if job is None:
        return None
    c.execute("INSERT INTO runs (id, job_id, worker_id, status, mode, started_at) VALUES (?, ?, ?, ?, ?, ?)",
              (run_id, job["id"], worker["id"], RunStatus.RUNNING, job["mode"], now()))
    roll_up(c, job["order_id"])  # the order's first claim makes it running (one lookup: a job runs)
    payload = job_payload(store, job, lease_s)
    CLAIM_SECONDS.observe(time.perf_counter() - started)
    return payload


SEEN_EVERY_S = 5.0  # last_seen only tells live workers (waiting.LIVE_S) from gone ones
_SEEN: dict[tuple[str, str], float] = {}  # (db file, worker id) -> when this process last wrote it


def _seen(c: sqlite3.Connection, store: Store, worker_id: str) -> None:
    """Record that the worker polled, at most every SEEN_EVERY_S: a busy worker claims many
    times a second, and its liveness needs no write for each."""
    t, key = now(), (str(store.path), worker_id)
    if t - _SEEN.get(key, 0.0) >= SEEN_EVERY_S:
        c.execute("UPDATE workers SET last_seen = ? WHERE id = ?", (t, worker_id))
        _SEEN[key] = t


def job_payload(store: Store, job: Any, lease_s: float) -> dict[str, Any]:
    """Everything a worker needs to run a job, as frozen on its order line at submission:
    workflow document, merged overrides, fallback flag; mode from the job; the STEP file.
    The document and overrides stay the JSON text they were stored as (routes.common.PayloadResponse)."""
    row = store.one(
        "SELECT l.id, l.product, l.step_sha256, l.family, l.run_overrides, l.legacy_fallback, l.workflow_sha256, "
        "d.document, "
        "f.size, f.name FROM order_lines l JOIN workflow_documents d ON d.sha256 = l.workflow_sha256 "
        "LEFT JOIN files f ON f.sha256 = l.step_sha256 WHERE l.id = ?", job["order_line_id"])
    if row is None:
        raise QueueError(f"job {job['id']!r} lost its order line or the workflow frozen on it", 410)
    return {"job_id": job["id"], "run_id": job["run_id"], "order_id": job["order_id"],
            "order_line_id": row["id"], "product": row["product"], "output_type": job["output_type"],
            "family": row["family"], "mode": job["mode"], "legacy_fallback": bool(row["legacy_fallback"]),
            "overrides": orjson.Fragment(row["run_overrides"] or "{}"), "workflow": orjson.Fragment(row["document"]),
            "step_file": {"sha256": row["step_sha256"], "size": row["size"], "name": row["name"]},
            "workflow_sha256": row["workflow_sha256"], "overrides_sha256": document_sha256(row["run_overrides"] or "{}"),
            "lease_s": lease_s, "attempt": job["attempts"], **fan_out_payload(store, job)}


def fan_out_payload(store: Store, job: Any) -> dict[str, Any]:
    """What a part or assemble job adds to its line's payload: a part, the node it renders and
    the settings that make it a part; an assemble job, the split and every part's files."""
    kind = job["kind"]
    if kind in (JobKind.PART, JobKind.PREP):
        return {"kind": kind, "part": loads(job["part"], {})}
    if kind != JobKind.ASSEMBLE:
        return {"kind": JobKind.LINE}
    files = store.all("SELECT p.* FROM job_parts p JOIN jobs j ON j.id = p.job_id WHERE j.parent_id = ? "
                      "ORDER BY j.seq, p.node_id, p.port, p.member", job["id"])
    parts = [{**dict(f), "data": loads(f["data"], {})} for f in files]
    expected = [r["id"] for r in store.all("SELECT id FROM jobs WHERE parent_id = ? AND kind = ? ORDER BY seq",
                                           job["id"], JobKind.PART)]
    return {"kind": kind, "fan_out": loads(job["part"], {}), "part_jobs": expected, "parts": parts}


def add_part(store: Store, worker_id: str, job_id: str, meta: dict[str, Any], sha256: str, size: int) -> dict[str, Any]:
    """Record one file a part job hands to its assemble job (replacing an earlier run's)."""
    with store.tx() as c:
        job = c.execute("SELECT * FROM jobs WHERE id = ? AND status = ? AND worker_id = ?",
                        (job_id, JobStatus.RUNNING, worker_id)).fetchone()
        if job is None:
            raise QueueError(f"job {job_id!r} is not held by worker {worker_id!r}")
        if job["kind"] != JobKind.PART:
            raise QueueError(f"job {job_id!r} is not a part job; it publishes assets, not parts", 422)
        c.execute("INSERT OR IGNORE INTO files VALUES (?, ?, ?, ?)", (sha256, size, meta["name"], now()))
        c.execute("INSERT OR REPLACE INTO job_parts VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                  (job_id, meta["node_id"], meta["port"], meta["member"], meta["name"], meta["kind"],
                   meta.get("role"), json.dumps(meta.get("data") or {}), sha256, size))
    return {"job_id": job_id, "sha256": sha256, "size": size}


def held_job(store: Store, worker_id: str, job_id: str) -> Any:
    job = store.one("SELECT * FROM jobs WHERE id = ?", job_id)
    if job is None:
        raise QueueError(f"job {job_id!r} does not exist", 404)
    if job["status"] != JobStatus.RUNNING or job["worker_id"] != worker_id:
        raise QueueError(f"job {job_id!r} is not held by worker {worker_id!r} (status {job['status']})")
    return job


def heartbeat(store: Store, worker_id: str, job_id: str, lease_s: float, events: list[dict[str, Any]],
              logs: list[str]) -> dict[str, Any]:
    """Renew the lease, record per-node progress and log lines; the reply says whether to cancel."""
    t = now()
    with store.tx() as c:
        job = c.execute("SELECT * FROM jobs WHERE id = ? AND status = ? AND worker_id = ?",
                        (job_id, JobStatus.RUNNING, worker_id)).fetchone()
        if job is None:
            raise QueueError(f"job {job_id!r} is no longer held by worker {worker_id!r}")
        c.execute("UPDATE jobs SET lease_expires = ? WHERE id = ?", (t + lease_s, job_id))
        c.execute("UPDATE workers SET last_seen = ? WHERE id = ?", (t, worker_id))
        for event in events:
            c.execute("INSERT INTO node_results (run_id, node_id, step, status, fraction, message, updated_at) "
                      "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT(run_id, node_id) DO UPDATE "
                      "SET status = excluded.status, fraction = excluded.fraction, message = excluded.message, "
                      "step = coalesce(excluded.step, step), updated_at = excluded.updated_at",
                      (job["run_id"], str(event.get("node_id", "")), event.get("step"),
                       str(event.get("status", NodeStatus.RUNNING)), event.get("fraction"),
                       str(event.get("message") or "")[:2000], t))
        c.executemany("INSERT INTO job_logs (job_id, run_id, at, line) VALUES (?, ?, ?, ?)",
                      [(job_id, job["run_id"], t, str(line)[:4000]) for line in logs])
    return {"cancel": bool(job["cancel_requested"]), "lease_expires": t + lease_s}


def add_asset(store: Store, worker_id: str, job_id: str, meta: dict[str, Any], sha256: str,
              size: int) -> dict[str, Any]:
    """Record an uploaded output; the same (order line, role, sha256) is one asset, however
    often a job is re-run. It becomes visible when its run completes."""
    with store.tx() as c:
        job = c.execute("SELECT * FROM jobs WHERE id = ? AND status = ? AND worker_id = ?",
                        (job_id, JobStatus.RUNNING, worker_id)).fetchone()
        if job is None:
            raise QueueError(f"job {job_id!r} is not held by worker {worker_id!r}")
        c.execute("INSERT OR IGNORE INTO files VALUES (?, ?, ?, ?)", (sha256, size, meta["name"], now()))
        existing = c.execute("SELECT * FROM media_assets WHERE order_line_id = ? AND role = ? AND sha256 = ?",
                             (job["order_line_id"], meta["role"], sha256)).fetchone()
        record = _provenance(c, meta.get("provenance"), worker_id)
        if existing is not None:
            c.execute("UPDATE media_assets SET run_id = ?, job_id = ?, provenance = coalesce(?, provenance) "
                      "WHERE id = ? AND committed = 0", (job["run_id"], job_id, record, existing["id"]))
            return {**dict(existing), "duplicate": True}
        asset_id = new_id("ast")
        c.execute("INSERT INTO media_assets (id, order_id, order_line_id, job_id, run_id, node_id, role, kind, name, "
                  "sha256, size, is_primary, committed, created_at, provenance) "
                  "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0, ?, ?)",
                  (asset_id, job["order_id"], job["order_line_id"], job_id, job["run_id"], meta.get("node_id"),
                   meta["role"], meta.get("kind"), meta["name"], sha256, size, int(bool(meta.get("primary"))), now(),
                   record))
    row = store.one("SELECT * FROM media_assets WHERE id = ?", asset_id)
    return {**dict(row), "duplicate": False}  # type: ignore[arg-type]


def _provenance(c: sqlite3.Connection, record: dict[str, Any] | None, worker_id: str) -> str | None:
    """An upload's provenance as stored: the worker named as the server knows it (the one holding
    the job), whatever the record says."""
    if record is None:
        return None
    worker = c.execute("SELECT name FROM workers WHERE id = ?", (worker_id,)).fetchone()
    return json.dumps({**record, "worker": {"id": worker_id, "name": worker["name"] if worker else worker_id}},
                      sort_keys=True)


def _streak(c: Any, worker_id: str, output_type: str, failed: bool) -> None:
    if not failed:
        c.execute("DELETE FROM worker_streaks WHERE worker_id = ? AND output_type = ?", (worker_id, output_type))
        return
    c.execute("INSERT INTO worker_streaks (worker_id, output_type, failures) VALUES (?, ?, 1) "
              "ON CONFLICT(worker_id, output_type) DO UPDATE SET failures = failures + 1", (worker_id, output_type))
    c.execute("UPDATE worker_streaks SET blocked = 1 WHERE worker_id = ? AND output_type = ? AND failures >= ?",
              (worker_id, output_type, BLOCK_AFTER))


def _fail_or_retry(c: Any, job: Any, worker_id: str, error: str) -> None:
    """A failure on this worker: back to the queue for another worker, or failed for good."""
    failed_workers = job["failed_workers"] + f"|{worker_id}|"
    failures = [w for w in failed_workers.split("|") if w]
    if job["cancel_requested"]:
        jobstate.move(c, job["id"], JobStatus.CANCELLED, error="cancelled")
    elif len(failures) >= MAX_FAILURES:
        jobstate.move(c, job["id"], JobStatus.FAILED, failed_workers=failed_workers,
                      error=f"failed {len(failures)} times on {len(set(failures))} worker(s); last: {error}")
        settle_assemble(c, job, JobStatus.FAILED, error)
    else:
        jobstate.move(c, job["id"], JobStatus.QUEUED, failed_workers=failed_workers, worker_id=None,
                      lease_expires=None, error=error)


def _fail_on_input(c: Any, job: Any, error: str) -> None:
    """The order's input is at fault (an unreadable STEP, an unknown template, invalid settings):
    every worker would fail the same way, so the line fails now, and no worker is blamed for it."""
    jobstate.move(c, job["id"], JobStatus.FAILED, error=f"input error: {error}")
    settle_assemble(c, job, JobStatus.FAILED, error)


def complete(store: Store, worker_id: str, job_id: str, report: dict[str, Any]) -> dict[str, Any]:
    """Apply a worker's final report. Returns {"job": status, "order_finished": order id or None}."""
    status, error = _report_outcome(report)
    with store.tx() as c:
        return _complete(c, worker_id, job_id, status, error, report)


def complete_and_claim(store: Store, worker: Any, job_id: str, report: dict[str, Any],
                       lease_s: float) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """A busy worker's report and its next claim in one transaction: one commit instead of two
    (commits were about 40% of a claim+complete cycle's store time). If the next job cannot be handed out (its
    frozen line is unreadable), the report still stands and no job comes with it; the worker's
    own claim that follows gets the error."""
    status, error = _report_outcome(report)
    with store.tx() as c:
        result = _complete(c, worker["id"], job_id, status, error, report)
        c.execute("SAVEPOINT next_claim")
        try:
            job = _claim(c, store, worker, lease_s)
        except QueueError:
            c.execute("ROLLBACK TO next_claim")
            job = None
        c.execute("RELEASE next_claim")
    return result, job


def _report_outcome(report: dict[str, Any]) -> tuple[str, str | None]:
    status = report.get("status")
    if not isinstance(status, str) or status not in TERMINAL_JOB_STATUSES:
        raise QueueError(f"'status' must be succeeded, failed or cancelled, got {status!r}", 422)
    return status, str(report.get("error") or "")[:4000] or None


def _complete(c: sqlite3.Connection, worker_id: str, job_id: str, status: str, error: str | None,
              report: dict[str, Any]) -> dict[str, Any]:
    job = c.execute("SELECT * FROM jobs WHERE id = ? AND status = ? AND worker_id = ?",
                    (job_id, JobStatus.RUNNING, worker_id)).fetchone()
    if job is None:
        raise QueueError(f"job {job_id!r} is not held by worker {worker_id!r}")
    if job["cancel_requested"]:  # the cancel was acknowledged to the order system: it wins
        status = JobStatus.CANCELLED
    run = c.execute("UPDATE runs SET status = ?, fell_back = ?, summary = ?, parity = ?, error = ?, finished_at = ?, "
                    "cpu_s = ? WHERE id = ? RETURNING finished_at - started_at AS wall",
                    (status, int(bool(report.get("fell_back"))), json.dumps(report.get("summary")),
                     json.dumps(report["parity"]) if report.get("parity") else None, error, now(),
                     stats.seconds(report.get("cpu_s")), job["run_id"])).fetchall()
    stats.record(c, job, status, report, run[0]["wall"] if run else None)
    if status == JobStatus.SUCCEEDED:
        jobstate.move(c, job_id, JobStatus.SUCCEEDED, held_by=worker_id, error=None)
        c.execute("UPDATE media_assets SET committed = 1 WHERE run_id = ?", (job["run_id"],))
    elif status == JobStatus.CANCELLED:
        jobstate.move(c, job_id, JobStatus.CANCELLED, held_by=worker_id, error=error or "cancelled")
        settle_assemble(c, job, JobStatus.CANCELLED, error or "cancelled")
    elif report.get("rerun_parts"):
        _rerun_parts(c, job, worker_id, report["rerun_parts"], error or "parts unusable")
    elif report.get("input_error"):
        _fail_on_input(c, job, error or "the order's input was refused")
    else:
        _fail_or_retry(c, job, worker_id, error or "failed without a message")
    if status != JobStatus.CANCELLED and not report.get("rerun_parts") and not (
            status == JobStatus.FAILED and report.get("input_error")):
        _streak(c, worker_id, job["output_type"], status == JobStatus.FAILED)
    finished = roll_up(c, job["order_id"])
    final = status if status == JobStatus.SUCCEEDED else (  # a success is final; others may requeue
        c.execute("SELECT status FROM jobs WHERE id = ?", (job_id,)).fetchone()["status"])
    return {"job": final, "order_finished": job["order_id"] if finished else None}


def _rerun_parts(c: Any, job: Any, worker_id: str, part_ids: list[str], error: str) -> None:
    """An assemble job found some parts' files missing or corrupt: those parts run again (their
    files dropped) and the assemble job waits for them, without counting as a failure."""
    parts = {r["id"] for r in c.execute("SELECT id FROM jobs WHERE parent_id = ? AND kind = ?",
                                          (job["id"], JobKind.PART))}
    unknown = [p for p in part_ids if p not in parts]
    if unknown or job["attempts"] > MAX_FAILURES * (len(parts) + 1):  # no endless reruns
        why = f"rerun_parts names job(s) {unknown} that are not its parts" if unknown else "too many reruns"
        _fail_or_retry(c, job, worker_id, f"{error}; {why}")
        return
    for part_id in part_ids:
        c.execute("DELETE FROM job_parts WHERE job_id = ?", (part_id,))
        jobstate.rerun(c, part_id, f"rerun: {error}"[:4000])
    jobstate.move(c, job["id"], JobStatus.QUEUED, held_by=worker_id, worker_id=None, lease_expires=None, error=error)


def hand_back(store: Store, worker_id: str, job_id: str) -> dict[str, Any]:
    """A worker shutting down returns its job to the queue without it counting as a failure."""
    with store.tx() as c:
        if not _hand_back(c, worker_id, job_id):
            raise QueueError(f"job {job_id!r} is not held by worker {worker_id!r}")
    return {"job": JobStatus.QUEUED}


def sign_off(store: Store, worker_id: str) -> list[str]:
    """A worker leaving hands back every job the server still counts as its own: a stop signal can
    land after the server granted a claim and before the worker read the reply, and that job
    would otherwise wait out its lease."""
    with store.tx() as c:
        held = [row["id"] for row in c.execute(
            "SELECT id FROM jobs WHERE worker_id = ? AND status = ? ORDER BY id", (worker_id, JobStatus.RUNNING))]
        return [job_id for job_id in held if _hand_back(c, worker_id, job_id)]


def release_token(store: Store, token_id: str) -> list[str]:
    """A revoked worker token can no longer report: the jobs its workers hold go back to the
    queue now (not counted as failures) instead of waiting out their leases."""
    workers = [row["id"] for row in store.all("SELECT id FROM workers WHERE token_id = ?", token_id)]
    return [job_id for worker_id in workers for job_id in sign_off(store, worker_id)]


def _hand_back(c: sqlite3.Connection, worker_id: str, job_id: str) -> bool:
    job = c.execute("SELECT * FROM jobs WHERE id = ?", (job_id,)).fetchone()
    if job is None or not jobstate.move(c, job_id, JobStatus.QUEUED, held_by=worker_id, worker_id=None,
                                        lease_expires=None):
        return False
    c.execute("UPDATE runs SET status = ?, finished_at = ? WHERE id = ?", (RunStatus.HANDED_BACK, now(), job["run_id"]))
    roll_up(c, job["order_id"])
    return True


def reap_expired(store: Store) -> tuple[int, list[str]]:
    """Put jobs whose lease ran out back in the queue (counted against the lost worker).
    Returns how many, and the orders this finished (a job that ran out of workers)."""
    finished, count = [], 0
    with store.tx() as c:
        for job in jobstate.expired(c):
            full = c.execute("SELECT * FROM jobs WHERE id = ?", (job["id"],)).fetchone()
            c.execute("UPDATE runs SET status = ?, finished_at = ? WHERE id = ?", (RunStatus.LOST, now(), full["run_id"]))
            _fail_or_retry(c, full, full["worker_id"], f"lease expired on worker {full['worker_id']}")
            count += 1
            if roll_up(c, full["order_id"]):
                finished.append(full["order_id"])
    return count, finished


def grant_grace(store: Store, lease_s: float) -> int:
    """At server start: give running jobs a full lease, so workers that kept working while the
    server was down can reconnect and report instead of losing their job."""
    with store.tx() as c:
        cursor = c.execute("UPDATE jobs SET lease_expires = max(lease_expires, ?) WHERE status = ?",
                           (now() + lease_s, JobStatus.RUNNING))
    return cursor.rowcount


def clear_blocks(store: Store, worker_id: str, output_type: str | None) -> int:
    with store.tx() as c:
        if output_type:
            cursor = c.execute("DELETE FROM worker_streaks WHERE worker_id = ? AND output_type = ?",
                               (worker_id, output_type))
        else:
            cursor = c.execute("DELETE FROM worker_streaks WHERE worker_id = ?", (worker_id,))
    return cursor.rowcount


def list_workers(store: Store) -> list[dict[str, Any]]:
    """Every worker: capabilities, last heartbeat, the job it holds and the node that job is
    on, its failure streaks and the output types it is blocked from."""
    out = []
    for row in store.all("SELECT * FROM workers ORDER BY registered_at"):
        streaks = store.all("SELECT output_type, failures, blocked FROM worker_streaks WHERE worker_id = ?", row["id"])
        job = store.one("SELECT id, order_id, output_type, run_id FROM jobs WHERE worker_id = ? AND status = ? "
                        "ORDER BY updated_at DESC LIMIT 1", row["id"], JobStatus.RUNNING)
        node = job and store.one("SELECT node_id, fraction FROM node_results WHERE run_id = ? AND status = ? "
                                 "ORDER BY updated_at DESC LIMIT 1", job["run_id"], NodeStatus.RUNNING)
        out.append({"id": row["id"], "name": row["name"], "capabilities": loads(row["capabilities"], []),
                    "tags": loads(row["tags"], []),
                    "last_seen": row["last_seen"], "blocked_output_types": [r["output_type"] for r in streaks if r["blocked"]],
                    "failures": {r["output_type"]: r["failures"] for r in streaks if r["failures"]},
                    "current_job": job and {"id": job["id"], "order_id": job["order_id"],
                                            "output_type": job["output_type"],
                                            "node": node["node_id"] if node else None,
                                            "fraction": node["fraction"] if node else None}})
    return out
