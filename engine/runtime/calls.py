"""One attempt of one node as plain data (a payload), and running it wherever it lands.

The same payload runs inline, in a spawned pool process, or in a helper interpreter
(`python -m engine.runtime.node_worker`), so the three paths cannot drift apart.
"""

from __future__ import annotations

import importlib
import os
import sys
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..errors import HartomatError, NodeInputError
from ..model.artifacts import Artifact
from ..model.context import NodeCall, OrderLine, WorkflowContext
from ..model.vocabulary import Mode
from .capture import ROUTER, NodeLog

Outputs = dict[str, list[Artifact]]


def ref_of(obj: Any) -> str:
    """'module:qualname' of a function or class, so another process can import it."""
    return f"{obj.__module__}:{obj.__qualname__}"


def module_dir(obj: Any) -> str | None:
    """Folder to put on sys.path for objects outside an installed package (tests' nodes)."""
    module = sys.modules.get(obj.__module__)
    path = getattr(module, "__file__", None)
    if not path or "." in obj.__module__:
        return None
    return str(Path(path).parent)


def resolve_ref(ref: str) -> Any:
    module_name, _, qualname = ref.partition(":")
    target: Any = importlib.import_module(module_name)
    for part in qualname.split("."):
        target = getattr(target, part)
    return target


def error_record(exc: BaseException) -> dict[str, Any]:
    return {
        "type": type(exc).__name__,
        "message": str(exc) or type(exc).__name__,
        "traceback": "".join(traceback.format_exception(exc)),
        "expected": isinstance(exc, HartomatError),
    }


def build_context(snapshot: dict[str, Any], cancel: Callable[[], bool]) -> WorkflowContext:
    return WorkflowContext(
        order_line=OrderLine.model_validate(snapshot["order_line"]),
        run_dir=Path(snapshot["run_dir"]),
        mode=Mode(snapshot.get("mode", Mode.GRAPH)),
        authoritative=snapshot.get("authoritative", True),
        cache_dir=Path(snapshot["cache_dir"]) if snapshot.get("cache_dir") else None,
        capabilities=frozenset(snapshot.get("capabilities", ())),
        run_id=snapshot.get("run_id", ""),
        cancel_requested=cancel,
    )


def context_snapshot(ctx: WorkflowContext) -> dict[str, Any]:
    return {
        "order_line": ctx.order_line.model_dump(mode="json"),
        "run_dir": str(ctx.run_dir),
        "mode": ctx.mode,
        "authoritative": ctx.authoritative,
        "cache_dir": str(ctx.cache_dir) if ctx.cache_dir else None,
        "capabilities": sorted(ctx.capabilities),
        "run_id": ctx.run_id,
    }


def normalise_outputs(raw: Any, node_id: str, step: str, definition: Any) -> Outputs:
    """Executor results as port -> [Artifact], checked against the definition's output ports."""
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise NodeInputError(f"node '{node_id}' ({step}): executor returned {type(raw).__name__}, not a dict of ports")
    outputs: Outputs = {}
    for port_name, value in raw.items():
        port = definition.output(port_name) if definition is not None else None
        if definition is not None and port is None:
            raise NodeInputError(f"node '{node_id}' ({step}): executor returned unknown output '{port_name}'")
        items = value if isinstance(value, list) else [value]
        checked = []
        for item in items:
            artifact = item if isinstance(item, Artifact) else Artifact.model_validate(item)
            if port is not None and artifact.kind != port.kind:
                raise NodeInputError(f"node '{node_id}' ({step}): output '{port_name}' must be {port.kind}, "
                                     f"got {artifact.kind}")
            if port is not None and artifact.role is None and port.role:
                artifact = artifact.model_copy(update={"role": port.role})
            checked.append(artifact)
        outputs[port_name] = checked
    return outputs


def invoke(executor: Callable[..., Any], call: NodeCall, log: NodeLog) -> Any:
    """Call the executor with its output routed into `log` (and into the run's streams no more)."""
    with ROUTER.installed(), ROUTER.node(log):
        return executor(call)


def process_cpu() -> float:
    """CPU seconds of this process (every thread, so a Cycles render's threads count) and of its
    children that have ended (an encoder, a browser): what a node costs in machine time."""
    try:
        import resource  # POSIX only: on Windows a node's ended children are not counted
    except ImportError:
        return time.process_time()
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.process_time() + children.ru_utime + children.ru_stime


def exit_with_parent(parent_pid: int, poll_s: float = 1.0) -> None:
    """Pool-worker initializer: leave when the run's process is gone (killed with SIGKILL, say),
    instead of lingering as an orphan."""
    import threading

    def watch() -> None:
        while os.getppid() == parent_pid:
            time.sleep(poll_s)
        os._exit(1)

    threading.Thread(target=watch, name="hartomat-parent-watch", daemon=True).start()


def execute_payload(payload: dict[str, Any]) -> dict[str, Any]:
    """Run one attempt described by a payload in this process; never raises.

    Used by pool processes and the helper interpreter. Returns outputs (artifact dicts), logs
    and an error record.
    """
    started, cpu = time.time(), process_cpu()
    log = NodeLog()
    result: dict[str, Any] = {"interpreter": sys.executable, "pid": os.getpid()}
    try:
        for path in payload.get("sys_path", []):
            if path not in sys.path:
                sys.path.insert(0, path)
        executor, settings_model, definition = _resolve(payload)
        flag = str(payload.get("cancel_flag") or "")

        def cancelled() -> bool:
            return bool(flag) and os.path.exists(flag)

        ctx = build_context(payload["context"], cancelled)
        workdir = Path(payload["workdir"])
        workdir.mkdir(parents=True, exist_ok=True)
        remaining = payload.get("timeout_left")

        def progress(fraction: float, message: str = "") -> None:
            log.write(f"progress {fraction:.0%} {message}".rstrip())
            call.check_cancelled()

        call = NodeCall(
            node_id=payload["node_id"], step=payload["step"],
            settings=settings_model.model_validate(payload["settings"]),
            inputs={k: [Artifact.model_validate(a) for a in v] for k, v in payload["inputs"].items()},
            workdir=workdir, context=ctx, log=log.write,
            progress=progress,
            self_publish=payload.get("self_publish", False),
            deadline=time.monotonic() + remaining if remaining else None,
        )
        raw = invoke(executor, call, log)
        outputs = normalise_outputs(raw, call.node_id, call.step, definition)
        result["outputs"] = {k: [a.model_dump(mode="json") for a in v] for k, v in outputs.items()}
        result["error"] = None
    except BaseException as exc:  # noqa: BLE001 - reported to the parent as an error record
        result["outputs"] = {}
        result["error"] = error_record(exc)
    result["logs"] = log.lines
    result["duration"] = time.time() - started
    result["cpu_s"] = process_cpu() - cpu
    return result


def _resolve(payload: dict[str, Any]) -> tuple[Callable[..., Any], Any, Any]:
    from ..model.registry import REGISTRY

    definition = REGISTRY.get(payload["step"]) if payload["step"] in REGISTRY else None
    try:
        executor = resolve_ref(payload["executor"])
    except (ImportError, AttributeError):
        # the parent may see the engine under another package name (vendored in the add-on)
        if definition is None:
            raise
        executor = REGISTRY.executor(definition.key)
    if payload.get("settings_model"):
        try:
            return executor, resolve_ref(payload["settings_model"]), definition
        except (ImportError, AttributeError):
            if definition is None:
                raise
    if definition is None:
        raise HartomatError(f"step '{payload['step']}' is unknown in {sys.executable}")
    return executor, definition.settings_model, definition

