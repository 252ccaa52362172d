"""Strict JSON request bodies: NaN, Infinity, numbers too large for a float and integers longer
than 4,300 digits are refused (422).

Bodies that are not UTF-8 or nest too deeply are a 422 like any other malformed JSON (FastAPI
would answer them with a bare 400).

Python's `json` accepts `NaN`, `Infinity` and `1e999` (which parses as inf); none is JSON, and a
non-finite float in a request would come back in the 422 that names it, which cannot be encoded
(the 500 this prevents). Routes of the app use `StrictJSONRoute`, so FastAPI answers 422.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Coroutine
from typing import Any

from fastapi.routing import APIRoute
from starlette.requests import Request
from starlette.responses import Response

MAX_INT_DIGITS = 4300  # Python's own limit on converting decimal text to int


class _NotFinite(ValueError):
    """A number JSON allows but the farm does not: NaN, Infinity, overflowing or overlong."""


def _constant(name: str) -> Any:
    raise _NotFinite(f"{name} is not valid JSON (only finite numbers are accepted)")


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise _NotFinite(f"number {text[:40]} is too large for a 64-bit float (only finite numbers are accepted)")
    return value


def _integer(text: str) -> int:
    if len(text.lstrip("-")) > MAX_INT_DIGITS:
        raise _NotFinite(f"an integer of {len(text.lstrip('-'))} digits is too long (at most {MAX_INT_DIGITS})")
    return int(text)


def loads_strict(text: str | bytes) -> Any:
    """`json.loads` that raises JSONDecodeError on NaN, Infinity, overflowing numbers and integers
    longer than Python converts (a ValueError FastAPI would answer with a bare 400)."""
    try:
        return json.loads(text, parse_constant=_constant, parse_float=_finite, parse_int=_integer)
    except _NotFinite as exc:
        raise json.JSONDecodeError(str(exc), _doc(text), 0) from None
    except UnicodeDecodeError as exc:
        raise json.JSONDecodeError(f"not UTF-8 text ({exc.reason})", _doc(text), exc.start) from None
    except RecursionError:
        raise json.JSONDecodeError("nested too deeply", _doc(text), 0) from None


def _doc(text: str | bytes) -> str:
    return text.decode("utf-8", "replace") if isinstance(text, bytes) else text


class StrictJSONRequest(Request):
    async def json(self) -> Any:
        if not hasattr(self, "_json"):
            self._json = loads_strict(await self.body())
        return self._json


class StrictJSONRoute(APIRoute):
    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def strict_handler(request: Request) -> Response:
            return await handler(StrictJSONRequest(request.scope, request.receive))

        return strict_handler
