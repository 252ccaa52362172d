"""Overrides: how an order line or an invocation changes a workflow's settings, in one place.

Precedence, lowest first: a step's defaults <- the node's params <- overrides keyed by step
<- overrides keyed by node id; among override sources, a later source wins. The planner, the
farm's submission check and every CLI command resolve and check overrides here.
"""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from .node_definition import NodeDefinition
from .registry import NodeDefinitionRegistry
from .trust import MISSING, PathRoots, confine_settings, lookup
from .workflow import Workflow


def overrides_for(node_id: str, step: str, *sources: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """Step-key overrides, then node-id overrides; for the same key a later source wins."""
    merged: dict[str, Any] = {}
    for key in (step, node_id):
        for source in sources:
            merged.update(source.get(key, {}))
    return merged


def _shown(value: Any, limit: int = 80) -> str:
    """A value as an error message quotes it: its repr, cut short (a 10,000-entry list need not echo)."""
    text = repr(value)
    return text if len(text) <= limit else f"{text[:limit]}... ({len(text)} characters)"


def resolve_settings(definition: NodeDefinition, node_id: str, params: dict[str, Any],
                     overrides: dict[str, Any], roots: PathRoots | None = None) -> tuple[dict[str, Any], list[str]]:
    """defaults <- params <- overrides, validated by the step's settings model; path settings
    resolved inside the worker's `roots` (None: a local run, unconfined)."""
    values = {**params, **overrides}
    try:
        model = definition.settings_model.model_validate(values)
    except ValidationError as exc:
        problems = [
            f"node '{node_id}' ({definition.key}): setting '{'.'.join(str(p) for p in err['loc'])}': "
            f"{err['msg']} (got {_shown(err.get('input'))})"
            for err in exc.errors()
        ]
        return {}, problems
    return confine_settings(definition, node_id, model.model_dump(mode="json"), roots)


def unknown_override_keys(workflow: Workflow, registry: NodeDefinitionRegistry,
                          overrides: dict[str, dict[str, Any]]) -> list[str]:
    known = {n.id for n in workflow.nodes} | set(registry.keys())
    return [f"override '{k}' names neither a node id of '{workflow.name}' nor a step key"
            for k in overrides if k not in known]


def override_problems(workflow: Workflow, registry: NodeDefinitionRegistry,
                      overrides: dict[str, dict[str, Any]]) -> list[str]:
    """What the planner would refuse in `overrides` for this workflow, found before a job is queued."""
    problems = unknown_override_keys(workflow, registry, overrides)
    for node in workflow.nodes:
        picked = overrides_for(node.id, node.step, overrides)
        if picked and node.step in registry:
            problems.extend(resolve_settings(registry.get(node.step), node.id, node.params, picked)[1])
    return problems


def order_override_problems(workflow: Any, registry: Any, overrides: dict[str, dict[str, Any]]) -> list[str]:
    """Operator-only settings that an order line's overrides try to set, one message each."""
    problems = []
    for node in workflow.nodes:
        picked = overrides_for(node.id, node.step, overrides)
        if not picked or node.step not in registry:
            continue
        for name, record in registry.get(node.step).operator_settings().items():
            if lookup(picked, name) is not MISSING:
                problems.append(f"node '{node.id}' ({node.step}): setting '{name}' may not be set by an order: "
                                f"{record['reason']}; an admin sets it in the output type, or the worker's config")
    return problems
