"""What every router shares: the farm's state as a dependency, the role dependencies, the
route class and the OpenAPI pieces (errors, streamed bodies, file downloads).

Routes get the farm through `Depends(farm)` (set on `app.state.farm` by create_app), never
through a closure, so each router module stands alone. Routes that touch the store are plain
`def`: FastAPI runs them in its threadpool, so SQLite never blocks the event loop. The few
`async` routes (streamed uploads, the long-poll claim) hand their store calls to `db.off_loop`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import orjson
from fastapi import APIRouter, Request, Security
from fastapi.responses import JSONResponse
from fastapi.security import HTTPBearer

from engine.egress import EgressPolicy
from engine.model.vocabulary import Role

from ..auth import Principal
from ..db import Store
from ..errors import openapi_responses
from ..jsonbody import StrictJSONRoute
from ..notify import Notifier
from ..settings import ServerSettings
from ..storage import FileStore
from ..waker import Waker


@dataclass(frozen=True)
class Farm:
    """The server's state, one per app: what the routes work on."""
    store: Store
    files: FileStore
    settings: ServerSettings
    waker: Waker
    notifier: Notifier
    egress: EgressPolicy


async def farm(request: Request) -> Farm:
    """The dependency giving a route its app's Farm (async: no threadpool hop for it)."""
    state: Farm = request.app.state.farm
    return state


class PayloadResponse(JSONResponse):
    """The reply that carries a job payload (claim, complete with `next`): orjson writes the
    frozen workflow, kept as JSON text (orjson.Fragment), as it is stored, instead of parsing
    and re-encoding a few kilobytes on every claim."""

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content)


class ApiError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


class Router(APIRouter):
    """An APIRouter whose routes refuse NaN/Infinity bodies (StrictJSONRoute) and answer
    exactly the keys their handler returned (the reply models only describe them)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(route_class=StrictJSONRoute, **kwargs)

    def add_api_route(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
        kwargs.setdefault("response_model_exclude_unset", True)
        super().add_api_route(path, endpoint, **kwargs)


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

_BEARER = HTTPBearer(auto_error=False, description="an API token from `hartomat token create`")


def role(*allowed: Role) -> Callable[..., Awaitable[Principal]]:
    """The dependency admitting tokens of these roles (its `roles` tag the route in the spec)."""
    async def dependency(request: Request, _: Any = Security(_BEARER)) -> Principal:
        principal: Principal | None = request.scope.get("state", {}).get("principal")  # set by RequestGuard
        if principal is None:
            raise ApiError(401, "missing bearer token (Authorization: Bearer <token>)")
        if principal.role not in allowed:
            raise ApiError(403, f"a {principal.role} token may not do this (needs {' or '.join(allowed)})")
        return principal
    dependency.roles = tuple(str(r) for r in allowed)  # type: ignore[attr-defined]
    return dependency


admin = role(Role.ADMIN)
submitter = role(Role.SUBMIT, Role.ADMIN)
worker_role = role(Role.WORKER)
anyone = role(Role.SUBMIT, Role.WORKER, Role.ADMIN)
scraper = role(Role.ADMIN, Role.METRICS)


def stored_file(files: FileStore, sha256: str, name: str) -> Any:
    """A stored file's download; a record whose file was lost on disk is a 410, never a 500."""
    from fastapi.responses import FileResponse

    if not files.has(sha256):
        raise ApiError(410, f"file {sha256[:12]}… ({name!r}) is recorded but missing from the server's storage")
    return FileResponse(files.path(sha256), filename=name, headers={"X-Sha256": sha256})
