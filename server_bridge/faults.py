"""A fault switch for chaos tests: the server answers every API request with an error for a while.

It exists only in test mode. Start the server with `hartomat serve --test-mode` (or with
`HARTOMAT_TEST_MODE=1` in its environment); only then is `POST /api/test/fault` mounted. Called with
an admin token and `{"status": 503, "seconds": 10, "retry_after": 1}`, it makes every other `/api/`
request answer 503 (with `Retry-After: 1` and the usual error body) for the next 10 s, checked before
the token, as an overloaded or failing server would; `{"seconds": 0}` clears it early. The reply
(and `GET /api/test/fault`) tells the state. `/health` stays honest and the fault route itself is
never faulted, so a test can always turn the fault off. A server not in test mode has neither.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Any, Literal

from fastapi import Depends, FastAPI
from pydantic import BaseModel, ConfigDict, Field
from starlette.responses import Response

from .api_replies import FaultState
from .errors import error_response

FAULT_PATH = "/api/test/fault"


class FaultRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    status: Literal[429, 500, 502, 503, 504, 507] = 503
    seconds: float = Field(ge=0, le=3600, description="how long every API request answers `status`; 0 clears")
    retry_after: int | None = Field(1, ge=0, le=3600, description="Retry-After header to send, if any")


class FaultSwitch:
    """The injected fault: which status, until when (monotonic clock)."""

    def __init__(self) -> None:
        self.status, self.until = 503, 0.0
        self.retry_after: int | None = None

    def set(self, request: FaultRequest) -> dict[str, Any]:
        self.status, self.retry_after = request.status, request.retry_after
        self.until = time.monotonic() + request.seconds
        return self.state()

    def state(self) -> dict[str, Any]:
        remaining = max(0.0, self.until - time.monotonic())
        return {"status": self.status if remaining else None, "remaining_s": round(remaining, 3),
                "retry_after": self.retry_after if remaining else None}

    def answer(self, path: str) -> Response | None:
        """The injected answer for a request to `path` while the fault is on, else None."""
        remaining = self.until - time.monotonic()
        if remaining <= 0 or path == FAULT_PATH:
            return None
        headers: dict[str, str] = {"Retry-After": str(self.retry_after)} if self.retry_after is not None else {}
        return error_response(self.status, f"fault injected by the test-mode switch: every API request "
                                           f"answers {self.status} for {remaining:.1f} s more", headers=headers)


def mount(app: FastAPI, switch: FaultSwitch, admin: Callable[..., Awaitable[Any]]) -> None:
    """Add the switch's routes (call only in test mode)."""

    @app.post(FAULT_PATH, tags=["test mode"], response_model=FaultState)
    async def set_fault(req: FaultRequest, who: Any = Depends(admin)) -> dict[str, Any]:
        return switch.set(req)

    @app.get(FAULT_PATH, tags=["test mode"], response_model=FaultState)
    async def get_fault(who: Any = Depends(admin)) -> dict[str, Any]:
        return switch.state()
