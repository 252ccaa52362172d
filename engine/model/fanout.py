"""Fan-out: which of a line's nodes the farm splits over several jobs, and into which parts.

A node splits where its definition declares a `FanOut` (data in the registry, not a preset rule):
a frame range (`blender_turntable`: chunks of `chunk_size` frames, each its own job through
`chunk_start`/`chunk_end`) or views (every `blender_still` with `split_job` on, one job each).
Each part job runs the graph up to its target node; one assemble job then runs the rest of the
graph with the target's outputs built from the parts. Pure: no bpy, no server.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .node_definition import FanOut
from .overrides import overrides_for
from .registry import REGISTRY, NodeDefinitionRegistry
from .workflow import Workflow


class FanOutError(ValueError):
    """A split the graph cannot do; `field` is the override key at fault (node.setting)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field


@dataclass(frozen=True)
class PartJob:
    """One part of a split line: the node it renders and the settings that make it a part."""

    label: str
    node_id: str
    overrides: dict[str, dict[str, Any]] = field(default_factory=dict)


@dataclass(frozen=True)
class FanOutPlan:
    kind: str
    nodes: tuple[str, ...]
    parts: tuple[PartJob, ...]

    def describe(self) -> dict[str, Any]:
        return {"kind": self.kind, "nodes": list(self.nodes)}


def node_settings(workflow: Workflow, node_id: str, overrides: dict[str, dict[str, Any]],
                  registry: NodeDefinitionRegistry = REGISTRY) -> Any:
    """A node's settings model as a run would resolve them (params, then overrides)."""
    node = workflow.node(node_id)
    model = registry.get(node.step).settings_model
    return model.model_validate({**node.params, **overrides_for(node.id, node.step, overrides)})


def _declared(workflow: Workflow, registry: NodeDefinitionRegistry) -> list[tuple[str, FanOut]]:
    found = []
    for node in workflow.nodes:
        if node.step in registry and registry.get(node.step).fan_out is not None:
            found.append((node.id, registry.get(node.step).fan_out))
    return found  # type: ignore[return-value]


def _frame_parts(workflow: Workflow, node_id: str, spec: FanOut, overrides: dict[str, dict[str, Any]],
                 registry: NodeDefinitionRegistry) -> list[PartJob]:
    node = workflow.node(node_id)
    asked = overrides_for(node.id, node.step, overrides)
    settings = node_settings(workflow, node_id, overrides, registry)
    size, count = getattr(settings, spec.size), getattr(settings, spec.count)
    where = f"{node_id}.{spec.size}"
    if spec.size in asked and size < 1:
        raise FanOutError(where, f"{size} frames per job: must be at least 1 (leave it unset for one job)")
    if size < 1:
        return []
    if size > count:
        raise FanOutError(where, f"{size} frames per job is more than the {count} frames of "
                                 f"{node_id}.{spec.count}")
    if getattr(settings, spec.start) or getattr(settings, spec.end):
        raise FanOutError(where, f"a node that renders a chunk itself ({spec.start}/{spec.end} set) "
                                 "cannot be split again")
    return [PartJob(label=f"frames {start}-{min(start + size, count) - 1}", node_id=node_id,
                    overrides={node_id: {spec.start: start, spec.end: min(start + size, count)}})
            for start in range(0, count, size)]


def plan_fan_out(workflow: Workflow, overrides: dict[str, dict[str, Any]],
                 registry: NodeDefinitionRegistry = REGISTRY) -> FanOutPlan | None:
    """The parts of a line, or None when it runs as one job. Raises FanOutError on a bad split."""
    frames: list[PartJob] = []
    views: list[PartJob] = []
    for node_id, spec in _declared(workflow, registry):
        if spec.kind == "frames":
            frames.extend(_frame_parts(workflow, node_id, spec, overrides, registry))
        elif getattr(node_settings(workflow, node_id, overrides, registry), spec.switch):
            views.append(PartJob(label=f"view {node_id}", node_id=node_id))
    split_nodes = sorted({p.node_id for p in frames})
    if len(split_nodes) > 1:
        raise FanOutError(f"{split_nodes[1]}.chunk_size", "only one node of a line can be split into chunks")
    if frames and views:
        raise FanOutError(f"{views[0].node_id}.split_job", "a line splits into frame chunks or views, not both")
    if frames:
        return FanOutPlan(kind="frames", nodes=tuple(split_nodes), parts=tuple(frames))
    if len(views) >= 2:
        return FanOutPlan(kind="views", nodes=tuple(p.node_id for p in views), parts=tuple(views))
    return None


def _reached(workflow: Workflow, start: list[str], forward: bool) -> list[str]:
    """Steps of `start` and of every node downstream (forward) or upstream of it, in graph order."""
    reached, stack = set(start), list(start)
    while stack:
        current = stack.pop()
        for edge in workflow.edges:
            near, far = (edge.source, edge.target) if forward else (edge.target, edge.source)
            if near == current and far not in reached:
                reached.add(far)
                stack.append(far)
    return [n.step for n in workflow.nodes if n.id in reached]


def downstream_steps(workflow: Workflow, nodes: tuple[str, ...] | list[str]) -> list[str]:
    """Steps of `nodes` and everything downstream of them: what an assemble job runs or builds."""
    return _reached(workflow, list(nodes), forward=True)


def upstream_steps(workflow: Workflow, node_id: str) -> list[str]:
    """Steps of `node_id` and its ancestors."""
    return _reached(workflow, [node_id], forward=False)


def feeding_nodes(workflow: Workflow, nodes: tuple[str, ...] | list[str]) -> list[str]:
    """The nodes that feed `nodes` directly: what a prep job runs (with their ancestors), so the
    part jobs find those outputs in the farm cache."""
    return sorted({e.source for e in workflow.edges if e.target in nodes} - set(nodes))
