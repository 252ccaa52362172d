"""File routes: STEP uploads and downloads, published assets, and the farm-wide artifact cache.

Who may read a file: an admin any stored file; a worker the STEP file and the parts of a job
it holds now, and the cache's files; a submitter (or admin) the published assets of its orders.
"""

from __future__ import annotations

from typing import Any

from fastapi import Depends, Header, Path, Query, Request
from fastapi.responses import FileResponse

from engine.model.vocabulary import JobStatus, Role

from .. import farm_cache, orders, queue, uploads
from ..api_models import SHA256, CacheEntryRequest
from ..api_replies import CacheManifest, CachePut, CacheStats, Cleared, DeletedFile, StoredFile
from ..auth import Principal
from ..db import Store, off_loop
from ..storage import FileStore, UploadError, header_name, safe_name
from .common import (
    FILE_RESPONSE,
    SHA256_HEADER,
    STREAMED_BODY,
    ApiError,
    Farm,
    Router,
    admin,
    anyone,
    errs,
    farm,
    stored_file,
    submitter,
    worker_role,
)

router = Router()


@router.post("/api/files", status_code=201, responses=errs(writes=True), openapi_extra=STREAMED_BODY,
             response_model=StoredFile)
async def upload_file(request: Request, x_sha256: str = Header(..., pattern=SHA256_HEADER),
                      x_filename: str = Header("upload.step"), who: Principal = Depends(submitter),
                      f: Farm = Depends(farm)) -> dict[str, Any]:
    """A STEP upload of this token's tenant, counted against its quota (413 past it)."""
    length = request.headers.get("content-length")
    await off_loop(uploads.check_room, f.store, who, f.settings.upload_quota_bytes,
                   int(length) if length and length.isdigit() else 0)
    return await store_upload(f, request, x_sha256, header_name(x_filename), who)


@router.delete("/api/files/{sha256}", responses=errs(404, 409, writes=True), response_model=DeletedFile)
def delete_file(sha256: str = Path(pattern=SHA256), who: Principal = Depends(admin),
                f: Farm = Depends(farm)) -> dict[str, Any]:
    """Delete an upload no live order uses (a finished order's line keeps the record: 410 on download)."""
    return uploads.delete(f.store, f.files, sha256)


@router.get("/api/files/{sha256}", response_class=FileResponse, responses={**FILE_RESPONSE, **errs(404, 410)})
def download_file(sha256: str, worker_id: str | None = None, who: Principal = Depends(anyone),
                  f: Farm = Depends(farm)) -> FileResponse:
    if not _may_read_file(f.store, who, sha256, worker_id):
        raise ApiError(404, f"file {sha256[:80]!r} does not exist")
    row = f.store.one("SELECT name FROM files WHERE sha256 = ?", sha256)
    result: FileResponse = stored_file(f.files, sha256, row["name"] if row else "file")
    return result


@router.get("/api/assets/{asset_id}", response_class=FileResponse, responses={**FILE_RESPONSE, **errs(404, 410)})
def get_asset(asset_id: str, who: Principal = Depends(anyone), worker_id: str | None = None,
              f: Farm = Depends(farm)) -> FileResponse:
    asset = f.store.one("SELECT * FROM media_assets WHERE id = ?", asset_id)
    if asset is None or not _may_read_asset(f.store, who, asset, worker_id):
        raise ApiError(404, f"asset {asset_id!r} does not exist")
    result: FileResponse = stored_file(f.files, asset["sha256"], asset["name"])
    return result


# --- the farm-wide artifact cache -----------------------------------------------------------------
@router.get("/api/cache/entries/{key}", responses=errs(404), response_model=CacheManifest)
def cache_lookup(key: str = Path(pattern=SHA256), who: Principal = Depends(worker_role),
                 f: Farm = Depends(farm)) -> dict[str, Any]:
    manifest = farm_cache.lookup(f.store, f.files, key)
    if manifest is None:
        raise ApiError(404, f"no cache entry {key[:80]!r}")
    return manifest


@router.post("/api/cache/files", status_code=201, responses=errs(writes=True), openapi_extra=STREAMED_BODY,
             response_model=StoredFile)
async def cache_upload(request: Request, x_sha256: str = Header(..., pattern=SHA256_HEADER),
                       x_filename: str = Header("cached"), who: Principal = Depends(worker_role),
                       f: Farm = Depends(farm)) -> dict[str, Any]:
    return await store_upload(f, request, x_sha256, x_filename)


@router.put("/api/cache/entries/{key}", responses=errs(404, writes=True), response_model=CachePut)
def cache_put(entry: CacheEntryRequest, key: str = Path(pattern=SHA256),
              worker_id: str = Query(..., min_length=1, max_length=64), who: Principal = Depends(worker_role),
              f: Farm = Depends(farm)) -> dict[str, Any]:
    """Keep a node's outputs for every worker; the entry records which worker (and token) wrote it."""
    queue.own_worker(f.store, who, worker_id)
    return farm_cache.put(f.store, f.files, key, entry.step, entry.model_dump(), f.settings.cache_max_bytes,
                          (worker_id, who.token_id))


@router.get("/api/cache", responses=errs(), response_model=CacheStats)
def cache_stats(who: Principal = Depends(admin), f: Farm = Depends(farm)) -> dict[str, Any]:
    return farm_cache.stats(f.store, f.settings.cache_max_bytes)


@router.delete("/api/cache", responses=errs(writes=True), response_model=Cleared)
def cache_clear(worker_id: str | None = Query(None, max_length=64), token_id: str | None = Query(None, max_length=64),
                who: Principal = Depends(admin), f: Farm = Depends(farm)) -> dict[str, Any]:
    """Drop the whole cache, or only what one worker (`worker_id`) or one worker token (`token_id`) wrote."""
    return {"cleared": farm_cache.clear(f.store, f.files, worker_id, token_id)}


# --- helpers the other routers share --------------------------------------------------------------
async def receive(request: Request, files: FileStore, declared: str) -> tuple[str, int]:
    """Stream a request body into the file store, checking its size and sha256."""
    length = request.headers.get("content-length")
    if length and length.isdigit() and int(length) > files.max_bytes:
        raise UploadError(f"upload of {length} bytes is larger than the {files.max_bytes} byte limit", 413)
    files.path(declared.lower())  # rejects a malformed digest before reading the body
    return await files.save(request.stream(), declared)


async def store_upload(f: Farm, request: Request, sha256: str, name: str,
                       who: Principal | None = None) -> dict[str, Any]:
    """A content-addressed upload (a STEP file, a cache entry's file), sha256-checked; a
    submitter's is recorded as its tenant's (an admin's too, without a quota)."""
    with f.files.pin(sha256):  # until recorded: an order removed meanwhile keeps this content
        sha, size = await receive(request, f.files, sha256)
        owner = uploads.owner_of(who) if who is not None else None
        quota = f.settings.upload_quota_bytes if who is not None and who.role == Role.SUBMIT else 0
        await off_loop(uploads.record, f.store, f.files, sha, size, safe_name(name), owner, quota)
    return {"sha256": sha, "size": size}


def _held_lines(store: Store, who: Principal, worker_id: str | None) -> list[Any]:
    """Order lines of the jobs a worker (of this token) holds right now."""
    if not worker_id:
        return []
    return store.all("SELECT l.id, l.step_sha256 FROM jobs j JOIN order_lines l ON l.id = j.order_line_id "
                     "JOIN workers w ON w.id = j.worker_id WHERE j.worker_id = ? AND j.status = ? "
                     "AND w.token_id = ?", worker_id, JobStatus.RUNNING, who.token_id)


def _may_read_asset(store: Store, who: Principal, asset: Any, worker_id: str | None) -> bool:
    if who.role == Role.WORKER:
        return any(line["id"] == asset["order_line_id"] for line in _held_lines(store, who, worker_id))
    return bool(asset["committed"]) and orders.visible(store, who, asset["order_id"])


def _may_read_file(store: Store, who: Principal, sha256: str, worker_id: str | None) -> bool:
    if who.role == Role.ADMIN:
        return store.one("SELECT 1 FROM files WHERE sha256 = ?", sha256) is not None
    if who.role == Role.WORKER:
        return any(line["step_sha256"] == sha256 for line in _held_lines(store, who, worker_id)) or \
            _held_part_file(store, who, sha256, worker_id) or \
            store.one("SELECT 1 FROM cache_files WHERE sha256 = ? LIMIT 1", sha256) is not None
    return False


def _held_part_file(store: Store, who: Principal, sha256: str, worker_id: str | None) -> bool:
    """Whether the file is a part of an assemble job this worker (of this token) holds."""
    return bool(worker_id) and store.one(
        "SELECT 1 FROM job_parts p JOIN jobs part ON part.id = p.job_id JOIN jobs a ON a.id = part.parent_id "
        "JOIN workers w ON w.id = a.worker_id WHERE p.sha256 = ? AND a.worker_id = ? AND a.status = ? "
        "AND w.token_id = ? LIMIT 1", sha256, worker_id, JobStatus.RUNNING, who.token_id) is not None
