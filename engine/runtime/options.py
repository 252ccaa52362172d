"""The runtime's public records: what a caller passes in (RunOptions) and gets back (RunResult).

Kept apart from the machinery so the add-on, the CLI and the farm worker can import them cheaply.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..model.registry import REGISTRY, NodeDefinitionRegistry
from ..model.vocabulary import Mode, NodeStatus, RunStatus

# error types (calls.error_record) that say the order's input is at fault, not the machine
INPUT_ERROR_TYPES = frozenset({"NodeInputError", "PlanError"})


@dataclass(frozen=True)
class ProgressEvent:
    """One progress report: a node changed status, or a running node reported a fraction."""

    node_id: str
    step: str
    status: NodeStatus
    fraction: float = 0.0
    message: str = ""


@dataclass
class RunOptions:
    """How to run one workflow for one order line; every field has a safe default."""

    out_dir: Path = field(default_factory=lambda: Path("hartomat-out"))
    mode: Mode = Mode.GRAPH
    use_cache: bool = True
    cache_dir: Path | None = None
    store_path: Path | None = None
    overrides: dict[str, dict[str, Any]] = field(default_factory=dict)
    progress: Callable[[ProgressEvent], None] | None = None
    cancel: Callable[[], bool] | None = None
    registry: NodeDefinitionRegistry = REGISTRY
    capabilities: frozenset[str] | None = None
    helper_python: str | None = None
    legacy_config: Any = None
    publisher: Any = None
    max_workers: int | None = None  # process-pool size; 0 runs process nodes in the main process
    pool: Any = None  # a ProcessPool the caller keeps across runs (a farm worker's); None: the run's own
    fallback: bool = False  # graph mode: re-run legacy whenever the graph fails, not only on fallback_legacy
    # The calling thread draws a UI (Blender's editor, stepping `run_steps`): only main-thread
    # (bpy) nodes run on it; CAD (process) nodes run in the helper, since OCP holds the GIL;
    # the rest on worker threads of this process.
    ui_thread: bool = False
    # a worker's folders that path settings must lie in ({'scratch'|'products'|'templates': [dirs]});
    # None: a local run by the machine's own user, paths unconfined
    path_roots: dict[str, list[Path]] | None = None
    egress: Any = None  # engine.egress.EgressPolicy for the notify node's webhook; None: unconfined
    # farm fan-out: a part job runs only `targets` and their ancestors and publishes nothing; an
    # assemble job is `given` the split nodes' outputs (node id -> port -> artifacts) and runs only
    # what still needs running downstream of them
    targets: frozenset[str] | None = None
    given: dict[str, dict[str, list[Any]]] = field(default_factory=dict)
    remote_cache: Any = None  # a farm-wide cache (fetch(key) -> outputs | None, offer(key, outputs))

    def __post_init__(self) -> None:
        self.out_dir = Path(self.out_dir)
        if self.cache_dir is not None:
            self.cache_dir = Path(self.cache_dir)
        if self.store_path is not None:
            self.store_path = Path(self.store_path)


@dataclass
class OutputRef:
    """An output artifact as recorded: enough to find and check the file later."""

    port: str
    kind: str
    path: str | None
    sha256: str | None
    size: int | None
    role: str | None
    files: list[str] = field(default_factory=list)
    data: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass
class NodeResult:
    """What happened to one node in a run (its last attempt; the store keeps every attempt)."""

    node_id: str
    step: str
    status: NodeStatus = NodeStatus.PENDING
    attempt: int = 0
    started: float | None = None
    ended: float | None = None
    duration: float | None = None
    # process CPU seconds over the attempt (every thread of the process that ran it, so a render's
    # threads count; nodes running at once in one process each count the other's CPU too)
    cpu: float | None = None
    logs: list[str] = field(default_factory=list)
    outputs: list[OutputRef] = field(default_factory=list)
    error: dict[str, Any] | None = None
    interpreter: str | None = None
    pid: int | None = None  # the process that ran it: a hosting Blender's own, a helper's, a pool worker's
    cache_key: str | None = None
    phase: Mode = Mode.GRAPH  # which pipeline ran it: graph, legacy, or the graph beside legacy (shadow)

    def to_dict(self) -> dict[str, Any]:
        data = dict(self.__dict__)
        data["outputs"] = [o.to_dict() for o in self.outputs]
        return data


@dataclass
class RunResult:
    """The outcome of `run_workflow`: status, per-node results, published media, parity."""

    run_id: str
    status: RunStatus
    mode: Mode
    out_dir: Path
    fell_back: bool = False
    node_results: dict[str, NodeResult] = field(default_factory=dict)
    legacy_results: dict[str, NodeResult] = field(default_factory=dict)
    published: list[Any] = field(default_factory=list)
    parity: dict[str, Any] | None = None
    error: str | None = None
    store_path: Path | None = None

    @property
    def ok(self) -> bool:
        return self.status == RunStatus.SUCCEEDED

    @property
    def input_error(self) -> bool:
        """Whether the run failed on the order's input (an unreadable STEP, an unknown template,
        invalid settings: NodeInputError) and not on the machine that ran it: every failed node,
        graph and legacy fallback alike, failed on its input. The farm fails such a line at once
        and does not hold it against the worker."""
        failed = [r for results in (self.node_results, self.legacy_results) for r in results.values()
                  if r.status == NodeStatus.FAILED]
        return self.status == RunStatus.FAILED and bool(failed) and all(
            (r.error or {}).get("type") in INPUT_ERROR_TYPES for r in failed)

    def summary(self) -> dict[str, Any]:
        """JSON-ready record of the run; written as out_dir/run.json."""
        outputs = [
            {"node": r.node_id, "phase": r.phase, **o.to_dict()}
            for results in (self.legacy_results, self.node_results)
            for r in results.values() for o in r.outputs
        ]
        return {
            "run_id": self.run_id,
            "status": self.status,
            "mode": self.mode,
            "fell_back": self.fell_back,
            "error": self.error,
            "nodes": {k: _node_summary(r) for k, r in self.node_results.items()},
            "legacy_nodes": {k: _node_summary(r) for k, r in self.legacy_results.items()},
            "outputs": outputs,
            "published": [a.model_dump(mode="json") for a in self.published],
            "parity": self.parity,
            "store": str(self.store_path) if self.store_path else None,
        }

    def write_summary(self, summary: dict[str, Any] | None = None) -> Path:
        """out_dir/run.json; indented for people unless the run is large (indenting is slow)."""
        summary = summary if summary is not None else self.summary()
        path = self.out_dir / "run.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        indent = 2 if len(self.node_results) + len(self.legacy_results) <= 200 else None
        path.write_text(json.dumps(summary, indent=indent, default=str) + "\n")
        return path


def _node_summary(result: NodeResult) -> dict[str, Any]:
    return {
        "step": result.step,
        "status": result.status,
        "attempt": result.attempt,
        "duration": result.duration,
        "cpu": result.cpu,
        "interpreter": result.interpreter,
        "pid": result.pid,
        "cache_key": result.cache_key,
        "error": result.error,
        "outputs": [o.to_dict() for o in result.outputs],
    }
