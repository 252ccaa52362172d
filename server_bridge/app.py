"""The queue server's HTTP API (FastAPI): every route but /health needs a token of the right role.

Routes call the small modules that own the data (catalog, orders, queue, storage); this module
only maps HTTP to them and their errors to answers in the one error shape of errors.py, each
documented on its routes in /openapi.json. Before a route runs, guard.py has checked the token
(from the headers alone) and capped the body; jsonbody.py refuses NaN and Infinity.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import sqlite3
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from fastapi import Body, Depends, FastAPI, Header, Path, Query, Request, Security
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse, Response
from fastapi.routing import APIRoute
from fastapi.security import HTTPBearer
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match
from starlette.types import Scope

from engine.egress import EgressPolicy

from . import catalog, dashboard, farm_cache, faults, housekeeping, orders, queue
from .api_models import (
    SHA256,
    CacheEntryRequest,
    ClaimRequest,
    CompleteRequest,
    HeartbeatRequest,
    ModeRequest,
    OrderRequest,
    OutputTypeRequest,
    RegisterRequest,
    TokenRequest,
    WorkerRef,
)
from .auth import Principal, TokenError, create_token, list_tokens, resolve_token, revoke_token
from .db import Store
from .errors import error_response, openapi_responses, storage_failure, summarise, validation_problems
from .guard import RequestGuard
from .jsonbody import StrictJSONRoute
from .notify import Notifier
from .parity import parity_summary
from .settings import ServerSettings
from .storage import FileStore, UploadError, ingest_copy, library_path
from .waker import Waker

DOMAIN_ERRORS = (catalog.CatalogError, orders.OrderError, queue.QueueError, UploadError, TokenError,
                 farm_cache.CacheError)


class ApiError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def errs(*extra: int, writes: bool = False) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses` of a route: the errors every API route can give, plus `extra`
    (and 413/507 for routes that take a body and store data)."""
    return openapi_responses((401, 403, 422, 503, *extra, *((413, 507) if writes else ())))


SHA256_HEADER = r"^[0-9a-fA-F]{64}$"
STREAMED_BODY: dict[str, Any] = {"requestBody": {"required": True, "description": "the file's bytes, streamed "
                                 "(their sha256 must equal X-Sha256)", "content": {
                                     "application/octet-stream": {"schema": {"type": "string", "format": "binary"}}}}}
FILE_RESPONSE: dict[int | str, dict[str, Any]] = {
    200: {"description": "the stored file", "content": {"application/octet-stream": {}}}}


def create_app(settings: ServerSettings) -> FastAPI:
    store = Store(settings.data_dir / "farm.sqlite", settings.db_busy_s)
    catalog.seed_presets(store)
    queue.grant_grace(store, settings.lease_s)
    files = FileStore(settings.data_dir / "files", settings.max_upload_bytes)
    housekeeping.clear_incoming(files)
    housekeeping.sweep(store, files)
    egress = EgressPolicy.parse(settings.webhook_allow)
    notifier = Notifier(store, attempts=settings.webhook_attempts, backoff_s=settings.webhook_backoff_s,
                        egress=egress)
    waker = Waker()

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        notifier.start()
        reaper = asyncio.create_task(_reap_loop(store, files, waker, notifier, settings.lease_s))
        yield
        reaper.cancel()
        notifier.stop()

    app = FastAPI(title="HartOMat farm", version="1", lifespan=lifespan)
    app.router.route_class = StrictJSONRoute
    app.state.store, app.state.files, app.state.settings = store, files, settings
    fault_switch = faults.FaultSwitch() if settings.test_mode else None
    bearer_doc = HTTPBearer(auto_error=False, description="an API token from `hartomat token create`")

    def role(*allowed: str) -> Callable[..., Awaitable[Principal]]:
        """The dependency admitting tokens of these roles (its `roles` tag the route in the spec)."""
        async def dependency(request: Request, _: Any = Security(bearer_doc)) -> Principal:
            principal: Principal | None = request.scope.get("state", {}).get("principal")  # set by RequestGuard
            if principal is None:
                raise ApiError(401, "missing bearer token (Authorization: Bearer <token>)")
            if principal.role not in allowed:
                raise ApiError(403, f"a {principal.role} token may not do this (needs {' or '.join(allowed)})")
            return principal
        dependency.roles = allowed  # type: ignore[attr-defined]
        return dependency

    admin, submitter, worker_role = role("admin"), role("submit", "admin"), role("worker")
    anyone = role("submit", "worker", "admin")

    @app.exception_handler(ApiError)
    async def _api_error(request: Request, exc: ApiError) -> JSONResponse:
        return error_response(exc.status, str(exc))

    for error_type in DOMAIN_ERRORS:
        @app.exception_handler(error_type)
        async def _domain_error(request: Request, exc: Exception) -> JSONResponse:
            problems = exc.problems if isinstance(exc, catalog.CatalogError) else ()
            return error_response(getattr(exc, "status", 400), str(exc), problems)

    @app.exception_handler(RequestValidationError)
    async def _invalid_request(request: Request, exc: RequestValidationError) -> JSONResponse:
        problems = validation_problems(exc.errors())
        return error_response(422, f"invalid request: {summarise(problems)}", problems)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        headers = dict(exc.headers or {})
        if exc.status_code == 405:  # Starlette names only the first route's methods for the path
            headers["Allow"] = ", ".join(allowed_methods(request.scope))
        return error_response(exc.status_code, str(exc.detail), headers=headers)

    def allowed_methods(scope: Scope) -> list[str]:
        """The methods of the path template the request matched first (as the spec lists them)."""
        routes = [r for r in app.routes if isinstance(r, APIRoute)]
        first = next((r for r in routes if r.matches(scope)[0] is not Match.NONE), None)
        methods = {m for r in routes if first is not None and r.path == first.path for m in r.methods or ()}
        return sorted(methods | ({"HEAD"} if "GET" in methods else set()))

    @app.exception_handler(sqlite3.OperationalError)
    @app.exception_handler(OSError)
    async def _storage_error(request: Request, exc: Exception) -> JSONResponse:
        failure = storage_failure(exc)
        if failure is None:
            raise exc  # a bug, not the disk or a lock: the 500 handler below logs it
        return error_response(failure[0], failure[1], headers=failure[2])

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:  # uvicorn logs the traceback
        return error_response(500, f"internal server error ({type(exc).__name__}); the server log has the details")

    @app.get("/health")
    async def health() -> dict[str, Any]:
        return {"ok": True}

    # --- admin: tokens, workflows, output types, workers -------------------------------------
    @app.post("/api/tokens", status_code=201, responses=errs(writes=True))
    async def make_token(req: TokenRequest, who: Principal = Depends(admin)) -> dict[str, str]:
        return {"token": create_token(store, req.role, req.name), "role": req.role}

    @app.get("/api/tokens", responses=errs())
    async def tokens(who: Principal = Depends(admin)) -> list[dict[str, Any]]:
        return list_tokens(store)

    @app.post("/api/tokens/{token_id}/revoke", responses=errs(404, 409, writes=True))
    async def revoke(token_id: str, who: Principal = Depends(admin)) -> dict[str, Any]:
        """Revoke a token (by id, or by name when only one live token has it): refused from the next
        request on; jobs held by its workers go back to the queue at once."""
        revoked = revoke_token(store, token_id)
        if queue.release_token(store, revoked["id"]):
            waker.wake()
        return revoked

    @app.get("/api/workflows/node-definitions", responses=errs())
    async def node_definitions(who: Principal = Depends(anyone)) -> dict[str, Any]:
        from engine.model.registry import REGISTRY

        return REGISTRY.describe()

    @app.get("/api/workflows", responses=errs())
    async def list_workflows(who: Principal = Depends(submitter)) -> list[dict[str, Any]]:
        return [dict(r) for r in store.all("SELECT id, name, family, updated_at FROM workflows ORDER BY id")]

    @app.post("/api/workflows", status_code=201, responses=errs(writes=True))
    async def create_workflow(document: dict[str, Any] = Body(...), who: Principal = Depends(admin)) -> dict[str, Any]:
        return catalog.save_workflow(store, document)

    @app.get("/api/workflows/{workflow_id}", responses=errs(404))
    async def get_workflow(workflow_id: str, who: Principal = Depends(submitter)) -> dict[str, Any]:
        workflow: dict[str, Any] = catalog.load_workflow_row(store, workflow_id).canonical()
        return workflow

    @app.put("/api/workflows/{workflow_id}", responses=errs(404, writes=True))
    async def put_workflow(workflow_id: str, document: dict[str, Any] = Body(...),
                     who: Principal = Depends(admin)) -> dict[str, Any]:
        return catalog.save_workflow(store, document, workflow_id)

    @app.get("/api/output-types", responses=errs())
    async def list_output_types(who: Principal = Depends(submitter)) -> list[dict[str, Any]]:
        return catalog.list_output_types(store)

    @app.get("/api/output-types/{name}", responses=errs(404))
    async def get_output_type(name: str, who: Principal = Depends(submitter)) -> dict[str, Any]:
        return catalog.get_output_type(store, name)

    @app.put("/api/output-types/{name}", responses=errs(404, writes=True))
    async def put_output_type(name: str, req: OutputTypeRequest, who: Principal = Depends(admin)) -> dict[str, Any]:
        return catalog.save_output_type(store, {**req.model_dump(), "name": name}, who.name)

    @app.post("/api/output-types/{name}/mode", responses=errs(404, writes=True))
    async def set_mode(name: str, req: ModeRequest, who: Principal = Depends(admin)) -> dict[str, Any]:
        return catalog.set_mode(store, name, req.mode, who.name)

    @app.get("/api/output-types/{name}/parity", responses=errs(404))
    async def parity(name: str, last: int = Query(20, ge=1, le=1000),
               who: Principal = Depends(submitter)) -> dict[str, Any]:
        catalog.get_output_type(store, name)
        return parity_summary(store, name, last)

    @app.get("/api/workers", responses=errs())
    async def workers(who: Principal = Depends(admin)) -> list[dict[str, Any]]:
        return queue.list_workers(store)

    @app.delete("/api/workers/{worker_id}/blocks", responses=errs(writes=True))
    async def clear_blocks(worker_id: str, output_type: str | None = None,
                     who: Principal = Depends(admin)) -> dict[str, int]:
        return {"cleared": queue.clear_blocks(store, worker_id, output_type)}

    # --- submitters: files, orders, cancellation ----------------------------------------------
    @app.post("/api/files", status_code=201, responses=errs(writes=True), openapi_extra=STREAMED_BODY)
    async def upload_file(request: Request, x_sha256: str = Header(..., pattern=SHA256_HEADER), x_filename: str = Header("upload.step"),
                          who: Principal = Depends(submitter)) -> dict[str, Any]:
        return await _store_upload(request, x_sha256, x_filename)

    async def _store_upload(request: Request, sha256: str, name: str) -> dict[str, Any]:
        """A content-addressed upload (a STEP file, a cache entry's file), sha256-checked."""
        sha, size = await _receive(request, files, sha256)
        _record_file(store, sha, size, name)
        return {"sha256": sha, "size": size}

    @app.post("/api/orders", status_code=201, responses=errs(404, writes=True))
    async def create_order(req: OrderRequest, who: Principal = Depends(submitter)) -> dict[str, Any]:
        def from_library(product: str) -> str | None:
            path = library_path(settings.library_dir, product)
            if path is None:
                return None
            sha, size = ingest_copy(files, path)
            _record_file(store, sha, size, path.name)
            return sha

        if req.webhook_url:  # resolving the host may take a while: not on the event loop
            await asyncio.to_thread(orders.check_webhook, egress, req.webhook_url)
        order = orders.create_order(store, who, [line.model_dump() for line in req.lines], req.webhook_url,
                                    from_library)
        waker.wake()
        return order

    @app.get("/api/orders", responses=errs())
    async def list_orders(limit: int = Query(50, ge=1, le=1000), who: Principal = Depends(submitter)) -> list[dict[str, Any]]:
        rows = store.all("SELECT id, status, created_at, finished_at FROM orders WHERE ? OR submitted_by = ? "
                         "ORDER BY created_at DESC LIMIT ?", who.role == "admin", who.token_id, limit)
        return [dict(r) for r in rows]

    def own_order(order_id: str, who: Principal) -> None:
        if not orders.visible(store, who, order_id):
            raise ApiError(404, f"order {order_id!r} does not exist")

    @app.get("/api/orders/{order_id}", responses=errs(404))
    async def get_order(order_id: str, who: Principal = Depends(submitter)) -> dict[str, Any]:
        own_order(order_id, who)
        return orders.order_status(store, order_id)

    @app.post("/api/orders/{order_id}/cancel", responses=errs(404, writes=True))
    async def cancel_order(order_id: str, who: Principal = Depends(submitter)) -> dict[str, Any]:
        own_order(order_id, who)
        touched, finished = orders.cancel_jobs(store, "order_id = ?", order_id)
        for done in finished:
            notifier.order_finished(done)
        return {"cancelled": touched, "order": orders.order_status(store, order_id)}

    def own_job(job_id: str, who: Principal) -> Any:
        job = store.one("SELECT order_id FROM jobs WHERE id = ?", job_id)
        if job is None or not orders.visible(store, who, job["order_id"]):
            raise ApiError(404, f"job {job_id!r} does not exist")
        return job

    @app.get("/api/jobs/{job_id}", responses=errs(404))
    async def get_job(job_id: str, who: Principal = Depends(submitter)) -> dict[str, Any]:
        own_job(job_id, who)
        return _job_detail(store, job_id)

    @app.post("/api/jobs/{job_id}/cancel", responses=errs(404, writes=True))
    async def cancel_job(job_id: str, who: Principal = Depends(submitter)) -> dict[str, Any]:
        job = own_job(job_id, who)
        touched, finished = orders.cancel_jobs(store, "id = ?1 OR parent_id = ?1", job_id)
        for done in finished:
            notifier.order_finished(done)
        return {"cancelled": touched, "order_status": orders.order_status(store, job["order_id"])["status"]}

    @app.get("/api/assets/{asset_id}", response_class=FileResponse,
             responses={**FILE_RESPONSE, **errs(404, 410)})
    async def get_asset(asset_id: str, who: Principal = Depends(anyone), worker_id: str | None = None) -> FileResponse:
        asset = store.one("SELECT * FROM media_assets WHERE id = ?", asset_id)
        if asset is None or not _may_read_asset(store, who, asset, worker_id):
            raise ApiError(404, f"asset {asset_id!r} does not exist")
        return stored_file(asset["sha256"], asset["name"])

    # --- workers ---------------------------------------------------------------------------------
    @app.post("/api/workers/register", status_code=201, responses=errs(writes=True))
    async def register(req: RegisterRequest, who: Principal = Depends(worker_role)) -> dict[str, Any]:
        return {**queue.register_worker(store, who, req.name, req.capabilities), "lease_s": settings.lease_s}

    @app.post("/api/workers/{worker_id}/claim",
              responses={204: {"description": "no job arrived within wait_s"}, **errs(404, 409, 410, writes=True)})
    async def claim(worker_id: str, req: ClaimRequest, request: Request,
                    who: Principal = Depends(worker_role)) -> Response:
        job = await next_job(queue.own_worker(store, who, worker_id), req.wait_s, request)
        return JSONResponse(job) if job is not None else Response(status_code=204)

    async def next_job(worker: Any, wait_s: float, request: Request) -> dict[str, Any] | None:
        """Claim a job for `worker`, long-polling up to `wait_s` (bounded) for one to arrive."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + min(wait_s, settings.max_wait_s)
        while True:
            event = waker.current()
            if await request.is_disconnected():  # a worker killed while waiting must not take a job
                return None
            job = queue.claim(store, worker, settings.lease_s)
            remaining = deadline - loop.time()
            if job is not None or remaining <= 0:
                return job
            await waker.wait(event, remaining)

    @app.post("/api/workers/{worker_id}/sign-off", responses=errs(404, 409, writes=True))
    async def sign_off(worker_id: str, who: Principal = Depends(worker_role)) -> dict[str, Any]:
        queue.own_worker(store, who, worker_id)
        returned = queue.sign_off(store, worker_id)
        if returned:
            waker.wake()
        return {"handed_back": returned}

    @app.get("/api/files/{sha256}", response_class=FileResponse,
             responses={**FILE_RESPONSE, **errs(404, 410)})
    async def download_file(sha256: str, worker_id: str | None = None, who: Principal = Depends(anyone)) -> FileResponse:
        if not _may_read_file(store, who, sha256, worker_id):
            raise ApiError(404, f"file {sha256[:80]!r} does not exist")
        row = store.one("SELECT name FROM files WHERE sha256 = ?", sha256)
        return stored_file(sha256, row["name"] if row else "file")

    def stored_file(sha256: str, name: str) -> FileResponse:
        """A stored file's download; a record whose file was lost on disk is a 410, never a 500."""
        if not files.has(sha256):
            raise ApiError(410, f"file {sha256[:12]}… ({name!r}) is recorded but missing from the server's storage")
        return FileResponse(files.path(sha256), filename=name, headers={"X-Sha256": sha256})

    @app.post("/api/jobs/{job_id}/heartbeat", responses=errs(404, 409, writes=True))
    async def heartbeat(job_id: str, req: HeartbeatRequest, who: Principal = Depends(worker_role)) -> dict[str, Any]:
        queue.own_worker(store, who, req.worker_id)
        return queue.heartbeat(store, req.worker_id, job_id, settings.lease_s,
                               [e.model_dump() for e in req.events], req.logs)

    @app.post("/api/jobs/{job_id}/assets", status_code=201, responses=errs(404, 409, writes=True),
              openapi_extra=STREAMED_BODY)
    async def upload_asset(job_id: str, request: Request, worker_id: str, role: str = Query(..., min_length=1),
                           name: str = "output", kind: str = "", primary: bool = False, node_id: str = "",
                           x_sha256: str = Header(..., pattern=SHA256_HEADER),
                           who: Principal = Depends(worker_role)) -> dict[str, Any]:
        from .storage import safe_name

        queue.own_worker(store, who, worker_id)
        queue.held_job(store, worker_id, job_id)
        sha, size = await _receive(request, files, x_sha256)
        meta = {"role": role[:200], "name": safe_name(name), "kind": kind[:64], "primary": primary,
                "node_id": node_id[:128]}
        try:
            return queue.add_asset(store, worker_id, job_id, meta, sha, size)
        except queue.QueueError:  # the job moved on while the body arrived: keep no orphan file
            housekeeping.drop_if_unused(store, files, sha)
            raise

    @app.post("/api/jobs/{job_id}/parts", status_code=201, responses=errs(404, 409, writes=True),
              openapi_extra=STREAMED_BODY)
    async def upload_part(job_id: str, request: Request, worker_id: str, node_id: str = Query(..., min_length=1),
                          port: str = Query(..., min_length=1), member: int = Query(0, ge=0), name: str = "part",
                          kind: str = "", role: str = "", data: str = "{}",
                          x_sha256: str = Header(..., pattern=SHA256_HEADER),
                          who: Principal = Depends(worker_role)) -> dict[str, Any]:
        """A part job hands one output file to its assemble job (not published)."""
        from .storage import safe_name

        queue.own_worker(store, who, worker_id)
        queue.held_job(store, worker_id, job_id)
        try:
            part_data = json.loads(data)
        except ValueError:
            part_data = None
        if not isinstance(part_data, dict):
            raise ApiError(422, "query 'data': must be a JSON object")
        sha, size = await _receive(request, files, x_sha256)
        meta = {"node_id": node_id[:128], "port": port[:64], "member": member, "name": safe_name(name),
                "kind": kind[:64], "role": role[:200] or None, "data": part_data}
        try:
            return queue.add_part(store, worker_id, job_id, meta, sha, size)
        except queue.QueueError:
            housekeeping.drop_if_unused(store, files, sha)
            raise

    # --- the farm-wide artifact cache -----------------------------------------------------------
    @app.get("/api/cache/entries/{key}", responses=errs(404))
    async def cache_lookup(key: str = Path(pattern=SHA256), who: Principal = Depends(worker_role)) -> dict[str, Any]:
        manifest = farm_cache.lookup(store, files, key)
        if manifest is None:
            raise ApiError(404, f"no cache entry {key[:80]!r}")
        return manifest

    @app.post("/api/cache/files", status_code=201, responses=errs(writes=True), openapi_extra=STREAMED_BODY)
    async def cache_upload(request: Request, x_sha256: str = Header(..., pattern=SHA256_HEADER),
                           x_filename: str = Header("cached"),
                           who: Principal = Depends(worker_role)) -> dict[str, Any]:
        return await _store_upload(request, x_sha256, x_filename)

    @app.put("/api/cache/entries/{key}", responses=errs(writes=True))
    async def cache_put(entry: CacheEntryRequest, key: str = Path(pattern=SHA256),
                        who: Principal = Depends(worker_role)) -> dict[str, Any]:
        return farm_cache.put(store, files, key, entry.step, entry.model_dump(), settings.cache_max_bytes)

    @app.get("/api/cache", responses=errs())
    async def cache_stats(who: Principal = Depends(admin)) -> dict[str, Any]:
        return farm_cache.stats(store, settings.cache_max_bytes)

    @app.delete("/api/cache", responses=errs(writes=True))
    async def cache_clear(who: Principal = Depends(admin)) -> dict[str, Any]:
        return {"cleared": farm_cache.clear(store, files)}

    @app.post("/api/jobs/{job_id}/complete", responses=errs(404, 409, writes=True))
    async def complete(job_id: str, req: CompleteRequest, request: Request,
                       who: Principal = Depends(worker_role)) -> JSONResponse:
        worker = queue.own_worker(store, who, req.worker_id)
        result = queue.complete(store, req.worker_id, job_id, req.model_dump(exclude={"next"}))
        if result["order_finished"]:
            notifier.order_finished(result["order_finished"])
        if result["job"] == "queued":
            waker.wake()
        if req.next is not None:
            result["next_job"] = await next_job(worker, req.next.wait_s, request)
        return JSONResponse(result)

    @app.post("/api/jobs/{job_id}/hand-back", responses=errs(404, 409, writes=True))
    async def hand_back(job_id: str, req: WorkerRef, who: Principal = Depends(worker_role)) -> dict[str, Any]:
        queue.own_worker(store, who, req.worker_id)
        result = queue.hand_back(store, req.worker_id, job_id)
        waker.wake()
        return result

    dashboard.mount(app, store, files, submitter, anyone, lambda message: ApiError(404, message))
    if fault_switch is not None:
        faults.mount(app, fault_switch, admin)
    for route in app.routes:  # the spec groups operations by the roles that may call them
        if isinstance(route, APIRoute):
            route.tags = [*route.tags, *_roles(route)]
    streamed = [r for r in app.routes if isinstance(r, APIRoute)
                and r.endpoint in (upload_file, upload_asset, upload_part, cache_upload)]

    def is_streamed(scope: Scope) -> bool:
        return any(route.matches(scope)[0] is Match.FULL for route in streamed)

    app.add_middleware(RequestGuard, resolve=lambda token: resolve_token(store, token),
                       max_json_bytes=settings.max_json_bytes, streamed=is_streamed, faults=fault_switch)
    return app


async def _receive(request: Request, files: FileStore, declared: str) -> tuple[str, int]:
    length = request.headers.get("content-length")
    if length and length.isdigit() and int(length) > files.max_bytes:
        raise UploadError(f"upload of {length} bytes is larger than the {files.max_bytes} byte limit", 413)
    files.path(declared.lower())  # rejects a malformed digest before reading the body
    return await files.save(request.stream(), declared)


def _roles(route: APIRoute) -> list[str]:
    return [r for d in route.dependant.dependencies for r in getattr(d.call, "roles", ())]


def _record_file(store: Store, sha: str, size: int, name: str) -> None:
    from .db import now
    from .storage import safe_name

    with store.tx() as c:
        c.execute("INSERT OR IGNORE INTO files VALUES (?, ?, ?, ?)", (sha, size, safe_name(name), now()))


def _held_lines(store: Store, who: Principal, worker_id: str | None) -> list[Any]:
    """Order lines of the jobs a worker (of this token) holds right now."""
    if not worker_id:
        return []
    return store.all("SELECT l.id, l.step_sha256 FROM jobs j JOIN order_lines l ON l.id = j.order_line_id "
                     "JOIN workers w ON w.id = j.worker_id WHERE j.worker_id = ? AND j.status = 'running' "
                     "AND w.token_id = ?", worker_id, who.token_id)


def _may_read_asset(store: Store, who: Principal, asset: Any, worker_id: str | None) -> bool:
    if who.role == "worker":
        return any(line["id"] == asset["order_line_id"] for line in _held_lines(store, who, worker_id))
    return bool(asset["committed"]) and orders.visible(store, who, asset["order_id"])


def _may_read_file(store: Store, who: Principal, sha256: str, worker_id: str | None) -> bool:
    if who.role == "admin":
        return store.one("SELECT 1 FROM files WHERE sha256 = ?", sha256) is not None
    if who.role == "worker":
        return any(line["step_sha256"] == sha256 for line in _held_lines(store, who, worker_id)) or \
            _held_part_file(store, who, sha256, worker_id) or \
            store.one("SELECT 1 FROM cache_files WHERE sha256 = ? LIMIT 1", sha256) is not None
    return False


def _held_part_file(store: Store, who: Principal, sha256: str, worker_id: str | None) -> bool:
    """Whether the file is a part of an assemble job this worker (of this token) holds."""
    return bool(worker_id) and store.one(
        "SELECT 1 FROM job_parts p JOIN jobs part ON part.id = p.job_id JOIN jobs a ON a.id = part.parent_id "
        "JOIN workers w ON w.id = a.worker_id WHERE p.sha256 = ? AND a.worker_id = ? AND a.status = 'running' "
        "AND w.token_id = ? LIMIT 1", sha256, worker_id, who.token_id) is not None


def _job_detail(store: Store, job_id: str) -> dict[str, Any]:
    from .db import loads

    job = dict(store.one("SELECT * FROM jobs WHERE id = ?", job_id))  # type: ignore[arg-type]
    runs = []
    for run in store.all("SELECT * FROM runs WHERE job_id = ? ORDER BY started_at", job_id):
        nodes = store.all("SELECT node_id, step, status, fraction, message FROM node_results WHERE run_id = ?",
                          run["id"])
        runs.append({**dict(run), "summary": loads(run["summary"]), "parity": loads(run["parity"]),
                     "nodes": [dict(n) for n in nodes]})
    logs = [r["line"] for r in store.all("SELECT line FROM job_logs WHERE job_id = ? ORDER BY id", job_id)]
    return {**job, "runs": runs, "logs": logs[-500:]}


async def _reap_loop(store: Store, files: FileStore, waker: Waker, notifier: Notifier, lease_s: float) -> None:
    """Every fraction of a lease: put expired jobs back, wake the claimers, and sweep the
    unpublished assets of settled jobs."""
    interval = max(0.2, min(2.0, lease_s / 4))
    while True:
        await asyncio.sleep(interval)
        try:
            requeued, finished = queue.reap_expired(store)
            for order_id in finished:
                notifier.order_finished(order_id)
            if requeued:
                waker.wake()
            housekeeping.sweep(store, files)
        except Exception as exc:  # keep reaping whatever one pass hit
            print(f"hartomat serve: lease reaper: {exc}", flush=True)


def create_default_app() -> FastAPI:
    """For `uvicorn server_bridge.app:create_default_app --factory` (data from $HARTOMAT_DATA)."""
    return create_app(ServerSettings.from_env())


__all__ = ["create_app", "create_default_app"]
