"""The gate every `/api/` request (and `/metrics`) passes before the app sees it (an ASGI middleware).

In order: the test-mode fault switch; the bearer token, resolved from the headers alone so a
caller without a valid token is answered 401 before one byte of its body is read; then the body
cap: JSON bodies are read here up to `max_json_bytes` (413 beyond, at once when Content-Length
says so) and handed on, so no route parses an unbounded body. Upload routes stream their bodies
themselves under their own limit. The resolved principal goes to the routes in `scope["state"]`.
A token seen before is admitted from auth.TokenCache (no store call; revocations empty it);
others are read from the store in the store thread, never on the event loop.
"""

from __future__ import annotations

from collections.abc import Callable

from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .auth import Principal, Stamp, TokenCache
from .db import off_loop
from .errors import error_response, storage_failure
from .faults import FaultSwitch


def bearer(scope: Scope) -> str | None:
    for name, value in scope.get("headers", ()):
        if name == b"authorization":
            text = value.decode("latin-1")
            return text[7:].strip() if text.startswith("Bearer ") else None
    return None


def content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            return int(value) if value.isdigit() else None
    return None


class RequestGuard:
    def __init__(self, app: ASGIApp, *, tokens: TokenCache, max_json_bytes: int,
                 streamed: Callable[[Scope], bool], faults: FaultSwitch | None = None) -> None:
        self.app, self.tokens, self.max_json_bytes = app, tokens, max_json_bytes
        self.streamed, self.faults = streamed, faults

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not (scope["path"].startswith("/api/") or scope["path"] == "/metrics"):
            await self.app(scope, receive, send)
            return
        fault = self.faults.answer(scope["path"]) if self.faults else None
        if fault is not None:
            await fault(scope, receive, send)
            return
        token = bearer(scope)
        principal = self.tokens.cached(token) if token else None
        refusal = None
        if principal is None:
            refusal, principal, stamp = await off_loop(self._authenticate, token)  # a SQLite read: off the loop
            if principal is not None and token:
                self.tokens.keep(token, principal, stamp)
        if refusal is None and not self.streamed(scope):
            refusal, receive = await self._capped_body(scope, receive)
        if refusal is not None:
            await refusal(scope, receive, send)
            return
        scope.setdefault("state", {})["principal"] = principal
        await self.app(scope, receive, send)

    def _authenticate(self, token: str | None) -> tuple[Response | None, Principal | None, Stamp]:
        if not token:
            return error_response(401, "missing bearer token (Authorization: Bearer <token>)"), None, None
        try:
            principal, stamp = self.tokens.resolve(token)
        except Exception as exc:  # the token table unreadable: say so as the routes would
            failure = storage_failure(exc)
            if failure is None:
                raise
            return error_response(failure[0], failure[1], headers=failure[2]), None, None
        if principal is None:
            return error_response(401, "unknown or revoked token"), None, None
        return None, principal, stamp

    async def _capped_body(self, scope: Scope, receive: Receive) -> tuple[Response | None, Receive]:
        """Read the whole body (at most the cap) and return a `receive` that replays it."""
        declared = content_length(scope)
        if declared is not None and declared > self.max_json_bytes:
            return self._too_large(declared), receive
        chunks: list[bytes] = []
        size, more = 0, True
        while more:
            message = await receive()
            if message["type"] != "http.request":  # the client went away: let the app see that
                return None, _replay([message], receive)
            size += len(message.get("body", b""))
            if size > self.max_json_bytes:
                return self._too_large(size), receive
            chunks.append(message.get("body", b""))
            more = message.get("more_body", False)
        return None, _replay([{"type": "http.request", "body": b"".join(chunks), "more_body": False}], receive)

    def _too_large(self, size: int) -> Response:
        return error_response(413, f"request body of {size}+ bytes is larger than the server's "
                                   f"{self.max_json_bytes} byte limit for JSON requests")


def _replay(messages: list[Message], receive: Receive) -> Receive:
    pending = list(messages)

    async def replayed() -> Message:
        return pending.pop(0) if pending else await receive()

    return replayed
