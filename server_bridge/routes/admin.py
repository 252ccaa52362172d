"""Admin routes: API tokens, output types (and their mode and parity), the worker list, archiving."""

from __future__ import annotations

from typing import Any

from fastapi import Depends, Query

from .. import catalog, cleanup, queue
from ..api_models import ArchiveRequest, ModeRequest, OutputTypeRequest, TokenRequest
from ..api_replies import Archived, Cleared, CreatedToken, OutputType, ParityReport, TokenRecord, WorkerRecord
from ..auth import Principal, create_token, list_tokens, revoke_token
from ..parity import parity_summary
from .common import Farm, Router, admin, errs, farm, submitter

router = Router()


@router.post("/api/tokens", status_code=201, responses=errs(writes=True), response_model=CreatedToken)
def make_token(req: TokenRequest, who: Principal = Depends(admin), f: Farm = Depends(farm)) -> dict[str, Any]:
    return {"token": create_token(f.store, req.role, req.name), "role": req.role}


@router.get("/api/tokens", responses=errs(), response_model=list[TokenRecord])
def tokens(who: Principal = Depends(admin), f: Farm = Depends(farm)) -> list[dict[str, Any]]:
    return list_tokens(f.store)


@router.post("/api/tokens/{token_id}/revoke", responses=errs(404, 409, writes=True), response_model=TokenRecord)
def revoke(token_id: str, who: Principal = Depends(admin), f: Farm = Depends(farm)) -> dict[str, Any]:
    """Revoke a token (by id, or by name when only one live token has it): refused from the next
    request on; jobs held by its workers go back to the queue at once."""
    revoked = revoke_token(f.store, token_id)
    if queue.release_token(f.store, revoked["id"]):
        f.waker.wake()
    return revoked


@router.get("/api/output-types", responses=errs(), response_model=list[OutputType])
def list_output_types(who: Principal = Depends(submitter), f: Farm = Depends(farm)) -> list[dict[str, Any]]:
    return catalog.list_output_types(f.store)


@router.get("/api/output-types/{name}", responses=errs(404), response_model=OutputType)
def get_output_type(name: str, who: Principal = Depends(submitter), f: Farm = Depends(farm)) -> dict[str, Any]:
    return catalog.get_output_type(f.store, name)


@router.put("/api/output-types/{name}", responses=errs(404, writes=True), response_model=OutputType)
def put_output_type(name: str, req: OutputTypeRequest, who: Principal = Depends(admin),
                    f: Farm = Depends(farm)) -> dict[str, Any]:
    return catalog.save_output_type(f.store, {**req.model_dump(), "name": name}, who.name)


@router.post("/api/output-types/{name}/mode", responses=errs(404, writes=True), response_model=OutputType)
def set_mode(name: str, req: ModeRequest, who: Principal = Depends(admin), f: Farm = Depends(farm)) -> dict[str, Any]:
    return catalog.set_mode(f.store, name, req.mode, who.name)


@router.get("/api/output-types/{name}/parity", responses=errs(404), response_model=ParityReport)
def parity(name: str, last: int = Query(20, ge=1, le=1000), who: Principal = Depends(submitter),
           f: Farm = Depends(farm)) -> dict[str, Any]:
    catalog.get_output_type(f.store, name)
    return parity_summary(f.store, name, last)


@router.get("/api/workers", responses=errs(), response_model=list[WorkerRecord])
def workers(who: Principal = Depends(admin), f: Farm = Depends(farm)) -> list[dict[str, Any]]:
    return queue.list_workers(f.store)


@router.delete("/api/workers/{worker_id}/blocks", responses=errs(writes=True), response_model=Cleared)
def clear_blocks(worker_id: str, output_type: str | None = None, who: Principal = Depends(admin),
                 f: Farm = Depends(farm)) -> dict[str, Any]:
    return {"cleared": queue.clear_blocks(f.store, worker_id, output_type)}


@router.post("/api/archive", responses=errs(writes=True), response_model=Archived)
def archive(req: ArchiveRequest, who: Principal = Depends(admin), f: Farm = Depends(farm)) -> dict[str, Any]:
    """Remove settled orders finished more than `older_than_s` ago (a dry run only says what would go)."""
    return cleanup.archive(f.store, f.files, who, req.older_than_s, req.dry_run)
