"""Running one node with its policy: cache lookup, attempts with backoff, timeout, recording.

Every attempt is written to the store when it starts and when it ends; the returned
NodeResult is the last attempt. Used alike by the graph scheduler and the legacy pipeline.
"""

from __future__ import annotations

import sqlite3
import sys
import time
from collections.abc import Generator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from ..model.artifacts import Artifact
from ..model.context import WorkflowContext
from ..model.node_definition import NodeDefinition
from ..model.vocabulary import Mode, NodeStatus
from ..model.workflow import NodePolicy
from .cache_keys import content_key, run_key
from .calls import context_snapshot, error_record, module_dir, normalise_outputs, ref_of
from .options import NodeResult, OutputRef, ProgressEvent
from .placement import run_helper, run_inline, run_pooled
from .session import RunSession
from .stepping import drive

Outputs = dict[str, list[Artifact]]


@dataclass
class NodeSpec:
    """What the runner needs of a node; a PlannedNode has all of it."""

    node_id: str
    step: str
    definition: NodeDefinition
    settings: dict[str, Any]
    policy: NodePolicy
    cache_key: str = ""
    cacheable: bool = False
    where: str = "inline"
    missing: tuple[str, ...] | list[str] = ()
    self_publish: bool = False
    plan_key: str = ""  # set by the runner: cache_key becomes the run key (plan key + input files)


def output_refs(outputs: Outputs) -> list[OutputRef]:
    return [OutputRef(port=port, kind=str(a.kind), path=a.path, sha256=a.sha256, size=a.size, role=a.role,
                      files=list(a.files), data=a.data)
            for port, items in outputs.items() for a in items]


class NodeRunner:
    def __init__(self, session: RunSession, ctx: WorkflowContext, phase: Mode, work_root: Path) -> None:
        self.session, self.ctx, self.phase, self.work_root = session, ctx, phase, work_root

    # -- recording ------------------------------------------------------------------------------
    def _record(self, result: NodeResult) -> None:
        self.session.store.record_attempt(self.session.run_id, self.phase, result.to_dict())
        message = (result.error or {}).get("message", "") or (result.logs[0] if result.status == NodeStatus.CACHED else "")
        self.session.emit(ProgressEvent(result.node_id, result.step, result.status,
                                        1.0 if result.status in (NodeStatus.SUCCEEDED, NodeStatus.CACHED) else 0.0, message))

    def mark(self, node_id: str, step: str, status: NodeStatus, message: str) -> NodeResult:
        """Record a node that did not run (skipped or cancelled) with the reason."""
        result = NodeResult(node_id=node_id, step=step, status=status, phase=self.phase,
                            error={"type": status.capitalize(), "message": message, "traceback": "",
                                   "expected": True})
        self._record(result)
        return result

    # -- running --------------------------------------------------------------------------------
    def run(self, spec: NodeSpec, inputs: Outputs) -> tuple[NodeResult, Outputs]:
        return drive(self.run_steps(spec, inputs))

    def run_steps(self, spec: NodeSpec, inputs: Outputs) -> Generator[None, None, tuple[NodeResult, Outputs]]:
        """`run`, one turn per step of a stepping executor (see NodeCall.stepwise); other nodes
        finish in the first turn."""
        if spec.cacheable and self.session.cache is not None:
            spec = replace(spec, plan_key=spec.cache_key, cache_key=run_key(spec.cache_key, inputs))
            cached = self.session.cache.load(spec.cache_key)
            if cached is not None:
                return self._cached(spec, cached), cached
        farm_key = self._farm_key(spec, inputs)
        if farm_key is not None:
            fetched = self._farm_fetch(spec, farm_key)
            if fetched is not None:
                return self._cached(spec, fetched, f"cached (farm) {farm_key[:16]}"), fetched
        if spec.where == "unavailable":
            return self._unavailable(spec), {}
        result = NodeResult(node_id=spec.node_id, step=spec.step, phase=self.phase)
        outputs: Outputs = {}
        for attempt in range(1, spec.policy.max_attempts + 1):
            if self.session.cancelled():
                return self.mark(spec.node_id, spec.step, NodeStatus.CANCELLED, "run cancelled before this node"), {}
            result, outputs = yield from self._attempt(spec, inputs, attempt)
            if result.status in (NodeStatus.SUCCEEDED, NodeStatus.CANCELLED):
                break
            if attempt < spec.policy.max_attempts and not self._backoff(spec.policy.backoff_s * 2 ** (attempt - 1)):
                break
        if result.status == NodeStatus.SUCCEEDED and spec.cacheable and self.session.cache is not None:
            self._store_in_cache(spec, result, outputs)
        if result.status == NodeStatus.SUCCEEDED and farm_key is not None:
            self._farm_offer(spec, farm_key, result, outputs)
        return result, outputs

    # -- the farm-wide cache (RunOptions.remote_cache): trouble there costs a re-run, never this run
    def _farm_key(self, spec: NodeSpec, inputs: Outputs) -> str | None:
        if not spec.cacheable or self.session.options.remote_cache is None:
            return None
        return content_key(spec.step, spec.definition.version, spec.settings, inputs)

    def _farm_fetch(self, spec: NodeSpec, key: str) -> Outputs | None:
        try:
            fetched: Outputs | None = self.session.options.remote_cache.fetch(key)
            return fetched
        except Exception as exc:  # noqa: BLE001 - a farm cache that fails is a miss
            self.session.emit(ProgressEvent(spec.node_id, spec.step, NodeStatus.RUNNING, 0.0,
                                            f"farm cache miss ({type(exc).__name__}: {exc})"))
            return None

    def _farm_offer(self, spec: NodeSpec, key: str, result: NodeResult, outputs: Outputs) -> None:
        try:
            kept = self.session.options.remote_cache.offer(key, spec.step, outputs)
            result.logs.append("farm cache: stored" if kept else "farm cache: not stored (kept an earlier entry)")
        except Exception as exc:  # noqa: BLE001
            result.logs.append(f"warning: not in the farm cache: {type(exc).__name__}: {exc}")

    def _store_in_cache(self, spec: NodeSpec, result: NodeResult, outputs: Outputs) -> None:
        """A cache that cannot take the entry costs a later re-run, never this run: log and go on."""
        try:
            self.session.cache.store(spec.cache_key, outputs, alias=spec.plan_key)  # type: ignore[union-attr]
        except (OSError, sqlite3.Error) as exc:
            message = f"warning: not cached ({self.session.cache.root}): {type(exc).__name__}: {exc}"  # type: ignore[union-attr]
            result.logs.append(message)
            self._record(result)

    def _backoff(self, seconds: float) -> bool:
        """Wait before a retry; False when the run was cancelled meanwhile."""
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            if self.session.cancelled():
                return False
            time.sleep(min(0.05, max(0.0, end - time.monotonic())))
        return not self.session.cancelled()

    def _attempt(self, spec: NodeSpec, inputs: Outputs, attempt: int) -> Generator[None, None, tuple[NodeResult, Outputs]]:
        started = time.time()
        self.session.store.start_attempt(self.session.run_id, self.phase, spec.node_id, spec.step, attempt, started)
        self.session.emit(ProgressEvent(spec.node_id, spec.step, NodeStatus.RUNNING, 0.0, f"attempt {attempt}"))
        workdir = self.work_root / spec.node_id
        raw = yield from self._dispatch(spec, inputs, workdir)
        outputs: Outputs = {}
        error = raw.get("error")
        if error is None:
            try:
                outputs = normalise_outputs(raw["outputs"], spec.node_id, spec.step, spec.definition)
            except Exception as exc:  # noqa: BLE001 - a malformed result is this node's failure
                error = error_record(exc)
        ended = time.time()
        status = NodeStatus.SUCCEEDED if error is None else (
            NodeStatus.CANCELLED if error["type"] == "CancelledError" else NodeStatus.FAILED)
        result = NodeResult(node_id=spec.node_id, step=spec.step, status=status, attempt=attempt,
                            started=started, ended=ended, duration=ended - started, logs=raw.get("logs", []),
                            outputs=output_refs(outputs), error=error, interpreter=raw.get("interpreter"),
                            pid=raw.get("pid"), cache_key=spec.cache_key or None, phase=self.phase,
                            cpu=raw.get("cpu_s"))
        self._record(result)
        return result, outputs

    def _dispatch(self, spec: NodeSpec, inputs: Outputs, workdir: Path) -> Generator[None, None, dict[str, Any]]:
        timeout = spec.policy.timeout_s or spec.definition.attempt_timeout()  # a node kind's default
        if spec.where in ("inline", "thread"):
            stepped = spec.where == "inline" and self.session.options.ui_thread  # the UI's own thread
            return (yield from run_inline(self.session, self.ctx, spec, inputs, workdir, timeout, stepped))
        payload = self._payload(spec, inputs, workdir, timeout)
        if spec.where == "helper":
            return run_helper(self.session, str(self.session.options.helper_python), payload, timeout)
        return run_pooled(self.session, payload, timeout)

    def _payload(self, spec: NodeSpec, inputs: Outputs, workdir: Path, timeout: float | None) -> dict[str, Any]:
        executor = self.session.registry.executor(spec.step)
        model = spec.definition.settings_model
        paths = [p for p in (module_dir(executor), module_dir(model)) if p]
        return {
            "node_id": spec.node_id, "step": spec.step, "settings": spec.settings,
            "inputs": {k: [a.model_dump(mode="json") for a in v] for k, v in inputs.items()},
            "workdir": str(workdir), "context": context_snapshot(self.ctx),
            "executor": ref_of(executor), "settings_model": ref_of(model), "sys_path": paths,
            "timeout_left": timeout, "self_publish": spec.self_publish,
            "cancel_flag": str(self.work_root / f".cancel-{self.session.run_id}"),
            "interpreter": sys.executable,
        }

    def _cached(self, spec: NodeSpec, outputs: Outputs, how: str = "") -> NodeResult:
        now = time.time()
        result = NodeResult(node_id=spec.node_id, step=spec.step, status=NodeStatus.CACHED, attempt=1, started=now,
                            ended=now, duration=0.0, logs=[how or f"cache hit {spec.cache_key[:16]}"],
                            outputs=output_refs(outputs), cache_key=spec.cache_key, phase=self.phase)
        self._record(result)
        return result

    def given(self, spec: NodeSpec, outputs: Outputs) -> NodeResult:
        """A node whose outputs another farm job made (chunks, views): recorded, not run."""
        now = time.time()
        files = sum(len(a.files) or 1 for items in outputs.values() for a in items)
        result = NodeResult(node_id=spec.node_id, step=spec.step, status=NodeStatus.CACHED, attempt=1, started=now,
                            ended=now, duration=0.0, logs=[f"given: {files} file(s) from the farm's part jobs"],
                            outputs=output_refs(outputs), phase=self.phase)
        self._record(result)
        return result

    def _unavailable(self, spec: NodeSpec) -> NodeResult:
        missing = ", ".join(spec.missing)
        message = (f"node '{spec.node_id}' ({spec.step}) needs capability {missing}, which this interpreter "
                   f"({sys.executable}) lacks; set a helper interpreter (RunOptions.helper_python, "
                   f"--helper-python) or run it on a worker that has it")
        now = time.time()
        result = NodeResult(node_id=spec.node_id, step=spec.step, status=NodeStatus.FAILED, attempt=1, started=now,
                            ended=now, duration=0.0, phase=self.phase,
                            error={"type": "MissingCapability", "message": message, "traceback": "",
                                   "expected": True})
        self._record(result)
        return result

