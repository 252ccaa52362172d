"""The job state machine: the only code that changes a job's status.

    queued --claim--> running --complete--> succeeded | failed | cancelled
      ^                  |
      +---- requeue -----+   (lease expired, handed back, failed with retries left)
    queued --cancel--> cancelled
    succeeded --rerun--> queued   (a part job whose files its assemble job found missing or corrupt)

A queued job of a paused order or line (`paused`) is not handed out; it stays queued.
An assemble job is claimable only once all its part jobs (parent_id) have succeeded, and a
part job only once the prep job it comes after (after_id) has.

Every change is a guarded UPDATE (`WHERE status IN (allowed sources)`), so two racing callers
cannot both move a job: the loser's UPDATE matches no row.
"""

from __future__ import annotations

import sqlite3
from typing import Any

from engine.model.vocabulary import TERMINAL_JOB_STATUSES, JobKind, JobStatus

from .db import now

TERMINAL: frozenset[JobStatus] = TERMINAL_JOB_STATUSES

# target status -> statuses it may be entered from
TRANSITIONS: dict[JobStatus, tuple[JobStatus, ...]] = {
    JobStatus.RUNNING: (JobStatus.QUEUED,),
    JobStatus.QUEUED: (JobStatus.RUNNING,),
    JobStatus.SUCCEEDED: (JobStatus.RUNNING,),
    JobStatus.FAILED: (JobStatus.RUNNING, JobStatus.QUEUED),
    JobStatus.CANCELLED: (JobStatus.QUEUED, JobStatus.RUNNING),
}

_FIELDS = frozenset({"worker_id", "run_id", "lease_expires", "error", "failed_workers", "cancel_requested"})


class TransitionError(ValueError):
    """A status change the state machine does not allow (a bug, not bad input)."""


def _assignments(fields: dict[str, Any]) -> tuple[str, list[Any]]:
    unknown = set(fields) - _FIELDS
    if unknown:
        raise TransitionError(f"jobs have no settable field(s) {sorted(unknown)}")
    sql = "".join(f", {name} = ?" for name in fields)
    return sql, list(fields.values())


def move(conn: sqlite3.Connection, job_id: str, to: JobStatus, *, held_by: str | None = None,
         **fields: Any) -> bool:
    """Move one job to `to` if its current status allows it (and, when given, worker `held_by`
    still holds it). Returns whether the job moved."""
    sources = TRANSITIONS.get(to)
    if sources is None:
        raise TransitionError(f"unknown job status {to!r}")
    sets, values = _assignments(fields)
    guard = f"status IN ({','.join('?' * len(sources))})"
    args: list[Any] = [to, now(), *values, job_id, *sources]
    if held_by is not None:
        guard += " AND worker_id = ?"
        args.append(held_by)
    cursor = conn.execute(f"UPDATE jobs SET status = ?, updated_at = ?{sets} WHERE id = ? AND {guard}", args)
    return cursor.rowcount == 1


def rerun(conn: sqlite3.Connection, job_id: str, reason: str) -> bool:
    """succeeded -> queued: the one way back from a final status, for a part job whose files
    went missing or corrupt before its assemble job read them."""
    cursor = conn.execute("UPDATE jobs SET status = ?, updated_at = ?, worker_id = NULL, lease_expires = NULL, "
                          "failed_workers = '', error = ? WHERE id = ? AND status = ? AND kind = ?",
                          (JobStatus.QUEUED, now(), reason, job_id, JobStatus.SUCCEEDED, JobKind.PART))
    return cursor.rowcount == 1


def claim_next(conn: sqlite3.Connection, worker_id: str, caps: int, run_id: str, lease_s: float,
               tags: str = "", retry_after_s: float = 60.0) -> sqlite3.Row | None:
    """queued -> running for the job this worker should do next. It can do a job when its
    capabilities and tags ("|a|b|") cover the job's, it is not blocked from the output type, and it
    has not failed the job before (unless no other worker took it for `retry_after_s`, so a farm
    of one still gets an answer). Of those: the highest priority, oldest first within it; between
    tenants at the same priority, the one served least recently (fair share: one tenant's big
    order cannot hold every worker while another tenant's order waits)."""
    t = now()
    args = {"from_status": JobStatus.QUEUED, "done": JobStatus.SUCCEEDED, "assemble_kind": JobKind.ASSEMBLE,
            "worker_id": worker_id, "lacking": ~caps, "tags": tags, "marker": f"|{worker_id}|",
            "retry_before": t - retry_after_s}
    tenants = [row[0] for row in conn.execute(_WAITING_TENANTS, (JobStatus.QUEUED,))]
    best: tuple[int, int, str] | None = None  # (priority, seq, tenant)
    for tenant in tenants:  # least recently served first: a later tenant wins only on a higher priority
        sql = _CANDIDATE.format(floor="AND priority > :floor" if best else "")
        row = conn.execute(sql, {**args, "tenant": tenant, "floor": best[0] if best else 0}).fetchone()
        if row is not None:
            best = (row["priority"], row["seq"], tenant)
    if best is None:
        return None
    if len(tenants) > 1:
        conn.execute("INSERT INTO tenant_turns VALUES (?, ?) ON CONFLICT(tenant) DO UPDATE SET turn = excluded.turn",
                     (best[2], t))
    return conn.execute(
        "UPDATE jobs SET status = ?, worker_id = ?, run_id = ?, lease_expires = ?, attempts = attempts + 1, "
        "cancel_requested = 0, updated_at = ? WHERE seq = ? AND status = ? RETURNING *",
        (JobStatus.RUNNING, worker_id, run_id, t + lease_s, t, best[1], JobStatus.QUEUED)).fetchone()


# Tenants with unpaused queued jobs, by index seeks (one per tenant, not one per job), least
# recently served first.
_WAITING_TENANTS = """
WITH RECURSIVE waiting(tenant) AS (
    SELECT min(tenant) FROM jobs WHERE status = ?1 AND paused = 0
    UNION ALL
    SELECT (SELECT min(tenant) FROM jobs WHERE status = ?1 AND paused = 0 AND tenant > waiting.tenant)
    FROM waiting WHERE waiting.tenant IS NOT NULL)
SELECT waiting.tenant FROM waiting LEFT JOIN tenant_turns turns ON turns.tenant = waiting.tenant
WHERE waiting.tenant IS NOT NULL ORDER BY coalesce(turns.turn, 0), waiting.tenant"""

# One tenant's next job this worker can do (index jobs_claim: priority, then age).
_CANDIDATE = """
SELECT seq, priority FROM jobs INDEXED BY jobs_claim
WHERE status = :from_status AND paused = 0 AND tenant = :tenant {floor}
  AND (caps & :lacking) = 0 AND (tags = '' OR tags_within(tags, :tags))
  AND (instr(failed_workers, :marker) = 0 OR updated_at < :retry_before)
  AND output_type NOT IN (SELECT output_type FROM worker_streaks WHERE worker_id = :worker_id AND blocked = 1)
  AND (kind != :assemble_kind OR NOT EXISTS (
      SELECT 1 FROM jobs p WHERE p.parent_id = jobs.id AND p.status != :done))
  AND (after_id IS NULL OR EXISTS (SELECT 1 FROM jobs d WHERE d.id = jobs.after_id AND d.status = :done))
ORDER BY priority DESC, seq LIMIT 1"""


def expired(conn: sqlite3.Connection) -> list[sqlite3.Row]:
    """Running jobs whose lease ran out (worker killed, host lost)."""
    return list(conn.execute(
        "SELECT id, worker_id, failed_workers FROM jobs WHERE status = ? AND lease_expires < ?",
        (JobStatus.RUNNING, now())).fetchall())
