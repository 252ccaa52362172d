"""Where one attempt runs: inline on the calling (main) thread, in the spawned process pool, or
in a helper interpreter. Each returns the same result dict as calls.execute_payload.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from collections.abc import Generator
from concurrent.futures import TimeoutError as FutureTimeout
from pathlib import Path
from typing import Any

from ..errors import CancelledError, NodeTimeoutError
from ..model.artifacts import Artifact, ArtifactKind
from ..model.capabilities import host_interpreter
from ..model.context import NodeCall, WorkflowContext
from ..model.vocabulary import NodeStatus
from .calls import error_record, invoke, normalise_outputs, process_cpu
from .capture import NodeLog
from .options import ProgressEvent
from .process_pool import ProcessLost
from .session import RunSession
from .stepping import executor_turns

POLL_S = 0.05
CANCEL_GRACE_S = 10.0
LOST_RUNS = 2  # runs of one attempt when its pool process dies under it
# Outputs that are JSON data only: a node producing nothing else gets its work folder created on
# demand (call.workdir.mkdir), which spares large graphs thousands of empty folders.
DATA_ONLY_KINDS = frozenset({ArtifactKind.ORDER_LINE, ArtifactKind.BBOX, ArtifactKind.MATERIAL_MAP,
                             ArtifactKind.MEDIA_ASSET, ArtifactKind.NOTIFICATION})


def host() -> dict[str, Any]:
    """Who runs an in-process node, for its record: the hosting Blender executable, else this Python."""
    return {"interpreter": host_interpreter(), "pid": os.getpid()}


def needs_workdir(definition: Any) -> bool:
    return any(port.kind not in DATA_ONLY_KINDS for port in definition.outputs)


def run_inline(session: RunSession, ctx: WorkflowContext, spec: Any, inputs: dict[str, list[Artifact]],
               workdir: Path, timeout_s: float | None, stepped: bool = False) -> Generator[None, None, dict[str, Any]]:
    """Call the executor in this process (this thread); timeouts and cancels are cooperative
    (check_cancelled/progress). `stepped`: the caller draws a UI on this thread, so an executor
    that steps (NodeCall.stepwise) takes one turn per step."""
    log = NodeLog()
    started, cpu = time.monotonic(), process_cpu()
    deadline = started + timeout_s if timeout_s else None
    call = NodeCall(node_id=spec.node_id, step=spec.step, inputs=inputs, workdir=workdir, context=ctx,
                    settings=spec.definition.settings_model.model_validate(spec.settings), log=log.write,
                    self_publish=spec.self_publish, deadline=deadline, stepped=stepped)

    def progress(fraction: float, message: str = "") -> None:
        session.emit(ProgressEvent(spec.node_id, spec.step, NodeStatus.RUNNING, float(fraction), message))
        call.check_cancelled()

    call.progress = progress
    try:
        if needs_workdir(spec.definition):
            workdir.mkdir(parents=True, exist_ok=True)
        raw = yield from executor_turns(invoke(session.registry.executor(spec.step), call, log), log)
        if deadline is not None and time.monotonic() > deadline:
            raise NodeTimeoutError(f"node '{spec.node_id}' ({spec.step}) took longer than its "
                                   f"timeout of {timeout_s} s")
        outputs = normalise_outputs(raw, spec.node_id, spec.step, spec.definition)
        return {"outputs": outputs, "error": None, "logs": log.lines, "cpu_s": process_cpu() - cpu, **host()}
    except BaseException as exc:  # noqa: BLE001 - recorded as the attempt's error
        if isinstance(exc, (KeyboardInterrupt, GeneratorExit)):
            raise
        return {"outputs": {}, "error": error_record(exc), "logs": log.lines, "cpu_s": process_cpu() - cpu,
                **host()}


def run_pooled(session: RunSession, payload: dict[str, Any], timeout_s: float | None) -> dict[str, Any]:
    """Submit to the process pool and wait, polling cancel and the deadline. When the pool
    process dies under the attempt (killed, crashed, out of memory), the pool replaces it and
    the attempt runs once more in a fresh one; a second loss fails the attempt."""
    lost: list[str] = []
    for _ in range(LOST_RUNS):
        try:
            result = _pooled_once(session, payload, timeout_s)
        except ProcessLost as exc:
            if session.cancelled() or len(lost) + 1 >= LOST_RUNS:
                failed = _failed(exc, payload)
                failed["logs"] = lost
                return failed
            lost.append(f"{exc}; running it again in a fresh pool process")
            session.emit(ProgressEvent(payload["node_id"], payload["step"], NodeStatus.RUNNING, 0.0, lost[-1]))
            continue
        result["logs"] = [*lost, *result.get("logs", [])]
        return result
    raise AssertionError("unreachable")


def _pooled_once(session: RunSession, payload: dict[str, Any], timeout_s: float | None) -> dict[str, Any]:
    pool = session.pool()
    future = pool.submit(payload)
    deadline = time.monotonic() + timeout_s if timeout_s else None
    flagged_at: float | None = None
    while True:
        try:
            return future.result(timeout=POLL_S)
        except FutureTimeout:
            pass
        except ProcessLost:
            raise
        except Exception as exc:  # noqa: BLE001 - the pipe to the pool process broke: the attempt failed
            return _failed(exc, payload)
        now = time.monotonic()
        if flagged_at is None and session.cancelled():
            flag = Path(payload["cancel_flag"])
            flag.parent.mkdir(parents=True, exist_ok=True)
            flag.touch()
            flagged_at = now
        late = deadline is not None and now > deadline + 1.0
        if late or (flagged_at is not None and now > flagged_at + CANCEL_GRACE_S):
            pool.kill(future)
            return _stopped(payload, "in the process pool", cancelled=not late, timeout_s=timeout_s)


def run_helper(session: RunSession, helper: str, payload: dict[str, Any], timeout_s: float | None) -> dict[str, Any]:
    """Run the attempt in another interpreter: JSON in on stdin, JSON out on stdout."""
    from .node_worker import RESULT_MARK

    project_root = str(Path(__file__).resolve().parents[2])
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([project_root, *payload.get("sys_path", []),
                                         env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    try:
        process = subprocess.Popen([helper, "-m", "engine.runtime.node_worker"], stdin=subprocess.PIPE,
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    except OSError as exc:
        return _failed(OSError(f"helper interpreter '{helper}' cannot start: {exc.strerror or exc}"), payload)
    deadline = time.monotonic() + timeout_s if timeout_s else None
    data: str | None = json.dumps(payload)
    while True:
        try:
            stdout, stderr = process.communicate(input=data, timeout=0.2)
            break
        except subprocess.TimeoutExpired:
            data = None
            if session.cancelled() or (deadline is not None and time.monotonic() > deadline):
                process.kill()
                process.communicate()
                return _stopped(payload, f"in helper '{helper}'", session.cancelled(), timeout_s)
    marker = stdout.rfind(RESULT_MARK)
    if marker < 0:
        tail = (stderr or stdout).strip().splitlines()[-5:]
        return _failed(RuntimeError(f"helper interpreter '{helper}' exited {process.returncode} without a "
                                    f"result: {' | '.join(tail)}"), payload)
    result: dict[str, Any] = json.loads(stdout[marker + len(RESULT_MARK):])
    result["interpreter"] = helper
    return result


def _stopped(payload: dict[str, Any], where: str, cancelled: bool, timeout_s: float | None) -> dict[str, Any]:
    """The result of an attempt the runtime had to kill: cancelled, or past its timeout."""
    name = f"node '{payload['node_id']}' ({payload['step']})"
    if cancelled:
        return _failed(CancelledError(f"{name} was stopped {where}: run cancelled"), payload)
    return _failed(NodeTimeoutError(f"{name} was stopped {where}: past its timeout of {timeout_s} s"), payload)


def _failed(exc: BaseException, payload: dict[str, Any]) -> dict[str, Any]:
    return {"outputs": {}, "error": error_record(exc), "logs": [], "interpreter": payload.get("interpreter")}
