"""One error shape for every refusal of the farm API: `{"detail": str, "problems": [...]}`.

`detail` is one readable line naming what is at fault; `problems` are structured records (a
`code`, a `message` and, for request fields, the `loc`ation) so a client can point at the field.
Storage trouble maps to statuses a client can act on: a locked database is 503 with
`Retry-After`, a full disk 507, never a bare 500.
"""

from __future__ import annotations

import errno
import sqlite3
from collections.abc import Mapping, Sequence
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from starlette.responses import JSONResponse

RETRY_AFTER_S = 1

DESCRIPTIONS: dict[int, str] = {
    401: "Missing, unknown or revoked bearer token (checked before any body is read)",
    403: "The token's role may not do this",
    404: "No such resource, or not visible to this token",
    409: "Conflicts with the resource's state (e.g. a job no longer held by this worker)",
    410: "Gone: a recorded file missing from the server's storage, or an order deleted or archived (who, when)",
    413: "Request body larger than the server's limit",
    422: "A field, header or parameter is invalid (NaN and Infinity included)",
    503: "Temporarily unavailable (database locked by another process); retry after `Retry-After` seconds",
    507: "The server's disk is full; nothing was stored",
}


class Problem(BaseModel):
    """One thing wrong with a request; catalog problems add node_id, port, field, severity."""

    model_config = ConfigDict(extra="allow")
    code: str
    message: str
    loc: list[str | int] = Field(default_factory=list, description="where in the request, e.g. [body, lines, 0]")


class ErrorBody(BaseModel):
    detail: str = Field(description="one line naming what is at fault")
    problems: list[Problem] = Field(default_factory=list)


def error_response(status: int, detail: str, problems: Sequence[Mapping[str, Any]] = (),
                   headers: Mapping[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"detail": detail, "problems": [dict(p) for p in problems]}, status_code=status,
                        headers=dict(headers or {}))


def validation_problems(errors: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """FastAPI/pydantic validation errors as problems (without the offending input, which may be huge)."""
    problems = []
    for e in errors:
        reason = (e.get("ctx") or {}).get("error")
        message = str(e.get("msg", "invalid")) + (f": {reason}" if isinstance(reason, str) else "")
        problems.append({"code": str(e.get("type", "invalid")), "message": message,
                         "loc": [p if isinstance(p, int) else str(p) for p in e.get("loc", ())]})
    return problems


def summarise(problems: Sequence[Mapping[str, Any]], limit: int = 5) -> str:
    parts = [f"{'.'.join(str(p) for p in pr.get('loc', ()))}: {pr['message']}" for pr in problems[:limit]]
    more = f" (+{len(problems) - limit} more)" if len(problems) > limit else ""
    return "; ".join(parts) + more


def storage_failure(exc: BaseException) -> tuple[int, str, dict[str, str]] | None:
    """(status, message, headers) for a storage failure a client can wait out or report; else None."""
    if isinstance(exc, sqlite3.OperationalError):
        code = getattr(exc, "sqlite_errorcode", None)
        if code in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED) or "locked" in str(exc):
            return (503, "the farm database is locked by another process; retry shortly",
                    {"Retry-After": str(RETRY_AFTER_S)})
        if code == sqlite3.SQLITE_FULL or "disk is full" in str(exc):
            return 507, "the server's disk is full: the farm database cannot grow; nothing was stored", {}
    if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG):
        return 507, f"the server cannot store this: {exc.strerror or 'no space left on device'}; nothing was stored", {}
    return None


def openapi_responses(codes: Sequence[int]) -> dict[int | str, dict[str, Any]]:
    """The `responses=` entries documenting these error statuses with the one error shape."""
    return {code: {"model": ErrorBody, "description": DESCRIPTIONS[code]} for code in sorted(set(codes))}
