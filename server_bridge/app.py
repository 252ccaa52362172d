"""The queue server's HTTP API (FastAPI): every route but /health needs a token of the right role.

This module only wires the app: the farm's state (server_bridge.routes.common.Farm on
`app.state.farm`), the routers of server_bridge/routes/ (one per area), the error handlers that
turn every failure into the one error shape of errors.py, the lease reaper and the request guard.
Before a route runs, guard.py has checked the token (from the headers alone) and capped the
body; jsonbody.py refuses NaN and Infinity.
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
import time
from collections.abc import AsyncIterator

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match
from starlette.types import Scope

from engine.egress import EgressPolicy, RetryPolicy

from . import catalog, dashboard, farm_cache, faults, housekeeping, orders, queue, uploads
from .api_replies import Health
from .auth import TokenCache, TokenError
from .db import Store
from .errors import error_response, storage_failure, summarise, validation_problems
from .guard import RequestGuard
from .jsonbody import StrictJSONRoute
from .notify import Notifier
from .routes import ROUTERS, files, workers
from .routes.common import ApiError, Farm, admin, anyone, submitter
from .settings import ServerSettings
from .storage import FileStore, UploadError
from .waker import Waker

DOMAIN_ERRORS = (catalog.CatalogError, orders.OrderError, queue.QueueError, UploadError, TokenError,
                 farm_cache.CacheError, uploads.UploadConflict)
STREAMED = (files.upload_file, files.cache_upload, workers.upload_asset, workers.upload_part)


def create_app(settings: ServerSettings) -> FastAPI:
    store = Store(settings.data_dir / "farm.sqlite", settings.db_busy_s)
    catalog.seed_presets(store)
    queue.grant_grace(store, settings.lease_s)
    file_store = FileStore(settings.data_dir / "files", settings.max_upload_bytes)
    housekeeping.clear_incoming(file_store)
    housekeeping.sweep(store, file_store)
    egress = EgressPolicy.parse(settings.webhook_allow)
    retry = RetryPolicy(settings.webhook_attempts, settings.webhook_backoff_s, settings.webhook_deadline_s)
    notifier = Notifier(store, retry, egress, settings.webhook_parallel)
    farm = Farm(store, file_store, settings, Waker(), notifier, egress)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        farm.waker.bind(asyncio.get_running_loop())
        notifier.start()
        reaper = asyncio.create_task(_reap_loop(farm))
        yield
        reaper.cancel()
        notifier.stop()

    app = FastAPI(title="HartOMat farm", version="1", lifespan=lifespan)
    app.router.route_class = StrictJSONRoute
    app.state.farm = farm
    fault_switch = faults.FaultSwitch() if settings.test_mode else None
    _error_handlers(app)

    @app.get("/health", response_model=Health)
    async def health() -> dict[str, bool]:
        return {"ok": True}

    for router in ROUTERS:
        app.include_router(router)
    dashboard.mount(app, store, file_store, submitter, anyone, lambda message: ApiError(404, message))
    if fault_switch is not None:
        faults.mount(app, fault_switch, admin)
    for route in api_routes(app):  # the spec groups operations by the roles that may call them
        route.tags = [*route.tags, *(r for r in _roles(route) if r not in route.tags)]  # routers are shared by apps
    streamed = [r for r in api_routes(app) if r.endpoint in STREAMED]

    patterns = [(route.path_regex, route.methods or set()) for route in streamed]

    def is_streamed(scope: Scope) -> bool:  # per request: a regex each, not a full route match
        path, method = scope["path"], scope.get("method")
        return any(method in methods and regex.match(path) for regex, methods in patterns)

    app.add_middleware(RequestGuard, tokens=TokenCache(store),
                       max_json_bytes=settings.max_json_bytes, streamed=is_streamed, faults=fault_switch)
    return app


def _error_handlers(app: FastAPI) -> None:
    """Every failure in the one error shape of errors.py."""

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
            headers["Allow"] = ", ".join(_allowed_methods(app, request.scope))
        return error_response(exc.status_code, str(exc.detail), headers=headers)

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


def api_routes(app: FastAPI) -> list[APIRoute]:
    """Every API route of the app: its own and its routers' (FastAPI keeps an included router as
    one entry in `app.routes`). No two of them share a path template across the groups."""
    own = [r for r in app.routes if isinstance(r, APIRoute)]
    return [*own, *(r for router in ROUTERS for r in router.routes if isinstance(r, APIRoute))]


def _allowed_methods(app: FastAPI, scope: Scope) -> list[str]:
    """The methods of the path template the request matched first (as the spec lists them)."""
    routes = api_routes(app)
    first = next((r for r in routes if r.matches(scope)[0] is not Match.NONE), None)
    methods = {m for r in routes if first is not None and r.path == first.path for m in r.methods or ()}
    return sorted(methods | ({"HEAD"} if "GET" in methods else set()))


def _roles(route: APIRoute) -> list[str]:
    return [r for d in route.dependant.dependencies for r in getattr(d.call, "roles", ())]


async def _reap_loop(farm: Farm) -> None:
    """Every fraction of a lease: put expired jobs back, wake the claimers, and sweep the
    unpublished assets of settled jobs (in a thread: the store never blocks the loop)."""
    interval = max(0.2, min(2.0, farm.settings.lease_s / 4))
    retention_every, next_retention = max(interval, min(60.0, farm.settings.upload_retention_s / 2)), 0.0
    while True:
        await asyncio.sleep(interval)
        try:
            await asyncio.to_thread(_reap_once, farm)
            if time.monotonic() >= next_retention:  # unused uploads past their age, now and then
                next_retention = time.monotonic() + retention_every
                await asyncio.to_thread(uploads.expire, farm.store, farm.files, farm.settings.upload_retention_s)
        except Exception as exc:  # keep reaping whatever one pass hit
            print(f"hartomat serve: lease reaper: {exc}", flush=True)


def _reap_once(farm: Farm) -> None:
    requeued, finished = queue.reap_expired(farm.store)
    for order_id in finished:
        farm.notifier.order_finished(order_id)
    if requeued:
        farm.waker.wake()
    housekeeping.sweep(farm.store, farm.files)


def create_default_app() -> FastAPI:
    """For `uvicorn server_bridge.app:create_default_app --factory` (data from $HARTOMAT_DATA)."""
    return create_app(ServerSettings.from_env())


__all__ = ["create_app", "create_default_app"]
