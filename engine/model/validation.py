"""Graph validation: every problem at once, each pointing at the node, port or field at fault."""

from __future__ import annotations

import json
from collections import defaultdict, deque
from typing import Any, Literal

from pydantic import BaseModel, ValidationError

from .node_definition import NodeDefinition, Port
from .registry import REGISTRY, NodeDefinitionRegistry
from .workflow import Workflow, WorkflowEdge, WorkflowNode, gc_paused

Severity = Literal["error", "warning"]

PROBLEM_CODES: dict[str, str] = {
    "duplicate_node_id": "two nodes share an id",
    "unknown_step": "a node names a step the registry does not have",
    "invalid_setting": "a setting has a wrong type, is out of bounds or is unknown",
    "unknown_source_node": "an edge comes from a node that is not in the graph",
    "unknown_target_node": "an edge goes to a node that is not in the graph",
    "unknown_output_port": "an edge leaves from an output the step does not have",
    "unknown_input_port": "an edge arrives at an input the step does not have",
    "kind_mismatch": "an edge carries an artifact kind the input does not take",
    "self_loop": "a node feeds itself",
    "cycle": "nodes feed each other in a loop",
    "required_input_unconnected": "a required input has no edge",
    "multiple_edges_into_single_input": "an input that takes one edge has several",
}
WARNING_CODES: dict[str, str] = {"family_mismatch": "a step is not meant for the workflow's family"}


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


PATTERN_WORDS = {  # the settings' string patterns, as a person would say them
    r"^(https?://.+)?$": "an http:// or https:// URL, or empty",
    r"^[A-Za-z_][A-Za-z0-9_]{0,127}$": "a variable name: letters, digits and _, not starting with a digit",
    r"^#[0-9a-fA-F]{6}$": "a colour written #rrggbb",
    r"^(#[0-9a-fA-F]{6})?$": "a colour written #rrggbb, or empty",
}


def _not_allowed(err: Any, definition: NodeDefinition, field: str) -> str:
    """Why a value is refused, in words (a pattern is named by what it means, not as a regex)."""
    if err["type"] == "string_pattern_mismatch":
        pattern = str((err.get("ctx") or {}).get("pattern", ""))
        info = definition.settings_model.model_fields.get(field)
        expected = PATTERN_WORDS.get(pattern) or (info.description if info is not None else None) or "another form"
        return f"value {_short(err.get('input'))} is not allowed: expected {expected}"
    return f"value {_short(err.get('input'))} is not allowed: {err['msg']}"


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
            elif err["type"] == "missing":
                message = f"setting '{field}' is required but missing"
            else:
                message = _not_allowed(err, definition, field)
            problems.append(Problem(code="invalid_setting", node_id=node.id, field=field,
                                    value=None if err["type"] == "missing" else err.get("input"),
                                    message=message))
        return problems
    return []


def _unknown_step_problem(node: WorkflowNode, hint: str | None) -> Problem:
    suggestion = f"; did you mean '{hint}'?" if hint else ""
    return Problem(code="unknown_step", node_id=node.id, field="step", value=node.step,
                   message=f"unknown step '{node.step}'{suggestion}")


def _node_problems(workflow: Workflow, registry: NodeDefinitionRegistry) -> tuple[dict[str, WorkflowNode], list[Problem]]:
    nodes: dict[str, WorkflowNode] = {}
    problems: list[Problem] = []
    hints: dict[str, str | None] = {}
    for node in workflow.nodes:
        if node.id in nodes:
            problems.append(Problem(code="duplicate_node_id", node_id=node.id, field="id",
                                    message=f"node id '{node.id}' is used more than once; ids must be unique"))
            continue
        nodes[node.id] = node
        if node.step not in registry:
            if node.step not in hints:
                hints[node.step] = registry.closest(node.step)
            problems.append(_unknown_step_problem(node, hints[node.step]))
            continue
        definition = registry.get(node.step)
        problems.extend(settings_problems(node, definition))
        if workflow.family not in definition.workflow_families:
            problems.append(Problem(
                code="family_mismatch", node_id=node.id, severity="warning",
                message=f"step '{node.step}' is meant for {', '.join(definition.workflow_families)} workflows, "
                        f"not '{workflow.family}'"))
    return nodes, problems


class _EdgeCheck:
    """Walks the edges once, collecting problems, the links between known nodes and the fan-in."""

    def __init__(self, workflow: Workflow, nodes: dict[str, WorkflowNode], registry: NodeDefinitionRegistry):
        self.workflow, self.nodes, self.registry = workflow, nodes, registry
        self.problems: list[Problem] = []
        self.links: list[tuple[str, str]] = []
        self.link_ports: dict[tuple[str, str], str] = {}
        self.fan_in: dict[tuple[str, str], list[int]] = defaultdict(list)
        self._ports: dict[str, tuple[dict[str, Port], dict[str, Port]]] = {}

    def definition(self, node: WorkflowNode | None) -> NodeDefinition | None:
        return self.registry.get(node.step) if node is not None and node.step in self.registry else None

    def ports(self, definition: NodeDefinition) -> tuple[dict[str, Port], dict[str, Port]]:
        """Inputs and outputs of a step by name, built once per step rather than once per edge."""
        if definition.key not in self._ports:
            self._ports[definition.key] = ({p.name: p for p in definition.inputs},
                                           {p.name: p for p in definition.outputs})
        return self._ports[definition.key]

    def run(self) -> _EdgeCheck:
        for index, edge in enumerate(self.workflow.edges):
            self.check_edge(index, edge)
        self.check_fan_in()
        self.check_unconnected()
        return self

    def check_edge(self, index: int, edge: WorkflowEdge) -> None:
        source, target = self.nodes.get(edge.source), self.nodes.get(edge.target)
        if source is None:
            self.problems.append(Problem(
                code="unknown_source_node", node_id=edge.target if target else None, edge_index=index,
                port=edge.target_input if target else None, value=edge.source,
                message=f"edge comes from node '{edge.source}', which is not in the workflow"))
        if target is None:
            self.problems.append(Problem(
                code="unknown_target_node", node_id=edge.source if source else None, edge_index=index,
                port=edge.source_output if source else None, value=edge.target,
                message=f"edge goes to node '{edge.target}', which is not in the workflow"))
        if edge.source == edge.target:
            self.problems.append(Problem(code="self_loop", node_id=edge.source, edge_index=index,
                                         port=edge.target_input,
                                         message=f"node '{edge.source}' feeds its own input '{edge.target_input}'"))
        out_port = self.output_port(index, edge, source)
        in_port = self.input_port(index, edge, target)
        if source is not None and target is not None and source is not target:
            self.links.append((source.id, target.id))
            self.link_ports.setdefault((source.id, target.id), edge.target_input)
        if out_port and in_port and out_port.kind not in in_port.kinds:
            accepted = " or ".join(str(k) for k in in_port.kinds)
            self.problems.append(Problem(
                code="kind_mismatch", node_id=edge.target, port=in_port.name, edge_index=index,
                value=str(out_port.kind),
                message=f"'{edge.source}.{out_port.name}' gives {out_port.kind} but input '{in_port.name}' "
                        f"takes {accepted}"))

    def output_port(self, index: int, edge: WorkflowEdge, source: WorkflowNode | None) -> Port | None:
        definition = self.definition(source)
        if definition is None:
            return None
        port = self.ports(definition)[1].get(edge.source_output)
        if port is None:
            names = ", ".join(p.name for p in definition.outputs) or "none"
            self.problems.append(Problem(
                code="unknown_output_port", node_id=edge.source, port=edge.source_output, edge_index=index,
                message=f"step '{definition.key}' has no output '{edge.source_output}'; outputs: {names}"))
        return port

    def input_port(self, index: int, edge: WorkflowEdge, target: WorkflowNode | None) -> Port | None:
        definition = self.definition(target)
        if definition is None:
            return None
        port = self.ports(definition)[0].get(edge.target_input)
        if port is None:
            names = ", ".join(p.name for p in definition.inputs) or "none"
            self.problems.append(Problem(
                code="unknown_input_port", node_id=edge.target, port=edge.target_input, edge_index=index,
                message=f"step '{definition.key}' has no input '{edge.target_input}'; inputs: {names}"))
        else:
            self.fan_in[(edge.target, port.name)].append(index)
        return port

    def check_fan_in(self) -> None:
        for (node_id, port_name), indices in self.fan_in.items():
            definition = self.definition(self.nodes[node_id])
            port = self.ports(definition)[0][port_name] if definition else None
            if port is not None and not port.multiple and len(indices) > 1:
                sources = ", ".join(self.workflow.edges[i].source for i in indices)
                self.problems.append(Problem(
                    code="multiple_edges_into_single_input", node_id=node_id, port=port_name,
                    edge_index=indices[1],
                    message=f"input '{port_name}' takes one edge but has {len(indices)} (from {sources})"))

    def check_unconnected(self) -> None:
        for node in self.nodes.values():
            definition = self.definition(node)
            for port in definition.inputs if definition else ():
                if port.required and (node.id, port.name) not in self.fan_in:
                    kinds = " or ".join(str(k) for k in port.kinds)
                    takes = "" if kinds == port.name else f" (takes {kinds})"  # never "'bbox' (bbox)"
                    self.problems.append(Problem(
                        code="required_input_unconnected", node_id=node.id, port=port.name,
                        message=f"required input '{port.name}'{takes} is not connected"))


def find_cycle_nodes(node_ids: list[str], links: list[tuple[str, str]]) -> list[list[str]]:
    """Cycles as ordered node lists, found in linear time.

    Kahn's algorithm removes every node not downstream of a cycle. Every node left has a
    predecessor that is also left, so walking predecessors from any of them must close a loop.
    """
    successors: dict[str, list[str]] = defaultdict(list)
    predecessors: dict[str, list[str]] = defaultdict(list)
    indegree = dict.fromkeys(node_ids, 0)
    for source, target in links:
        successors[source].append(target)
        predecessors[target].append(source)
        indegree[target] += 1
    queue = deque(n for n, d in indegree.items() if d == 0)
    while queue:
        current = queue.popleft()
        for nxt in successors[current]:
            indegree[nxt] -= 1
            if indegree[nxt] == 0:
                queue.append(nxt)
    remaining = {n for n, d in indegree.items() if d > 0}
    order = {n: i for i, n in enumerate(node_ids)}
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
            current = next(n for n in predecessors[current] if n in remaining)
        if current in position:
            cycle = list(reversed(path[position[current]:]))
            first = min(range(len(cycle)), key=lambda i: order[cycle[i]])
            cycles.append(cycle[first:] + cycle[:first])
        seen.update(path)
    return cycles


def validate_workflow(workflow: Workflow, registry: NodeDefinitionRegistry = REGISTRY) -> ValidationReport:
    """Every problem of the graph at once: nodes and settings, edges and ports, then cycles."""
    with gc_paused():
        nodes, problems = _node_problems(workflow, registry)
        edges = _EdgeCheck(workflow, nodes, registry).run()
        problems.extend(edges.problems)
        for cycle in find_cycle_nodes(list(nodes), edges.links):
            loop = " -> ".join(cycle + [cycle[0]])
            problems.append(Problem(code="cycle", node_id=cycle[0], value=cycle,
                                    port=edges.link_ports.get((cycle[-1], cycle[0])),
                                    message=f"the graph has a cycle: {loop}"))
        return ValidationReport(problems=problems)
