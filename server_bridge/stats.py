"""Render statistics: what each run, node and worker cost in wall and CPU seconds, an order's
totals, an output type's summary over a period, and a queued order's remaining-time estimate.

Workers measure (engine.runtime.calls.process_cpu); the server keeps the figures on the run
records (runs.cpu_s, node_results.wall_s/cpu_s) when a job reports, and sums those records,
so every total here adds up to the runs it came from.
"""

from __future__ import annotations

import bisect
import math
import re
import sqlite3
from typing import Any

from engine.model.vocabulary import FINISHED_ORDER_STATUSES, JobStatus, RunStatus

from .db import Store, now
from .waiting import LIVE_S

# seconds: from a cached node (0) to an hour-long turntable; /metrics shows them as histograms
BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0, 3600.0)
JOB_SECONDS = "job_duration_seconds"  # a successful run, by output type
NODE_SECONDS = "node_duration_seconds"  # a node's wall time in a finished run, by step
HISTORY_JOBS = 50  # the estimate's history: this many recent successful jobs of an output type
PERIOD = re.compile(r"^(\d+(?:\.\d+)?)([smhdw])$")
PERIOD_S = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}


def seconds(value: Any) -> float | None:
    """A reported duration: a finite, non-negative number, else nothing (never trusted blindly)."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) or value < 0:
        return None
    return float(value)


def observe(c: sqlite3.Connection, name: str, label: str, seconds: float) -> None:
    """Count one duration into a stored histogram (one upsert of its bucket), so /metrics reads
    bucket counts instead of scanning every run."""
    bucket = bisect.bisect_left(BUCKETS, seconds)
    c.execute("INSERT INTO farm_histograms VALUES (?, ?, ?, 1, ?) ON CONFLICT(name, label, bucket) "
              "DO UPDATE SET count = count + 1, total = total + excluded.total", (name, label, bucket, seconds))


def record(c: sqlite3.Connection, job: Any, status: str, report: dict[str, Any], wall: float | None) -> None:
    """Keep a report's per-node figures (wall and CPU seconds) on its run and count its durations
    into the histograms (`wall`: the run's, which the caller just closed; its CPU seconds the
    caller stored with it)."""
    if status == JobStatus.SUCCEEDED and wall is not None:
        observe(c, JOB_SECONDS, job["output_type"], max(0.0, wall))
    summary = report.get("summary")
    if not isinstance(summary, dict):
        return
    t, rows = now(), []
    for group in ("legacy_nodes", "nodes"):
        nodes = summary.get(group)
        for node_id, node in (nodes.items() if isinstance(nodes, dict) else ()):
            if isinstance(node, dict):
                rows.append((job["run_id"], str(node_id)[:128], str(node.get("step") or "")[:128] or None,
                             str(node.get("status") or "")[:32], t, seconds(node.get("duration")),
                             seconds(node.get("cpu"))))
    c.executemany("INSERT INTO node_results (run_id, node_id, step, status, updated_at, wall_s, cpu_s) "
                  "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT(run_id, node_id) DO UPDATE SET "
                  "wall_s = excluded.wall_s, cpu_s = excluded.cpu_s, step = coalesce(step, excluded.step)", rows)
    for row in rows:
        if row[5] is not None:
            observe(c, NODE_SECONDS, row[2] or "", row[5])


def _rounded(row: dict[str, Any]) -> dict[str, Any]:
    return {k: round(v, 3) if isinstance(v, float) else v for k, v in row.items()}


def order_stats(store: Store, order_id: str) -> dict[str, Any]:
    """An order's wall and CPU seconds: in all, per line, per node and per worker, summed over
    every finished run (retries and lost runs cost machine time too)."""
    runs = "FROM runs r JOIN jobs j ON j.id = r.job_id WHERE j.order_id = ? AND r.finished_at IS NOT NULL"
    sums = ("count(*) AS runs, coalesce(sum(r.finished_at - r.started_at), 0.0) AS wall_s, "
            "coalesce(sum(r.cpu_s), 0.0) AS cpu_s")
    total = store.one(f"SELECT {sums} {runs}", order_id)
    lines = store.all(f"SELECT j.order_line_id AS line_id, {sums} {runs} GROUP BY j.order_line_id "
                      "ORDER BY j.order_line_id", order_id)
    workers = store.all(f"SELECT r.worker_id, coalesce(max(w.name), r.worker_id) AS name, {sums} FROM runs r "
                        "JOIN jobs j ON j.id = r.job_id LEFT JOIN workers w ON w.id = r.worker_id WHERE j.order_id = ? "
                        "AND r.finished_at IS NOT NULL GROUP BY r.worker_id ORDER BY r.worker_id", order_id)
    nodes = store.all("SELECT n.node_id, n.step, count(*) AS runs, coalesce(sum(n.wall_s), 0.0) AS wall_s, "
                      "coalesce(sum(n.cpu_s), 0.0) AS cpu_s FROM node_results n JOIN runs r ON r.id = n.run_id "
                      "JOIN jobs j ON j.id = r.job_id WHERE j.order_id = ? AND r.finished_at IS NOT NULL "
                      "GROUP BY n.node_id, n.step ORDER BY wall_s DESC, n.node_id", order_id)
    return {"total": _rounded(dict(total)) if total else {"runs": 0, "wall_s": 0.0, "cpu_s": 0.0},
            "lines": [_rounded(dict(r)) for r in lines], "nodes": [_rounded(dict(r)) for r in nodes],
            "workers": [_rounded(dict(r)) for r in workers]}


def parse_period(text: str) -> float:
    """`7d`, `12h`, `30m`, `90s`, `2w` as seconds; a ValueError naming the text otherwise."""
    match = PERIOD.match(text.strip())
    if not match:
        raise ValueError(f"'since' must be a number and a unit s, m, h, d or w (such as 7d), got {text[:32]!r}")
    return float(match.group(1)) * PERIOD_S[match.group(2)]


def quantile(values: list[float], q: float) -> float | None:
    """The q-quantile by linear interpolation (as numpy's default); None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    position = (len(ordered) - 1) * q
    low = math.floor(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def farm_stats(store: Store, output_type: str, since_s: float) -> dict[str, Any]:
    """An output type's jobs that succeeded within `since_s`: median and p90 of a job's wall and
    CPU seconds (all its runs), and the CPU-hours they used."""
    rows = store.all("SELECT j.id, sum(r.finished_at - r.started_at) AS wall_s, coalesce(sum(r.cpu_s), 0.0) AS cpu_s "
                     "FROM jobs j JOIN runs r ON r.job_id = j.id WHERE j.output_type = ? AND j.status = ? "
                     "AND r.finished_at IS NOT NULL AND j.updated_at >= ? GROUP BY j.id",
                     output_type, JobStatus.SUCCEEDED, now() - since_s)
    walls, cpus = [r["wall_s"] for r in rows], [r["cpu_s"] for r in rows]

    def spread(values: list[float]) -> dict[str, float | None]:
        return {"median": _round(quantile(values, 0.5)), "p90": _round(quantile(values, 0.9))}

    return {"output_type": output_type, "since_s": since_s, "jobs": len(rows), "wall_s": spread(walls),
            "cpu_s": spread(cpus), "cpu_hours": round(sum(cpus) / 3600, 6), "wall_hours": round(sum(walls) / 3600, 6)}


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 3)


def estimate(store: Store, order_id: str) -> dict[str, Any] | None:
    """How long an unfinished order still needs: each waiting job takes the median of its output
    type's (and kind's) recent successful jobs, a running one that minus its time so far, spread
    over the live workers able to run it. None for a finished order; `remaining_s` None, with
    the reason, when there is no history or no live worker."""
    order = store.one("SELECT status FROM orders WHERE id = ?", order_id)
    if order is None or order["status"] in FINISHED_ORDER_STATUSES:
        return None
    jobs = store.all("SELECT j.output_type, j.kind, j.caps, j.status, r.started_at FROM jobs j LEFT JOIN runs r "
                     "ON r.id = j.run_id AND j.status = ? WHERE j.order_id = ? AND j.status IN (?, ?)",
                     JobStatus.RUNNING, order_id, JobStatus.QUEUED, JobStatus.RUNNING)
    live = [r["caps"] for r in store.all("SELECT caps FROM workers WHERE last_seen >= ?", now() - LIVE_S)]
    medians: dict[tuple[str, str], float | None] = {}
    left, workers, unknown = 0.0, 0, []
    t = now()
    for job in jobs:
        key = (job["output_type"], job["kind"])
        if key not in medians:
            medians[key] = _recent_median(store, *key)
        median = medians[key]
        if median is None:
            unknown.append(job["output_type"])
            continue
        elapsed = t - job["started_at"] if job["started_at"] else 0.0
        left += max(0.0, median - elapsed)
        workers = max(workers, sum(1 for caps in live if job["caps"] & ~caps == 0))
    basis = {"history_jobs": HISTORY_JOBS, "live_workers": workers, "jobs_left": len(jobs)}
    if unknown:
        return {"remaining_s": None, **basis, "why": f"no successful job of {sorted(set(unknown))[0]!r} yet"}
    if jobs and not workers:
        return {"remaining_s": None, **basis, "why": "no live worker can run its jobs"}
    return {"remaining_s": round(left / max(1, workers), 1), **basis, "why": None}


def _recent_median(store: Store, output_type: str, kind: str) -> float | None:
    rows = store.all("SELECT r.finished_at - r.started_at AS wall FROM jobs j JOIN runs r ON r.job_id = j.id "
                     "WHERE j.status = ? AND j.output_type = ? AND j.kind = ? AND r.status = ? "
                     "ORDER BY r.finished_at DESC LIMIT ?",  # j.status: the (status, output_type) index
                     JobStatus.SUCCEEDED, output_type, kind, RunStatus.SUCCEEDED, HISTORY_JOBS)
    return quantile([r["wall"] for r in rows], 0.5)


def with_stats(store: Store, status: dict[str, Any]) -> dict[str, Any]:
    """An order's status with its statistics and, while unfinished, its estimate."""
    return {**status, "statistics": order_stats(store, status["id"]), "estimate": estimate(store, status["id"])}
