"""Order routes: submit, list, status, cancel, steer (priority, pause, resume) and delete orders;
read and cancel one job."""

from __future__ import annotations

import time
from typing import Any

from fastapi import Depends, Query

from engine.model.vocabulary import Role

from .. import cleanup, orders, scheduling, stats, uploads
from ..api_models import OrderRequest, PriorityRequest
from ..api_replies import CancelledJob, CancelledOrder, JobDetail, Order, OrderListEntry, OrderRemoval
from ..auth import Principal
from ..db import Store, loads
from ..redact import for_submitters
from ..storage import ingest_copy, library_path
from .common import ApiError, Farm, Router, errs, farm, submitter

router = Router()


@router.post("/api/orders", status_code=201, responses=errs(404, writes=True), response_model=Order)
def create_order(req: OrderRequest, who: Principal = Depends(submitter), f: Farm = Depends(farm)) -> dict[str, Any]:
    def from_library(product: str) -> str | None:
        path = library_path(f.settings.library_dir, product)
        if path is None:
            return None
        sha, size = ingest_copy(f.files, path)
        uploads.record(f.store, f.files, sha, size, path.name, uploads.LIBRARY)
        return sha

    if req.webhook_url:  # resolving the host may take a while (this runs in the threadpool)
        orders.check_webhook(f.egress, req.webhook_url)
    order = orders.create_order(f.store, who, [line.model_dump() for line in req.lines], req.webhook_url,
                                from_library, req.priority)
    f.waker.wake()
    return order


@router.get("/api/orders", responses=errs(), response_model=list[OrderListEntry])
def list_orders(limit: int = Query(50, ge=1, le=1000), who: Principal = Depends(submitter),
                f: Farm = Depends(farm)) -> list[dict[str, Any]]:
    rows = f.store.all("SELECT id, status, priority, created_at, finished_at FROM orders WHERE ? OR submitted_by = ? "
                       "ORDER BY created_at DESC LIMIT ?", who.role == Role.ADMIN, who.token_id, limit)
    return [dict(r) for r in rows]


@router.get("/api/orders/{order_id}", responses=errs(404, 410), response_model=Order)
def get_order(order_id: str, who: Principal = Depends(submitter), f: Farm = Depends(farm)) -> dict[str, Any]:
    _own_order(f.store, order_id, who)
    return stats.with_stats(f.store, orders.order_status(f.store, order_id))


@router.post("/api/orders/{order_id}/cancel", responses=errs(404, 410, writes=True), response_model=CancelledOrder)
def cancel_order(order_id: str, who: Principal = Depends(submitter), f: Farm = Depends(farm)) -> dict[str, Any]:
    _own_order(f.store, order_id, who)
    touched, finished = orders.cancel_jobs(f.store, "order_id = ?", order_id)
    for done in finished:
        f.notifier.order_finished(done)
    return {"cancelled": touched, "order": orders.order_status(f.store, order_id)}


@router.post("/api/orders/{order_id}/priority", responses=errs(404, 409, 410, writes=True), response_model=Order)
def set_priority(order_id: str, req: PriorityRequest, who: Principal = Depends(submitter),
                 f: Farm = Depends(farm)) -> dict[str, Any]:
    """Change a waiting or running order's priority: its queued jobs are reordered at once."""
    _own_order(f.store, order_id, who)
    scheduling.set_priority(f.store, order_id, req.priority)
    f.waker.wake()
    return orders.order_status(f.store, order_id)


@router.post("/api/orders/{order_id}/pause", responses=errs(404, 409, 410, writes=True), response_model=Order)
def pause_order(order_id: str, line: str | None = Query(None, max_length=128, description="only this line (its id)"),
                who: Principal = Depends(submitter), f: Farm = Depends(farm)) -> dict[str, Any]:
    """Stop handing out the order's (or one line's) waiting jobs; running ones finish."""
    _own_order(f.store, order_id, who)
    scheduling.pause(f.store, who, order_id, line)
    return orders.order_status(f.store, order_id)


@router.post("/api/orders/{order_id}/resume", responses=errs(404, 409, 410, writes=True), response_model=Order)
def resume_order(order_id: str, line: str | None = Query(None, max_length=128, description="only this line (its id)"),
                 who: Principal = Depends(submitter), f: Farm = Depends(farm)) -> dict[str, Any]:
    _own_order(f.store, order_id, who)
    scheduling.resume(f.store, order_id, line)
    f.waker.wake()
    return orders.order_status(f.store, order_id)


@router.delete("/api/orders/{order_id}", responses=errs(404, 409, 410, writes=True), response_model=OrderRemoval)
def delete_order(order_id: str, cancel: bool = Query(False, description="cancel jobs still waiting or running first"),
                 who: Principal = Depends(submitter), f: Farm = Depends(farm)) -> dict[str, Any]:
    """Delete an order and the stored files only it used; a short record stays."""
    _own_order(f.store, order_id, who)
    record = cleanup.delete_order(f.store, f.files, who, order_id, cancel)
    f.waker.wake()  # the workers waiting on its cancelled jobs' parts
    return record


@router.get("/api/jobs/{job_id}", responses=errs(404), response_model=JobDetail)
def get_job(job_id: str, who: Principal = Depends(submitter), f: Farm = Depends(farm)) -> dict[str, Any]:
    _own_job(f.store, job_id, who)
    detail = _job_detail(f.store, job_id)
    return detail if who.role == Role.ADMIN else for_submitters(detail)  # type: ignore[no-any-return]


@router.post("/api/jobs/{job_id}/cancel", responses=errs(404, writes=True), response_model=CancelledJob)
def cancel_job(job_id: str, who: Principal = Depends(submitter), f: Farm = Depends(farm)) -> dict[str, Any]:
    job = _own_job(f.store, job_id, who)
    touched, finished = orders.cancel_jobs(f.store, "id = ?1 OR parent_id = ?1", job_id)
    for done in finished:
        f.notifier.order_finished(done)
    return {"cancelled": touched, "order_status": orders.order_status(f.store, job["order_id"])["status"]}


def _own_order(store: Store, order_id: str, who: Principal) -> None:
    if orders.visible(store, who, order_id):
        return
    gone = cleanup.removal(store, order_id)
    if gone is not None and (who.role == Role.ADMIN or gone["submitted_by"] == who.token_id):
        raise ApiError(410, f"order {order_id!r} was {gone['action']} by {gone['removed_by']} at "
                            f"{time.strftime('%Y-%m-%d %H:%M:%S UTC', time.gmtime(gone['removed_at']))} "
                            f"({gone['files_removed']} file(s), {gone['bytes_freed']} bytes freed)")
    raise ApiError(404, f"order {order_id!r} does not exist")


def _own_job(store: Store, job_id: str, who: Principal) -> Any:
    job = store.one("SELECT order_id FROM jobs WHERE id = ?", job_id)
    if job is None or not orders.visible(store, who, job["order_id"]):
        raise ApiError(404, f"job {job_id!r} does not exist")
    return job


def _job_detail(store: Store, job_id: str) -> dict[str, Any]:
    job = dict(store.one("SELECT * FROM jobs WHERE id = ?", job_id))  # type: ignore[arg-type]
    runs = []
    for run in store.all("SELECT * FROM runs WHERE job_id = ? ORDER BY started_at", job_id):
        nodes = store.all("SELECT node_id, step, status, fraction, message FROM node_results WHERE run_id = ?",
                          run["id"])
        runs.append({**dict(run), "summary": loads(run["summary"]), "parity": loads(run["parity"]),
                     "nodes": [dict(n) for n in nodes]})
    logs = [r["line"] for r in store.all("SELECT line FROM job_logs WHERE job_id = ? ORDER BY id", job_id)]
    return {**job, "runs": runs, "logs": logs[-500:]}
