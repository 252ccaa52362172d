"""WorkflowContext and NodeCall: what a node executor receives.

An executor is a plain function `run(call: NodeCall) -> dict[str, Artifact | list[Artifact]]`
keyed by output port name. It reads its validated settings, its upstream artifacts and the
context; it writes files only under `call.workdir`; it reports through `call.log` and
`call.progress`, and calls `call.check_cancelled()` in long loops. An executor whose work waits
on the host (a render job in Blender's editor) may be a generator body handed to `call.stepwise`:
a stepping caller gets a turn at each `yield`. The runtime creates
`call.workdir` before the call, except for nodes whose outputs are all JSON data (order line,
bbox, material map, media asset, notification): those call `call.workdir.mkdir(...)` if they
need a scratch file.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Generator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, Field

from ..errors import CancelledError
from .artifacts import Artifact
from .vocabulary import Mode, Preset

T = TypeVar("T")


class OrderLine(BaseModel):
    """One line of an order: which product, which output type, with which overrides."""

    id: str = "line-1"
    order_id: str = "local"
    product: str = ""
    step_path: str | None = None
    output_type: str = Preset.STILL
    category: str = ""
    overrides: dict[str, dict[str, Any]] = Field(
        default_factory=dict, description="node id or step key -> setting -> value"
    )


@dataclass
class WorkflowContext:
    """Everything a run shares: the order line, folders, mode, publishing and bookkeeping."""

    order_line: OrderLine
    run_dir: Path
    mode: Mode = Mode.GRAPH
    authoritative: bool = True
    cache_dir: Path | None = None
    capabilities: frozenset[str] = frozenset()
    run_id: str = ""
    publisher: Any = None
    store: Any = None
    cancel_requested: Callable[[], bool] = lambda: False
    extras: dict[str, Any] = field(default_factory=dict)

    def check_cancelled(self) -> None:
        if self.cancel_requested():
            raise CancelledError("run cancelled")


def _no_progress(fraction: float, message: str = "") -> None:
    """Default progress sink of a NodeCall made outside the runtime."""


@dataclass
class NodeCall:
    """One execution of one node."""

    node_id: str
    step: str
    settings: Any
    inputs: dict[str, list[Artifact]]
    workdir: Path
    context: WorkflowContext
    log: Callable[[str], None] = print
    progress: Callable[..., None] = _no_progress
    self_publish: bool = False
    deadline: float | None = None  # time.monotonic() after which check_cancelled raises NodeTimeoutError
    # the caller steps this node (Blender's editor, a UI on this thread): `stepwise` hands it the
    # executor's generator, so the UI runs between the generator's turns
    stepped: bool = False

    def stepwise(self, steps: Generator[None, None, T]) -> T | Generator[None, None, T]:
        """A generator body's result: the generator itself for a stepping caller (a `yield` gives
        the UI a turn while the host works, a render job say), run to its end for any other."""
        if self.stepped:
            return steps
        while True:
            try:
                next(steps)
            except StopIteration as done:
                return done.value  # type: ignore[no-any-return]

    def input(self, name: str) -> Artifact | None:
        items = self.inputs.get(name) or []
        return items[0] if items else None

    def require(self, name: str) -> Artifact:
        artifact = self.input(name)
        if artifact is None:
            from ..errors import NodeInputError

            raise NodeInputError(f"node '{self.node_id}' ({self.step}): input '{name}' has no artifact")
        return artifact

    def should_stop(self) -> bool:
        """Whether the run was cancelled or this node ran past its timeout; never raises (a
        watcher thread asks it while a blocking call, such as a render, runs)."""
        return bool(self.context.cancel_requested()) or (
            self.deadline is not None and time.monotonic() > self.deadline)

    def check_cancelled(self) -> None:
        self.context.check_cancelled()
        if self.deadline is not None and time.monotonic() > self.deadline:
            from ..errors import NodeTimeoutError

            raise NodeTimeoutError(f"node '{self.node_id}' ({self.step}) ran past its timeout")
