"""Orders and their lines: creation (one job per line), status roll-up, cancellation."""

from __future__ import annotations

import json
from typing import Any

from engine.egress import EgressPolicy, EgressRefused

from . import jobstate
from .auth import Principal
from .catalog import (
    CatalogError,
    caps_mask,
    get_output_type,
    merge_overrides,
    order_override_problems_of,
    override_problems_of,
    required_capabilities,
    stored_workflow,
)
from .db import Store, keep_document, loads, new_id, now


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


def create_order(store: Store, principal: Principal, lines: list[dict[str, Any]], webhook_url: str | None,
                 resolve_library: Any = None) -> dict[str, Any]:
    """Check every line first (output type exists, STEP known, no operator-only override), then
    write order, lines and jobs. Each line freezes what its jobs will run: the workflow document
    (by content hash), the merged overrides, the fallback flag; its job, the mode and
    capabilities. The caller has checked the webhook (check_webhook)."""
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
        if store.one("SELECT 1 FROM files WHERE sha256 = ?", sha) is None:
            raise OrderError(f"{where}.step_sha256: no uploaded file has sha256 {sha}")
        document, workflow = stored_workflow(store, output_type["workflow_id"])
        refused = order_override_problems_of(workflow, line.get("overrides") or {})
        if refused:
            raise OrderError(f"{where}.overrides: {'; '.join(refused)}")
        overrides = merge_overrides(output_type["overrides"], line.get("overrides") or {})
        problems = override_problems_of(workflow, overrides)
        if problems:
            raise OrderError(f"{where}.overrides: {'; '.join(problems)}")
        caps = caps_mask(required_capabilities(workflow, output_type["mode"]))
        prepared.append((line, sha, output_type, caps, document, workflow.family, overrides))
    order_id, t = new_id("ord"), now()
    with store.tx() as c:
        c.execute("INSERT INTO orders (id, status, submitted_by, webhook_url, webhook_status, created_at) "
                  "VALUES (?, 'queued', ?, ?, ?, ?)",
                  (order_id, principal.token_id, webhook_url, "pending" if webhook_url else "none", t))
        for position, (line, sha, output_type, caps, document, family, overrides) in enumerate(prepared):
            line_id = f"{order_id}-l{position + 1}"
            c.execute("INSERT INTO order_lines (id, order_id, position, product, step_sha256, output_type, "
                      "overrides, workflow_sha256, family, run_overrides, legacy_fallback) "
                      "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                      (line_id, order_id, position, line.get("product") or line_id, sha, output_type["name"],
                       json.dumps(line.get("overrides") or {}), keep_document(c, document), family,
                       json.dumps(overrides), int(output_type["legacy_fallback"])))
            c.execute("INSERT INTO jobs (id, order_id, order_line_id, output_type, mode, caps, status, "
                      "created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, 'queued', ?, ?)",
                      (f"job-{line_id[4:]}", order_id, line_id, output_type["name"], output_type["mode"],
                       caps, t, t))
    return order_status(store, order_id)


def roll_up(conn: Any, order_id: str) -> bool:
    """Recompute an order's status from its jobs; True when this call finished the order."""
    counts = dict(conn.execute("SELECT status, count(*) FROM jobs WHERE order_id = ? GROUP BY status",
                               (order_id,)).fetchall())
    total = sum(counts.values())
    if not counts.get("queued") and not counts.get("running"):
        status = ("failed" if counts.get("failed") else
                  "cancelled" if counts.get("cancelled") == total else
                  "succeeded" if counts.get("succeeded") == total else "partial")
    else:
        status = "queued" if counts.get("queued") == total else "running"
    finished = status in ("failed", "cancelled", "succeeded", "partial")
    cursor = conn.execute("UPDATE orders SET status = ?, finished_at = CASE WHEN ? THEN ? END "
                          "WHERE id = ? AND status != ?", (status, finished, now(), order_id, status))
    return finished and cursor.rowcount == 1


def visible(store: Store, principal: Principal, order_id: str) -> bool:
    row = store.one("SELECT submitted_by FROM orders WHERE id = ?", order_id)
    return row is not None and (principal.role == "admin" or row["submitted_by"] == principal.token_id)


def order_status(store: Store, order_id: str) -> dict[str, Any]:
    order = store.one("SELECT * FROM orders WHERE id = ?", order_id)
    if order is None:
        raise OrderError(f"order {order_id!r} does not exist", 404)
    lines = []
    for line in store.all("SELECT * FROM order_lines WHERE order_id = ? ORDER BY position", order_id):
        job = store.one("SELECT id, status, attempts, worker_id, run_id, error, mode, cancel_requested "
                        "FROM jobs WHERE order_line_id = ?", line["id"])
        run = store.one("SELECT fell_back, parity IS NOT NULL AS has_parity FROM runs WHERE job_id = ? "
                        "AND status = 'succeeded' ORDER BY started_at DESC LIMIT 1", job["id"]) if job else None
        assets = store.all("SELECT id, role, kind, name, sha256, size, is_primary FROM media_assets "
                           "WHERE order_line_id = ? AND committed = 1 ORDER BY created_at", line["id"])
        lines.append({"id": line["id"], "product": line["product"], "output_type": line["output_type"],
                      "step_sha256": line["step_sha256"], "overrides": loads(line["overrides"], {}),
                      "job": dict(job) if job else None,
                      "fell_back": bool(run and run["fell_back"]),
                      "assets": [{**dict(a), "is_primary": bool(a["is_primary"])} for a in assets]})
    webhook = {"url": order["webhook_url"], "status": order["webhook_status"],
               "attempts": order["webhook_attempts"], "error": order["webhook_error"]}
    return {"id": order["id"], "status": order["status"], "created_at": order["created_at"],
            "finished_at": order["finished_at"], "fell_back": any(ln["fell_back"] for ln in lines),
            "webhook": webhook, "lines": lines}


def cancel_jobs(store: Store, where: str, arg: str) -> tuple[int, list[str]]:
    """Cancel queued jobs now and flag running ones (their worker learns at its next heartbeat).
    Returns (count touched, orders finished by it)."""
    finished: list[str] = []
    touched = 0
    with store.tx() as c:
        rows = c.execute(f"SELECT id, order_id, status FROM jobs WHERE {where}", (arg,)).fetchall()
        for row in rows:
            if row["status"] == "queued":
                touched += jobstate.move(c, row["id"], "cancelled", error="cancelled before it ran")
            elif row["status"] == "running":
                c.execute("UPDATE jobs SET cancel_requested = 1 WHERE id = ?", (row["id"],))
                touched += 1
        for order_id in {r["order_id"] for r in rows}:
            if roll_up(c, order_id):
                finished.append(order_id)
    return touched, finished
