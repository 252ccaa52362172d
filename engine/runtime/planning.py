"""Planning: a deterministic topological order, resolved and validated settings, cache keys and
where each node will run. A plan has no side effects, so a dry run is just a printed plan.
"""

from __future__ import annotations

import heapq
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from ..errors import HartomatError
from ..model.capabilities import (
    DENOISE_UNKNOWN,
    denoiser_problem,
    detect_capabilities,
    inside_blender_executable,
    missing_capabilities,
)
from ..model.context import OrderLine
from ..model.node_definition import NodeDefinition
from ..model.overrides import merge_overrides, overrides_for, resolve_settings, unknown_override_keys
from ..model.validation import validate_workflow
from ..model.vocabulary import Capability
from ..model.workflow import NodePolicy, Workflow, WorkflowEdge
from .cache_keys import NEVER_CACHED, Fingerprints, node_key, order_line_fingerprint
from .options import RunOptions


class PlanError(HartomatError):
    """The workflow cannot run as given; the message lists every problem with node and field."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("workflow cannot run:\n  " + "\n  ".join(problems))


@dataclass
class PlannedNode:
    """One node as it will run."""

    node_id: str
    step: str
    index: int
    definition: NodeDefinition
    settings: dict[str, Any]
    policy: NodePolicy
    inputs: list[WorkflowEdge]
    dependants: list[str] = field(default_factory=list)
    cache_key: str = ""
    cacheable: bool = True
    cache_hit: bool = False
    where: str = "inline"  # inline | thread | process | helper | unavailable
    missing: list[str] = field(default_factory=list)
    self_publish: bool = False

    def describe(self) -> dict[str, Any]:
        return {
            "node_id": self.node_id,
            "step": self.step,
            "settings": self.settings,
            "policy": self.policy.model_dump(),
            "cache_key": self.cache_key,
            "cacheable": self.cacheable,
            "cache_hit": self.cache_hit,
            "where": self.where,
            "capabilities": list(self.definition.capabilities),
            "missing_capabilities": self.missing,
            "self_publish": self.self_publish,
            "depends_on": sorted({e.source for e in self.inputs}),
        }


@dataclass
class Plan:
    workflow: Workflow
    order_line: OrderLine
    nodes: list[PlannedNode]
    capabilities: frozenset[str]
    warnings: list[str] = field(default_factory=list)

    @property
    def order(self) -> list[str]:
        return [n.node_id for n in self.nodes]

    def by_id(self) -> dict[str, PlannedNode]:
        return {n.node_id: n for n in self.nodes}

    @property
    def capabilities_needed(self) -> list[str]:
        return sorted({c for n in self.nodes for c in n.definition.capabilities})

    def describe(self) -> dict[str, Any]:
        return {
            "workflow": self.workflow.name,
            "order_line": self.order_line.model_dump(mode="json"),
            "order": self.order,
            "capabilities_needed": self.capabilities_needed,
            "capabilities_available": sorted(self.capabilities),
            "cache_hits": [n.node_id for n in self.nodes if n.cache_hit],
            "warnings": self.warnings,
            "nodes": [n.describe() for n in self.nodes],
        }


def topological_order(node_ids: list[str], edges: list[WorkflowEdge]) -> list[str]:
    """Kahn's algorithm; among ready nodes the one earliest in the JSON goes first."""
    position = {node_id: i for i, node_id in enumerate(node_ids)}
    indegree = dict.fromkeys(node_ids, 0)
    successors: dict[str, list[str]] = defaultdict(list)
    for edge in edges:
        successors[edge.source].append(edge.target)
        indegree[edge.target] += 1
    ready = [position[n] for n, d in indegree.items() if d == 0]
    heapq.heapify(ready)
    order = []
    while ready:
        current = node_ids[heapq.heappop(ready)]
        order.append(current)
        for nxt in successors[current]:
            indegree[nxt] -= 1
            if indegree[nxt] == 0:
                heapq.heappush(ready, position[nxt])
    return order


def merged_overrides(order_line: OrderLine, options: RunOptions, node_id: str, step: str) -> dict[str, Any]:
    """The invocation's overrides win over the order line's."""
    return overrides_for(node_id, step, order_line.overrides, options.overrides)


def placement(definition: NodeDefinition, capabilities: frozenset[str], options: RunOptions) -> tuple[str, list[str]]:
    """Where a node runs (inline, thread, process, helper) or 'unavailable', and the capabilities
    missing. Inside a Blender executable every node runs inline: the whole graph in one Blender process."""
    missing = missing_capabilities(definition.capabilities, capabilities)
    if missing:
        return ("helper" if options.helper_python else "unavailable"), missing
    if options.ui_thread:
        return ui_placement(definition, options), []
    if definition.execution == "process" and options.max_workers != 0 and not inside_blender_executable():
        return "process", []
    return "inline", []


def ui_placement(definition: NodeDefinition, options: RunOptions) -> str:
    """With a UI on the calling thread: bpy work stays on it (bpy is not thread-safe), CAD work goes
    to the helper process (OCP holds the GIL for seconds), the rest to worker threads."""
    if definition.execution == "main_thread":
        return "inline"
    if definition.execution == "process" and options.helper_python:
        return "helper"
    return "thread"


def _mark_self_publishing(nodes: list[PlannedNode]) -> None:
    """A render node publishes by itself only when no output_save is downstream of it."""
    by_id = {n.node_id: n for n in nodes}
    feeds_save: dict[str, bool] = {}
    for node in reversed(nodes):
        feeds_save[node.node_id] = any(
            by_id[d].step == "output_save" or feeds_save[d] for d in node.dependants
        )
    for node in nodes:
        node.self_publish = (node.definition.is_render or node.definition.self_publishes) and not feeds_save[
            node.node_id]


def plan_workflow(workflow: Workflow, order_line: OrderLine, options: RunOptions | None = None,
                  cache: Any = None) -> Plan:
    """The dry run: refuses an invalid graph, otherwise orders, resolves and keys every node."""
    options = options or RunOptions()
    registry = options.registry
    report = validate_workflow(workflow, registry)
    if not report.ok:
        raise PlanError([f"{workflow.name}: {p.line()}" for p in report.errors])
    problems = unknown_override_keys(workflow, registry, merge_overrides(order_line.overrides, options.overrides))
    capabilities = options.capabilities if options.capabilities is not None else detect_capabilities()
    incoming: dict[str, list[WorkflowEdge]] = defaultdict(list)
    outgoing: dict[str, list[str]] = defaultdict(list)
    for edge in workflow.edges:
        incoming[edge.target].append(edge)
        if edge.target not in outgoing[edge.source]:
            outgoing[edge.source].append(edge.target)
    order = topological_order([n.id for n in workflow.nodes], workflow.edges)
    prints = Fingerprints()
    root = order_line_fingerprint(order_line, prints)
    planned: list[PlannedNode] = []
    keys: dict[str, str] = {}
    by_id = {n.id: n for n in workflow.nodes}
    for index, node_id in enumerate(order):
        node = by_id[node_id]
        definition = registry.get(node.step)
        settings, errors = resolve_settings(definition, node.id, node.params,
                                            merged_overrides(order_line, options, node.id, node.step),
                                            options.path_roots)
        problems.extend(errors)
        policy = node.policy or NodePolicy()
        upstream = [(e.target_input, keys[e.source], e.source_output) for e in incoming[node_id]]
        keys[node_id] = node_key(node.step, definition.version, settings, upstream,
                                 prints.of_settings(settings), root)
        where, missing = placement(definition, capabilities, options)
        planned.append(PlannedNode(
            node_id=node_id, step=node.step, index=index, definition=definition, settings=settings,
            policy=policy, inputs=incoming[node_id], dependants=outgoing[node_id], cache_key=keys[node_id],
            cacheable=options.use_cache and policy.cache and node.step not in NEVER_CACHED,
            where=where, missing=missing,
        ))
    if problems:
        raise PlanError(problems)
    _mark_self_publishing(planned)
    if cache is not None:
        for item in planned:
            item.cache_hit = item.cacheable and cache.contains(item.cache_key, alias=True)
    return Plan(workflow=workflow, order_line=order_line, nodes=planned, capabilities=capabilities,
                warnings=[f"{workflow.name}: {p.line()}" for p in report.problems if p.severity == "warning"]
                + undenoised_warnings(planned, capabilities))


def undenoised_warnings(planned: list[PlannedNode], capabilities: frozenset[str]) -> list[str]:
    """Render nodes here asking for denoising in a Blender whose Cycles has no denoiser (known
    only once bpy is loaded): said before the run, not found in a grainy still after it."""
    if Capability.BPY not in capabilities or Capability.DENOISE in capabilities:
        return []
    why = denoiser_problem()
    if why is None or why == DENOISE_UNKNOWN:
        return []
    return [f"node '{n.node_id}' ({n.step}) asks for denoising, but {why}" for n in planned
            if n.definition.is_render and n.settings.get("denoise") and n.where in ("inline", "thread", "process")]
