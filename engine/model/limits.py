"""Operator limits on the work one node may be asked for: render size x samples of a frame, and
how fine a mesh may be. Field bounds stop absurd values; these stop expensive combinations
(16384² pixels at 65,536 samples, a deflection of 1e-9 mm) that each field allows alone.

The operator sets them in the environment of the server (checked when an order is submitted)
and of each worker (checked again when the node is planned there).
"""

from __future__ import annotations

import os
from dataclasses import dataclass

DEFAULT_MAX_RENDER_WORK = 2**34  # e.g. 4096 x 4096 pixels at 1,024 samples
DEFAULT_MIN_DEFLECTION = 0.001  # mm, or a fraction of the edge when relative
DEFAULT_MIN_ANGULAR = 0.01  # radians


@dataclass(frozen=True)
class WorkLimits:
    max_render_work: float  # pixels x samples of one frame
    min_deflection: float
    min_angular: float

    @classmethod
    def from_env(cls) -> WorkLimits:
        return cls(max_render_work=_number("HARTOMAT_MAX_RENDER_WORK", DEFAULT_MAX_RENDER_WORK),
                   min_deflection=_number("HARTOMAT_MIN_DEFLECTION", DEFAULT_MIN_DEFLECTION),
                   min_angular=_number("HARTOMAT_MIN_ANGULAR_DEFLECTION", DEFAULT_MIN_ANGULAR))


def _number(name: str, default: float) -> float:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ValueError(f"{name}={raw!r} is not a number") from None
    if not value > 0 or value == float("inf"):
        raise ValueError(f"{name}={raw!r} must be a positive, finite number")
    return value


def check_render_work(width: int, height: int, samples: int) -> None:
    """ValueError when one frame's pixels x samples pass the operator's limit."""
    limit = WorkLimits.from_env().max_render_work
    work = width * height * samples
    if work > limit:
        raise ValueError(f"render work {width} x {height} pixels x {samples} samples = {work:.3g} is past this "
                         f"farm's limit of {limit:.3g} (HARTOMAT_MAX_RENDER_WORK); lower the resolution or samples")


def check_deflection(field: str, value: float) -> float:
    """ValueError when a tessellation deflection is finer than the operator allows."""
    limits = WorkLimits.from_env()
    least, variable = ((limits.min_angular, "HARTOMAT_MIN_ANGULAR_DEFLECTION") if field == "angular_deflection"
                       else (limits.min_deflection, "HARTOMAT_MIN_DEFLECTION"))
    if value < least:
        raise ValueError(f"{field} {value:g} is finer than this farm's least of {least:g} ({variable})")
    return value
