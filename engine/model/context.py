"""WorkflowContext and NodeCall: what a node executor receives.

An executor is a plain function `run(call: NodeCall) -> dict[str, Artifact | list[Artifact]]`
keyed by output port name. It reads its validated settings, its upstream artifacts and the
context; it writes files only under `call.workdir`; it reports through `call.log` and
`call.progress`, and calls `call.check_cancelled()` in long loops. The runtime creates
`call.workdir` before the call, except for nodes whose outputs are all JSON data (order line,
bbox, material map, media asset, notification): those call `call.workdir.mkdir(...)` if they
need a scratch file.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from ..errors import CancelledError
from .artifacts import Artifact
from .vocabulary import Mode, Preset


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
