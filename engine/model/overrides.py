"""Overrides: how an output type, an order line or an invocation changes a workflow's settings.

This module is the one home of the concept: the planner, the farm's submission check, the
worker and every CLI command merge, parse, resolve and check overrides here.

An override document maps a node id or a step key to field values, e.g.
`{"blender_still": {"samples": 16}, "still_front": {"view": "fixed"}}`. Precedence, lowest
first: a step's defaults <- the node's params <- overrides keyed by step <- overrides keyed by
node id; among override sources (output type, order line, invocation) a later source wins.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from pydantic import ValidationError

from ..errors import HartomatError
from .node_definition import NodeDefinition
from .registry import NodeDefinitionRegistry
from .trust import MISSING, PathRoots, confine_settings, lookup
from .workflow import Workflow

Overrides = dict[str, dict[str, Any]]


def merge_overrides(*sources: Overrides) -> Overrides:
    """Sources merged key by key and field by field; a later source wins a field (output type <-
    order line <- invocation). The result is what an order line freezes."""
    merged: Overrides = {}
    for source in sources:
        for key, values in source.items():
            merged[key] = {**merged.get(key, {}), **values}
    return merged


def overrides_for(node_id: str, step: str, *sources: Overrides) -> dict[str, Any]:
    """What one node gets: step-key overrides, then node-id overrides; for the same key a later source wins."""
    merged: dict[str, Any] = {}
    for key in (step, node_id):
        for source in sources:
            merged.update(source.get(key, {}))
    return merged


def parse_set(item: str) -> tuple[str, str, Any]:
    """One `NODE.FIELD=VALUE` of a `--set` option: (node id or step key, field, value); the value
    is read as JSON, else kept as text (so `still.view=fixed` needs no quotes)."""
    target, eq, raw = item.partition("=")
    node, dot, field = target.rpartition(".")
    if not eq or not dot or not node or not field:
        raise HartomatError(f"--set {item!r}: expected NODE.FIELD=VALUE, e.g. still.samples=16")
    try:
        value: Any = json.loads(raw)
    except json.JSONDecodeError:
        value = raw
    return node, field, value


def parse_sets(items: Iterable[str]) -> Overrides:
    """Every `--set` of a command line as one override document; a later `--set` wins."""
    overrides: Overrides = {}
    for item in items:
        node, field, value = parse_set(item)
        overrides.setdefault(node, {})[field] = value
    return overrides


def _shown(value: Any, limit: int = 80) -> str:
    """A value as an error message quotes it: its repr, cut short (a 10,000-entry list need not echo)."""
    text = repr(value)
    return text if len(text) <= limit else f"{text[:limit]}... ({len(text)} characters)"


def _refusals(exc: ValidationError, where: str) -> list[str]:
    """One message per field a settings model refused, naming `where`, the field and the value."""
    return [f"{where}: setting '{'.'.join(str(p) for p in err['loc'])}': {err['msg']} (got {_shown(err.get('input'))})"
            for err in exc.errors()]


def resolve_settings(definition: NodeDefinition, node_id: str, params: dict[str, Any],
                     overrides: dict[str, Any], roots: PathRoots | None = None) -> tuple[dict[str, Any], list[str]]:
    """defaults <- params <- overrides, validated by the step's settings model; path settings
    resolved inside the worker's `roots` (None: a local run, unconfined)."""
    values = {**params, **overrides}
    try:
        model = definition.settings_model.model_validate(values)
    except ValidationError as exc:
        return {}, _refusals(exc, f"node '{node_id}' ({definition.key})")
    return confine_settings(definition, node_id, model.model_dump(mode="json"), roots)


def unknown_override_keys(workflow: Workflow, registry: NodeDefinitionRegistry, overrides: Overrides) -> list[str]:
    known = {n.id for n in workflow.nodes} | set(registry.keys())
    return [f"override '{k}' names neither a node id of '{workflow.name}' nor a step key"
            for k in overrides if k not in known]


def override_problems(workflow: Workflow, registry: NodeDefinitionRegistry, overrides: Overrides) -> list[str]:
    """What the planner would refuse in `overrides` for this workflow, found before a job is
    queued; the messages are the planner's own."""
    problems = unknown_override_keys(workflow, registry, overrides)
    for node in workflow.nodes:
        picked = overrides_for(node.id, node.step, overrides)
        if picked and node.step in registry:
            problems.extend(resolve_settings(registry.get(node.step), node.id, node.params, picked)[1])
    return problems


def step_override_problems(registry: NodeDefinitionRegistry, overrides: Overrides) -> list[str]:
    """Values that step-keyed overrides give which the step's settings refuse, whether or not a
    graph has a node of that step (a command-line option is checked once, for every preset)."""
    problems = []
    for step, values in overrides.items():
        if step not in registry:
            problems.append(f"override '{step}' is not a step key")
            continue
        try:
            registry.get(step).settings_model.model_validate(values)
        except ValidationError as exc:
            problems.extend(_refusals(exc, f"step '{step}'"))
    return problems


def order_override_problems(workflow: Workflow, registry: NodeDefinitionRegistry, overrides: Overrides,
                            reach: Iterable[Workflow] = ()) -> list[str]:
    """What an order line's overrides may not do, one message each. Every key is checked, in the
    graph or not: a step key no node of the graph has is refused (a key that is no step at all is
    left to override_problems, which refuses it in the planner's words); a key's
    values are checked against the operator-only settings of every step the key can reach: the
    step it names, the graph's node of that id, and the nodes of `reach` (the legacy pipeline a
    legacy, shadow or fallback run uses instead of the graph)."""
    graphs = [workflow, *reach]
    named = {n.id for n in workflow.nodes} | {n.step for n in workflow.nodes}
    # a key that is no step at all gets the planner's own words (override_problems)
    problems = [f"override '{key}' names a step no node of '{workflow.name}' has"
                for key in overrides if key not in named and key in registry]
    for key, values in overrides.items():
        steps = {n.step for wf in graphs for n in wf.nodes if key in (n.id, n.step)}
        if key in registry:
            steps.add(key)
        for step in sorted(s for s in steps if s in registry):
            for name, record in registry.get(step).operator_settings().items():
                message = (f"override '{key}' ({step}): setting '{name}' may not be set by an order: "
                           f"{record['reason']}; an admin sets it in the output type, or the worker's config")
                if lookup(values, name) is not MISSING and message not in problems:
                    problems.append(message)
    return problems
