"""Orders and their lines: creation (one job per line, or part jobs and an assemble job for a
line that fans out), status roll-up, cancellation."""

from __future__ import annotations

import json
from typing import Any

from engine.egress import EgressPolicy, EgressRefused
from engine.model.fanout import (
    FanOutError,
    FanOutPlan,
    downstream_steps,
    feeding_nodes,
    plan_fan_out,
    upstream_steps,
)
from engine.model.overrides import merge_overrides, order_override_problems, override_problems
from engine.model.registry import REGISTRY
from engine.model.vocabulary import (
    FINISHED_ORDER_STATUSES,
    TERMINAL_JOB_STATUSES,
    JobKind,
    JobStatus,
    Mode,
    OrderStatus,
    Role,
    RunStatus,
    WebhookStatus,
)

from . import jobstate, uploads
from .auth import Principal
from .catalog import (
    CatalogError,
    caps_mask,
    get_output_type,
    required_capabilities,
    step_capabilities,
    stored_workflow,
)
from .db import Store, keep_document, loads, new_id, now
from .redact import for_submitters
from .tags import known_tags, tag_key, tag_list, unknown_tags
from .waiting import capability_names, live_workers, waiting_reason

DEFAULT_PRIORITY = 50


class OrderError(ValueError):
    def __init__(self, message: str, status: int = 422) -> None:
        super().__init__(message)
        self.status = status


def check_webhook(egress: EgressPolicy, url: str) -> None:
    """An order's webhook URL against the server's egress policy (422 naming why)."""
    try:
        egress.check(url)
    except EgressRefused as exc:
        raise OrderError(str(exc)) from None


def legacy_reach(output_type: dict[str, Any], family: str) -> list[Any]:
    """The legacy pipeline a line's job may run instead of its graph (legacy or shadow mode, or a
    fallback): order overrides reach its steps too, so the trust check covers them."""
    from engine.legacy.presets import PRESETS, preset_workflow

    if output_type["mode"] == Mode.GRAPH and not output_type["legacy_fallback"]:
        return []
    return [preset_workflow(family)] if family in PRESETS else []


def create_order(store: Store, principal: Principal, lines: list[dict[str, Any]], webhook_url: str | None,
                 resolve_library: Any = None, priority: int = DEFAULT_PRIORITY) -> dict[str, Any]:
    """Check every line first (output type exists, STEP known, no operator-only override, known
    tags), then write order, lines and jobs. Each line freezes what its jobs will run: the
    workflow document (by content hash), the merged overrides, the fallback flag; its jobs, the
    mode, capabilities, required tags and the order's priority. The caller has checked the
    webhook (check_webhook)."""
    if not lines:
        raise OrderError("an order needs at least one line")
    prepared = []
    for index, line in enumerate(lines):
        where = f"lines[{index}]"
        try:
            output_type = get_output_type(store, line["output_type"])
        except CatalogError:
            raise OrderError(f"{where}.output_type: unknown output type {line['output_type']!r}") from None
        sha = line.get("step_sha256")
        if not sha and resolve_library is not None:
            sha = resolve_library(line.get("product", ""))
        if not sha:
            raise OrderError(f"{where}: no step_sha256 given and product {line.get('product')!r} "
                             "is not in the product library")
        if not uploads.may_order(store, principal, sha):  # the same answer for another tenant's file
            raise OrderError(f"{where}.step_sha256: you have no upload with sha256 {sha}")
        unknown = unknown_tags(store, line.get("tags") or [])
        if unknown:
            raise OrderError(f"{where}.tags: unknown tag(s) {', '.join(map(repr, unknown))}: no worker offers "
                             f"them and no output type requires them (known: {', '.join(sorted(known_tags(store))) or 'none'})")
        document, workflow = stored_workflow(store, output_type["workflow_id"])
        refused = order_override_problems(workflow, REGISTRY, line.get("overrides") or {},
                                          legacy_reach(output_type, workflow.family))
        if refused:
            raise OrderError(f"{where}.overrides: {'; '.join(refused)}")
        overrides = merge_overrides(output_type["overrides"], line.get("overrides") or {})
        problems = override_problems(workflow, REGISTRY, overrides)
        if problems:
            raise OrderError(f"{where}.overrides: {'; '.join(problems)}")
        caps = caps_mask(required_capabilities(workflow, output_type["mode"]))
        fan = _fan_out(where, workflow, overrides, output_type["mode"])
        prepared.append((line, sha, output_type, caps, document, workflow.family, overrides, workflow, fan))
    order_id, t = new_id("ord"), now()
    with store.tx() as c:
        c.execute("INSERT INTO orders (id, status, submitted_by, webhook_url, webhook_status, created_at, priority) "
                  "VALUES (?, ?, ?, ?, ?, ?, ?)",
                  (order_id, OrderStatus.QUEUED, principal.token_id, webhook_url,
                   WebhookStatus.PENDING if webhook_url else WebhookStatus.NONE, t, priority))
        for position, (line, sha, output_type, caps, document, family, overrides, workflow, fan) in enumerate(prepared):
            line_id = f"{order_id}-l{position + 1}"
            line_tags = tag_key(line.get("tags") or [])
            c.execute("INSERT INTO order_lines (id, order_id, position, product, step_sha256, output_type, "
                      "overrides, workflow_sha256, family, run_overrides, legacy_fallback, tags) "
                      "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                      (line_id, order_id, position, line.get("product") or line_id, sha, output_type["name"],
                       json.dumps(line.get("overrides") or {}), keep_document(c, document), family,
                       json.dumps(overrides), int(output_type["legacy_fallback"]), line_tags))
            job = {"order_id": order_id, "order_line_id": line_id, "output_type": output_type["name"],
                   "mode": output_type["mode"], "caps": caps, "priority": priority, "tenant": principal.token_id,
                   "tags": tag_key([*output_type["tags"], *tag_list(line_tags)])}
            _insert_jobs(c, f"job-{line_id[4:]}", job, workflow, fan, t)
    return order_status(store, order_id)


def _fan_out(where: str, workflow: Any, overrides: dict[str, Any], mode: str) -> FanOutPlan | None:
    """The line's split over several jobs, refused (422 naming the override) when it cannot be."""
    try:
        fan = plan_fan_out(workflow, overrides)
    except FanOutError as exc:
        raise OrderError(f"{where}.overrides.{exc}") from None
    if fan is not None and mode != Mode.GRAPH:
        raise OrderError(f"{where}.overrides.{fan.nodes[0]}: only graph-mode output types split over "
                         f"several jobs (this one runs in {mode} mode)")
    return fan


def _insert_jobs(c: Any, job_id: str, job: dict[str, Any], workflow: Any, fan: FanOutPlan | None,
                 t: float) -> None:
    """One job for the line; or a prep job (what feeds the split node: the CAD nodes, whose
    outputs then wait in the farm cache), the part jobs that come after it and need only their
    own node's capabilities (a bpy-only worker renders chunks), and the assemble job."""
    columns = "id, order_id, order_line_id, output_type, mode, priority, tenant, tags, caps, status, created_at, " \
              "updated_at, kind, parent_id, part, after_id"
    sql = f"INSERT INTO jobs ({columns}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
    base = (job["order_id"], job["order_line_id"], job["output_type"], job["mode"], job["priority"], job["tenant"],
            job["tags"])  # every job of the line, parts and assemble included, inherits these
    queued = JobStatus.QUEUED
    if fan is None:
        c.execute(sql, (job_id, *base, job["caps"], queued, t, t, JobKind.LINE, None, None, None))
        return
    prep_id, feeding = f"{job_id}-p0", feeding_nodes(workflow, fan.nodes)
    caps = caps_mask(step_capabilities([s for n in feeding for s in upstream_steps(workflow, n)]))
    prep = {"label": "prep", "targets": feeding}
    c.execute(sql, (prep_id, *base, caps, queued, t, t, JobKind.PREP, job_id, json.dumps(prep), None))
    for index, part in enumerate(fan.parts):
        caps = caps_mask(step_capabilities([workflow.node(part.node_id).step]))
        spec = {"label": part.label, "node_id": part.node_id, "targets": [part.node_id], "overrides": part.overrides}
        c.execute(sql, (f"{job_id}-p{index + 1}", *base, caps, queued, t, t, JobKind.PART, job_id, json.dumps(spec),
                        prep_id))
    caps = caps_mask(step_capabilities(downstream_steps(workflow, fan.nodes)))
    c.execute(sql, (job_id, *base, caps, queued, t, t, JobKind.ASSEMBLE, None, json.dumps(fan.describe()), None))


def roll_up(conn: Any, order_id: str) -> bool:
    """Recompute an order's status from its jobs; True when this call finished the order."""
    status = _unsettled_status(conn, order_id) or _settled_status(conn, order_id)
    finished = status in FINISHED_ORDER_STATUSES
    cursor = conn.execute("UPDATE orders SET status = ?, finished_at = CASE WHEN ? THEN ? END "
                          "WHERE id = ? AND status != ?", (status, finished, now(), order_id, status))
    return finished and cursor.rowcount == 1


def _unsettled_status(conn: Any, order_id: str) -> OrderStatus | None:
    """Running while a job runs, or while some wait and some are done; queued while all wait;
    None once none waits or runs. Index lookups (jobs_order), never a count of a big order's jobs."""
    def has(*statuses: JobStatus) -> bool:
        marks = ",".join("?" * len(statuses))
        return conn.execute(f"SELECT 1 FROM jobs WHERE order_id = ? AND status IN ({marks}) LIMIT 1",
                            (order_id, *statuses)).fetchone() is not None

    if has(JobStatus.RUNNING):
        return OrderStatus.RUNNING
    if not has(JobStatus.QUEUED):
        return None
    if conn.execute("SELECT 1 FROM jobs WHERE order_id = ? AND status = ? AND paused = 0 LIMIT 1",
                    (order_id, JobStatus.QUEUED)).fetchone() is None:
        return OrderStatus.PAUSED
    return OrderStatus.RUNNING if has(*sorted(TERMINAL_JOB_STATUSES)) else OrderStatus.QUEUED


def _settled_status(conn: Any, order_id: str) -> OrderStatus:
    """A settled order's outcome comes from its lines (a split line's is its assemble job's,
    whatever its prep and part jobs did before a cancel)."""
    counts = dict(conn.execute("SELECT status, count(*) FROM jobs WHERE order_id = ? AND kind IN (?, ?) "
                               "GROUP BY status", (order_id, JobKind.LINE, JobKind.ASSEMBLE)).fetchall())
    total = sum(counts.values())
    return (OrderStatus.FAILED if counts.get(JobStatus.FAILED) else
            OrderStatus.CANCELLED if counts.get(JobStatus.CANCELLED) == total else
            OrderStatus.SUCCEEDED if counts.get(JobStatus.SUCCEEDED) == total else OrderStatus.PARTIAL)


def visible(store: Store, principal: Principal, order_id: str) -> bool:
    row = store.one("SELECT submitted_by FROM orders WHERE id = ?", order_id)
    return row is not None and (principal.role == Role.ADMIN or row["submitted_by"] == principal.token_id)


def order_status(store: Store, order_id: str) -> dict[str, Any]:
    order = store.one("SELECT * FROM orders WHERE id = ?", order_id)
    if order is None:
        raise OrderError(f"order {order_id!r} does not exist", 404)
    lines = []
    workers: list[dict[str, Any]] | None = None  # read once, and only when a job waits
    for line in store.all("SELECT * FROM order_lines WHERE order_id = ? ORDER BY position", order_id):
        job = store.one("SELECT id, status, attempts, worker_id, run_id, error, mode, cancel_requested, caps, kind, "
                        "priority, paused, tags FROM jobs WHERE order_line_id = ? AND kind IN (?, ?)",
                        line["id"], JobKind.LINE, JobKind.ASSEMBLE)
        waiting = None
        paused = _paused(line) or _paused(order)
        if job is not None and job["status"] == JobStatus.QUEUED and paused:
            waiting = f"paused by {paused['by']}"
        elif job is not None and job["status"] == JobStatus.QUEUED and job["kind"] == JobKind.LINE:
            workers = live_workers(store) if workers is None else workers
            waiting = waiting_reason(job["caps"], line["output_type"], workers, tag_list(job["tags"]))
        parts = [dict(p) for p in store.all(
            "SELECT id, status, attempts, worker_id, error, part FROM jobs WHERE order_line_id = ? "
            "AND kind = ? ORDER BY seq", line["id"], JobKind.PART)]
        prep = store.one("SELECT id, status, attempts, worker_id, error FROM jobs WHERE order_line_id = ? "
                         "AND kind = ?", line["id"], JobKind.PREP)
        for part in parts:
            part["label"] = loads(part.pop("part"), {}).get("label", "")
        run = store.one("SELECT fell_back, parity IS NOT NULL AS has_parity FROM runs WHERE job_id = ? "
                        "AND status = ? ORDER BY started_at DESC LIMIT 1", job["id"], RunStatus.SUCCEEDED) if job else None
        assets = store.all("SELECT id, role, kind, name, sha256, size, is_primary, provenance FROM media_assets "
                           "WHERE order_line_id = ? AND committed = 1 ORDER BY created_at", line["id"])
        lines.append({"id": line["id"], "product": line["product"], "output_type": line["output_type"],
                      "step_sha256": line["step_sha256"], "overrides": loads(line["overrides"], {}),
                      "tags": tag_list(line["tags"]), "pause": _paused(line),
                      "job": _job_record(job, waiting),
                      "chunks": {"done": sum(p["status"] == JobStatus.SUCCEEDED for p in parts), "total": len(parts)},
                      "parts": parts, "prep": dict(prep) if prep else None,
                      "fell_back": bool(run and run["fell_back"]),
                      "assets": [{**dict(a), "is_primary": bool(a["is_primary"]),
                                  "provenance": loads(a["provenance"])} for a in assets]})
    webhook = {"url": order["webhook_url"], "status": order["webhook_status"],
               "attempts": order["webhook_attempts"], "error": order["webhook_error"]}
    status = {"id": order["id"], "status": order["status"], "priority": order["priority"], "pause": _paused(order),
              "created_at": order["created_at"],
              "finished_at": order["finished_at"], "fell_back": any(ln["fell_back"] for ln in lines),
              "chunks": {key: sum(ln["chunks"][key] for ln in lines) for key in ("done", "total")},
              "webhook": webhook, "lines": lines}
    result: dict[str, Any] = for_submitters(status)  # its errors name no worker's folders (webhook bodies too)
    return result


def _job_record(job: Any, waiting: str | None) -> dict[str, Any] | None:
    """A line's job as the status shows it: `waiting` says why a queued job is not taken (or None)."""
    if job is None:
        return None
    record = {k: job[k] for k in job.keys() if k not in ("caps", "tags")}
    return {**record, "needs": capability_names(job["caps"]), "needs_tags": tag_list(job["tags"]), "waiting": waiting}


def _paused(row: Any) -> dict[str, Any] | None:
    """Who paused an order or a line, and when (None when it is not paused)."""
    return {"by": row["paused_by"], "at": row["paused_at"]} if row["paused_by"] else None


def settle_assemble(c: Any, part: Any, status: JobStatus, error: str) -> None:
    """A prep or part job that ended for good without succeeding takes the jobs waiting on it
    along (its assemble job, the parts after it): they could never run."""
    if part["parent_id"]:
        why = f"{part['id']} {status}: {error}"[:4000]
        waiting = [r[0] for r in c.execute("SELECT id FROM jobs WHERE after_id = ? OR id = ?",
                                           (part["id"], part["parent_id"]))]
        for job_id in waiting:
            jobstate.move(c, job_id, status, error=why)


def cancel_jobs(store: Store, where: str, arg: str) -> tuple[int, list[str]]:
    """Cancel queued jobs now and flag running ones (their worker learns at its next heartbeat).
    Returns (count touched, orders finished by it)."""
    finished: list[str] = []
    touched = 0
    with store.tx() as c:
        rows = c.execute(f"SELECT id, order_id, status, parent_id FROM jobs WHERE {where} ORDER BY seq",
                         (arg,)).fetchall()
        for row in rows:
            if row["status"] == JobStatus.QUEUED:
                touched += jobstate.move(c, row["id"], JobStatus.CANCELLED, error="cancelled before it ran")
                settle_assemble(c, row, JobStatus.CANCELLED, "cancelled before it ran")
            elif row["status"] == JobStatus.RUNNING:
                c.execute("UPDATE jobs SET cancel_requested = 1 WHERE id = ?", (row["id"],))
                touched += 1
        for order_id in {r["order_id"] for r in rows}:
            if roll_up(c, order_id):
                finished.append(order_id)
    return touched, finished
