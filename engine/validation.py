"""Graph validation: every problem at once, each pointing at the node, port or field at fault."""

from __future__ import annotations

import json
from collections import defaultdict, deque
from typing import Any, Literal

from pydantic import BaseModel, ValidationError

from .node_definition import NodeDefinition
from .registry import REGISTRY, NodeDefinitionRegistry
from .workflow import Workflow, WorkflowNode

Severity = Literal["error", "warning"]


class Problem(BaseModel):
    """One thing wrong with a graph, typed so an editor can draw it on the node and field."""

    code: str
    message: str
    node_id: str | None = None
    port: str | None = None
    field: str | None = None
    value: Any = None
    edge_index: int | None = None
    severity: Severity = "error"

    def line(self) -> str:
        where = [f"node '{self.node_id}'"] if self.node_id else []
        if self.port:
            where.append(f"port '{self.port}'")
        if self.field:
            where.append(f"field '{self.field}'")
        if self.edge_index is not None:
            where.append(f"edge #{self.edge_index}")
        place = ", ".join(where) or "workflow"
        return f"{self.severity}: {self.code}: {place}: {self.message}"


class ValidationReport(BaseModel):
    problems: list[Problem]

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "error"]

    @property
    def ok(self) -> bool:
        return not self.errors

    def by_node(self) -> dict[str, list[Problem]]:
        grouped: dict[str, list[Problem]] = defaultdict(list)
        for problem in self.problems:
            grouped[problem.node_id or ""].append(problem)
        return dict(grouped)


def _short(value: Any, limit: int = 60) -> str:
    text = json.dumps(value, default=str)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def settings_problems(node: WorkflowNode, definition: NodeDefinition) -> list[Problem]:
    """Each invalid setting, with the field, the value given and what is allowed."""
    try:
        definition.settings_model.model_validate(node.params)
    except ValidationError as exc:
        problems = []
        known = list(definition.settings_model.model_fields)
        for err in exc.errors():
            field = ".".join(str(p) for p in err["loc"])
            if err["type"] == "extra_forbidden":
                message = f"unknown setting '{field}' for step '{definition.key}'; known settings: {', '.join(known)}"
            else:
                message = f"value {_short(err.get('input'))} is not allowed: {err['msg']}"
            problems.append(Problem(code="invalid_setting", node_id=node.id, field=field,
                                    value=err.get("input"), message=message))
        return problems
    return []


def _node_problems(workflow: Workflow, registry: NodeDefinitionRegistry) -> tuple[dict[str, WorkflowNode], list[Problem]]:
    nodes: dict[str, WorkflowNode] = {}
    problems: list[Problem] = []
    for node in workflow.nodes:
        if node.id in nodes:
            problems.append(Problem(code="duplicate_node_id", node_id=node.id,
                                    message=f"node id '{node.id}' is used more than once; ids must be unique"))
            continue
        nodes[node.id] = node
        if node.step not in registry:
            hint = registry.closest(node.step)
            suggestion = f"; did you mean '{hint}'?" if hint else ""
            problems.append(Problem(code="unknown_step", node_id=node.id, value=node.step,
                                    message=f"unknown step '{node.step}'{suggestion}"))
            continue
        definition = registry.get(node.step)
        problems.extend(settings_problems(node, definition))
        if workflow.family not in definition.workflow_families:
            problems.append(Problem(
                code="family_mismatch", node_id=node.id, severity="warning",
                message=f"step '{node.step}' is meant for {', '.join(definition.workflow_families)} workflows, "
                        f"not '{workflow.family}'"))
    return nodes, problems


def _edge_problems(workflow: Workflow, nodes: dict[str, WorkflowNode],
                   registry: NodeDefinitionRegistry) -> tuple[list[tuple[str, str]], list[Problem]]:
    problems: list[Problem] = []
    links: list[tuple[str, str]] = []
    fan_in: dict[tuple[str, str], list[int]] = defaultdict(list)
    for index, edge in enumerate(workflow.edges):
        ok = True
        source = nodes.get(edge.source)
        target = nodes.get(edge.target)
        if source is None:
            problems.append(Problem(code="unknown_source_node", node_id=edge.target if target else None,
                                    edge_index=index, value=edge.source,
                                    message=f"edge comes from node '{edge.source}', which is not in the workflow"))
            ok = False
        if target is None:
            problems.append(Problem(code="unknown_target_node", node_id=edge.source if source else None,
                                    edge_index=index, value=edge.target,
                                    message=f"edge goes to node '{edge.target}', which is not in the workflow"))
            ok = False
        if edge.source == edge.target:
            problems.append(Problem(code="self_loop", node_id=edge.source, edge_index=index,
                                    port=edge.target_input,
                                    message=f"node '{edge.source}' feeds its own input '{edge.target_input}'"))
            continue
        if not ok or source is None or target is None:
            continue
        links.append((edge.source, edge.target))
        out_port = in_port = None
        if source.step in registry:
            src_def = registry.get(source.step)
            out_port = src_def.output(edge.source_output)
            if out_port is None:
                names = ", ".join(p.name for p in src_def.outputs) or "none"
                problems.append(Problem(code="unknown_output_port", node_id=source.id, port=edge.source_output,
                                        edge_index=index,
                                        message=f"step '{source.step}' has no output '{edge.source_output}'; outputs: {names}"))
        if target.step in registry:
            tgt_def = registry.get(target.step)
            in_port = tgt_def.input(edge.target_input)
            if in_port is None:
                names = ", ".join(p.name for p in tgt_def.inputs) or "none"
                problems.append(Problem(code="unknown_input_port", node_id=target.id, port=edge.target_input,
                                        edge_index=index,
                                        message=f"step '{target.step}' has no input '{edge.target_input}'; inputs: {names}"))
            else:
                fan_in[(target.id, in_port.name)].append(index)
        if out_port and in_port and out_port.kind not in in_port.kinds:
            accepted = " or ".join(str(k) for k in in_port.kinds)
            problems.append(Problem(
                code="kind_mismatch", node_id=target.id, port=in_port.name, edge_index=index,
                message=f"'{source.id}.{out_port.name}' gives {out_port.kind} but input '{in_port.name}' "
                        f"takes {accepted}"))
    for (node_id, port_name), indices in fan_in.items():
        port = registry.get(nodes[node_id].step).input(port_name)
        if port is not None and not port.multiple and len(indices) > 1:
            sources = ", ".join(workflow.edges[i].source for i in indices)
            problems.append(Problem(code="multiple_edges_into_single_input", node_id=node_id, port=port_name,
                                    edge_index=indices[1],
                                    message=f"input '{port_name}' takes one edge but has {len(indices)} (from {sources})"))
    connected = set(fan_in)
    for node in nodes.values():
        if node.step not in registry:
            continue
        for port in registry.get(node.step).inputs:
            if port.required and (node.id, port.name) not in connected:
                kinds = " or ".join(str(k) for k in port.kinds)
                problems.append(Problem(code="required_input_unconnected", node_id=node.id, port=port.name,
                                        message=f"required input '{port.name}' ({kinds}) is not connected"))
    return links, problems


def find_cycle_nodes(node_ids: list[str], links: list[tuple[str, str]]) -> list[list[str]]:
    """Cycles as ordered node lists, found in linear time (Kahn, then a walk of what is left)."""
    successors: dict[str, list[str]] = defaultdict(list)
    indegree = dict.fromkeys(node_ids, 0)
    for source, target in links:
        successors[source].append(target)
        indegree[target] += 1
    queue = deque(n for n, d in indegree.items() if d == 0)
    while queue:
        current = queue.popleft()
        for nxt in successors[current]:
            indegree[nxt] -= 1
            if indegree[nxt] == 0:
                queue.append(nxt)
    remaining = {n for n, d in indegree.items() if d > 0}
    cycles: list[list[str]] = []
    seen: set[str] = set()
    for start in node_ids:
        if start not in remaining or start in seen:
            continue
        path: list[str] = []
        position: dict[str, int] = {}
        current = start
        while current not in position and current not in seen:
            position[current] = len(path)
            path.append(current)
            current = next(n for n in successors[current] if n in remaining)
        if current in position:
            cycles.append(path[position[current]:])
        seen.update(path)
    return cycles


def validate_workflow(workflow: Workflow, registry: NodeDefinitionRegistry = REGISTRY) -> ValidationReport:
    nodes, problems = _node_problems(workflow, registry)
    links, edge_problems = _edge_problems(workflow, nodes, registry)
    problems.extend(edge_problems)
    for cycle in find_cycle_nodes(list(nodes), links):
        loop = " -> ".join(cycle + [cycle[0]])
        problems.append(Problem(code="cycle", node_id=cycle[0], value=cycle,
                                message=f"the graph has a cycle: {loop}"))
    return ValidationReport(problems=problems)
