"""Composite bridge nodes: a legacy chain of steps run as one node, for safe migration.

The wrapped steps' executors run in order, each with its sub-settings (the bridge's settings
hold one settings object per wrapped step) and in its own sub-folder; artifacts flow between
them by port name, a later step's output replacing an earlier one of the same name.
"""

from __future__ import annotations

from typing import Any

from ..errors import NodeInputError
from ..model.artifacts import Artifact
from ..model.context import NodeCall


def _registry(call: NodeCall) -> Any:
    registry = call.context.extras.get("registry")
    if registry is None:
        from ..model.registry import REGISTRY

        registry = REGISTRY
    return registry


def run_chain(call: NodeCall) -> dict[str, list[Artifact]]:
    registry = _registry(call)
    definition = registry.get(call.step)
    pool: dict[str, list[Artifact]] = {k: list(v) for k, v in call.inputs.items()}
    steps = definition.composite_of
    for position, step in enumerate(steps):
        call.check_cancelled()
        call.progress(position / len(steps), f"{step}")
        inner = registry.get(step)
        inputs = {port.name: pool[port.name] for port in inner.inputs if pool.get(port.name)}
        missing = [p.name for p in inner.inputs if p.required and p.name not in inputs]
        if missing:
            raise NodeInputError(f"node '{call.node_id}' ({call.step}): wrapped step '{step}' has no "
                                 f"{', '.join(missing)}")
        sub = NodeCall(node_id=f"{call.node_id}/{step}", step=step, settings=getattr(call.settings, step),
                       inputs=inputs, workdir=call.workdir / step, context=call.context, log=call.log,
                       progress=call.progress, self_publish=False, deadline=call.deadline)
        sub.workdir.mkdir(parents=True, exist_ok=True)
        call.log(f"bridge step {position + 1}/{len(steps)}: {step}")
        for port, value in (registry.executor(step)(sub) or {}).items():
            pool[port] = value if isinstance(value, list) else [value]
    return {port.name: pool[port.name] for port in definition.outputs if pool.get(port.name)}
