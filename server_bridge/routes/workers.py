"""Worker routes: register, claim (long poll), complete (with the next claim), heartbeat,
upload assets and parts, hand back, sign off.

The claim waits on the event loop (the Waker) while each claim attempt runs in the store thread
(db.off_loop), so a waiting worker costs no thread and the store never blocks the loop. The
busy path (claim, complete) comes first: Starlette tries routes in order.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

from fastapi import Depends, Header, Query, Request
from fastapi.responses import Response

from engine.filenames import UnsafeName, plain_name
from engine.model.vocabulary import JobStatus

from .. import housekeeping, queue
from ..api_models import ClaimRequest, CompleteRequest, HeartbeatRequest, RegisterRequest, WorkerRef
from ..api_replies import (
    ClaimedJob,
    Completed,
    HandedBack,
    Heartbeat,
    Registered,
    SignedOff,
    UploadedAsset,
    UploadedPart,
)
from ..auth import Principal
from ..db import off_loop
from ..storage import safe_name
from .common import (
    SHA256_HEADER,
    STREAMED_BODY,
    ApiError,
    Farm,
    PayloadResponse,
    Router,
    errs,
    farm,
    worker_role,
)
from .files import receive

router = Router()
MAX_PROVENANCE = 8192  # characters of an asset's provenance record


@router.post("/api/workers/register", status_code=201, responses=errs(writes=True), response_model=Registered)
def register(req: RegisterRequest, who: Principal = Depends(worker_role), f: Farm = Depends(farm)) -> dict[str, Any]:
    return {**queue.register_worker(f.store, who, req.name, req.capabilities, req.tags), "lease_s": f.settings.lease_s}


@router.post("/api/workers/{worker_id}/claim", response_class=PayloadResponse,
             responses={200: {"model": ClaimedJob, "description": "the claimed job"},
                        204: {"description": "no job arrived within wait_s"}, **errs(404, 409, 410, writes=True)})
async def claim(worker_id: str, req: ClaimRequest, request: Request, who: Principal = Depends(worker_role),
                f: Farm = Depends(farm)) -> Response:
    def attempt() -> dict[str, Any] | None:
        return queue.claim(f.store, queue.own_worker(f.store, who, worker_id), f.settings.lease_s)

    job = await next_job(f, request, req.wait_s, attempt)
    return PayloadResponse(job) if job is not None else Response(status_code=204)


async def next_job(f: Farm, request: Request, wait_s: float,
                   attempt: Callable[[], dict[str, Any] | None]) -> dict[str, Any] | None:
    """Claim a job with `attempt` (in a store thread), long-polling up to `wait_s` (bounded)
    for one to arrive; each attempt is one hop off the loop, the waiting stays on it."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + min(wait_s, f.settings.max_wait_s)
    while True:
        event = f.waker.current()  # before the attempt: a wake in between is never missed
        if await request.is_disconnected():  # a worker killed while waiting must not take a job
            return None
        job = await off_loop(attempt)
        remaining = deadline - loop.time()
        if job is not None or remaining <= 0:
            return job
        await f.waker.wait(event, remaining)


@router.post("/api/jobs/{job_id}/complete", response_class=PayloadResponse,
             responses={200: {"model": Completed, "description": "the job's state after the report"},
                        **errs(404, 409, writes=True)})
async def complete(job_id: str, req: CompleteRequest, request: Request, who: Principal = Depends(worker_role),
                   f: Farm = Depends(farm)) -> PayloadResponse:
    """The report, and with `next` the next job: the report and a first claim share one hop off
    the loop (the busy worker's path); only when no job is there yet does it long-poll."""
    wants_next = req.next is not None and not await request.is_disconnected()
    worker, result, job = await off_loop(_complete, f, who, job_id, req, wants_next)
    if req.next is not None:
        if job is None and wants_next and req.next.wait_s > 0:
            job = await next_job(f, request, req.next.wait_s, lambda: queue.claim(f.store, worker, f.settings.lease_s))
        result["next_job"] = job
    return PayloadResponse(result)


def _complete(f: Farm, who: Principal, job_id: str, req: CompleteRequest,
              claim_next: bool) -> tuple[Any, dict[str, Any], dict[str, Any] | None]:
    worker = queue.own_worker(f.store, who, req.worker_id)
    report = req.model_dump(exclude={"next"})
    if claim_next:
        result, job = queue.complete_and_claim(f.store, worker, job_id, report, f.settings.lease_s)
    else:
        result, job = queue.complete(f.store, req.worker_id, job_id, report), None
    if result["order_finished"]:
        f.notifier.order_finished(result["order_finished"])
    if result["job"] in (JobStatus.QUEUED, JobStatus.SUCCEEDED):  # a success may free a prep job's
        f.waker.wake()  # parts or the parts' assemble job for the workers waiting in a long poll
    return worker, result, job


@router.post("/api/workers/{worker_id}/sign-off", responses=errs(404, 409, writes=True), response_model=SignedOff)
def sign_off(worker_id: str, who: Principal = Depends(worker_role), f: Farm = Depends(farm)) -> dict[str, Any]:
    queue.own_worker(f.store, who, worker_id)
    returned = queue.sign_off(f.store, worker_id)
    if returned:
        f.waker.wake()
    return {"handed_back": returned}


@router.post("/api/jobs/{job_id}/heartbeat", responses=errs(404, 409, writes=True), response_model=Heartbeat)
def heartbeat(job_id: str, req: HeartbeatRequest, who: Principal = Depends(worker_role),
              f: Farm = Depends(farm)) -> dict[str, Any]:
    queue.own_worker(f.store, who, req.worker_id)
    return queue.heartbeat(f.store, req.worker_id, job_id, f.settings.lease_s,
                           [e.model_dump() for e in req.events], req.logs)


@router.post("/api/jobs/{job_id}/assets", status_code=201, responses=errs(404, 409, writes=True),
             openapi_extra=STREAMED_BODY, response_model=UploadedAsset)
async def upload_asset(job_id: str, request: Request, worker_id: str, role: str = Query(..., min_length=1),
                       name: str = "output", kind: str = "", primary: bool = False, node_id: str = "",
                       provenance: str | None = Query(None, max_length=MAX_PROVENANCE,
                                                      description="what made the file (a JSON object)"),
                       x_sha256: str = Header(..., pattern=SHA256_HEADER), who: Principal = Depends(worker_role),
                       f: Farm = Depends(farm)) -> dict[str, Any]:
    record = _json_object("provenance", provenance)  # refused before the body is read
    await off_loop(_holds, f, who, worker_id, job_id)
    meta = {"role": role[:200], "name": safe_name(name), "kind": kind[:64], "primary": primary,
            "node_id": node_id[:128], "provenance": record}
    with f.files.pin(x_sha256):  # until recorded: an order removed meanwhile keeps this content
        sha, size = await receive(request, f.files, x_sha256)
        return await off_loop(_keep_upload, f, queue.add_asset, worker_id, job_id, meta, sha, size)


@router.post("/api/jobs/{job_id}/parts", status_code=201, responses=errs(404, 409, writes=True),
             openapi_extra=STREAMED_BODY, response_model=UploadedPart)
async def upload_part(job_id: str, request: Request, worker_id: str, node_id: str = Query(..., min_length=1),
                      port: str = Query(..., min_length=1), member: int = Query(0, ge=0), name: str = "part",
                      kind: str = "", role: str = "", data: str = "{}",
                      x_sha256: str = Header(..., pattern=SHA256_HEADER), who: Principal = Depends(worker_role),
                      f: Farm = Depends(farm)) -> dict[str, Any]:
    """A part job hands one output file to its assemble job (not published). Node, port and name
    become a path on the worker that assembles: each must be a plain file name."""
    for field, value in (("node_id", node_id), ("port", port), ("name", name)):
        try:
            plain_name(value, f"query '{field}'")
        except UnsafeName as exc:
            raise ApiError(422, str(exc)) from None
    await off_loop(_holds, f, who, worker_id, job_id)
    try:
        part_data = json.loads(data)
    except ValueError:
        part_data = None
    if not isinstance(part_data, dict):
        raise ApiError(422, "query 'data': must be a JSON object")
    meta = {"node_id": node_id, "port": port, "member": member, "name": name,
            "kind": kind[:64], "role": role[:200] or None, "data": part_data}
    with f.files.pin(x_sha256):
        sha, size = await receive(request, f.files, x_sha256)
        return await off_loop(_keep_upload, f, queue.add_part, worker_id, job_id, meta, sha, size)


def _json_object(name: str, text: str | None) -> dict[str, Any] | None:
    """A query parameter holding a JSON object; a 422 naming it otherwise."""
    if text is None:
        return None
    try:
        value = json.loads(text)
    except ValueError:
        value = None
    if not isinstance(value, dict):
        raise ApiError(422, f"query '{name}': must be a JSON object")
    return value


def _holds(f: Farm, who: Principal, worker_id: str, job_id: str) -> None:
    """Refuse an upload (before reading its body) unless this token's worker holds the job."""
    queue.own_worker(f.store, who, worker_id)
    queue.held_job(f.store, worker_id, job_id)


def _keep_upload(f: Farm, add: Any, worker_id: str, job_id: str, meta: dict[str, Any], sha: str,
                 size: int) -> dict[str, Any]:
    """Record an uploaded asset or part; if the job moved on while the body arrived, keep no orphan file."""
    try:
        result: dict[str, Any] = add(f.store, worker_id, job_id, meta, sha, size)
        return result
    except queue.QueueError:
        housekeeping.drop_if_unused(f.store, f.files, sha)
        raise


@router.post("/api/jobs/{job_id}/hand-back", responses=errs(404, 409, writes=True), response_model=HandedBack)
def hand_back(job_id: str, req: WorkerRef, who: Principal = Depends(worker_role),
              f: Farm = Depends(farm)) -> dict[str, Any]:
    queue.own_worker(f.store, who, req.worker_id)
    result = queue.hand_back(f.store, req.worker_id, job_id)
    f.waker.wake()
    return result
