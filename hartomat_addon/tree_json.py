"""Node tree <-> canonical workflow JSON, both ways, `ui` positions kept, nothing lost.

Settings the user never set stay out of `params` (Blender remembers which properties were set),
so a sparse JSON stays sparse; values Blender cannot hold exactly (out of bounds, wrong type)
are kept verbatim in `hm_raw` until the user edits them, so validation still sees them.
"""

from __future__ import annotations

import json
from typing import Any

import bpy

from . import settings_props
from .engine_link import REGISTRY, workflow
from .nodes import is_hartomat_node, node_idname
from .tree import TREE_IDNAME, json_prop


class ConversionError(ValueError):
    """A tree or document that cannot be converted; the message names the node and field."""


def _number(value: float) -> int | float:
    return int(value) if float(value).is_integer() else round(float(value), 3)


def _linked_socket(link: Any) -> tuple[Any, Any] | None:
    """The HartOMat node and socket a link really comes from, following reroute nodes."""
    node, socket = link.from_node, link.from_socket
    seen = 0
    while node.bl_idname == "NodeReroute" and node.inputs[0].is_linked and seen < 1000:
        upstream = node.inputs[0].links[0]
        node, socket, seen = upstream.from_node, upstream.from_socket, seen + 1
    return (node, socket) if is_hartomat_node(node) else None


def node_params(node: Any) -> dict[str, Any]:
    raw = json_prop(node, "hm_raw", {})
    params: dict[str, Any] = {}
    for spec in node.field_specs:
        if spec.field in raw:
            params[spec.field] = raw[spec.field]
        elif node.is_property_set(spec.prop):
            try:
                params[spec.field] = settings_props.read_value(node, spec, node.hm_id)
            except settings_props.SettingError as exc:
                raise ConversionError(str(exc)) from None
    return params


def node_document(node: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {"id": node.hm_id, "step": node.step_key, "params": node_params(node)}
    policy = json_prop(node, "hm_policy")
    if node.hm_policy and policy is None:
        raise ConversionError(f"node '{node.hm_id}': policy is not valid JSON")
    if policy is not None:
        doc["policy"] = policy
    ui = dict(json_prop(node, "hm_ui_extra", {}))
    ui["position"] = [_number(node.location.x), _number(node.location.y)]
    doc["ui"] = ui
    return doc


def tree_to_document(tree: Any) -> dict[str, Any]:
    """The workflow JSON of a tree, as a plain dict (not yet validated)."""
    nodes = [n for n in tree.nodes if is_hartomat_node(n)]
    edges = []
    for link in tree.links:
        if not is_hartomat_node(link.to_node) or not link.is_valid:
            continue
        source = _linked_socket(link)
        if source is None:
            continue
        edges.append({"source": source[0].hm_id, "source_output": source[1].identifier,
                      "target": link.to_node.hm_id, "target_input": link.to_socket.identifier})
    doc: dict[str, Any] = {"version": workflow.CURRENT_VERSION, "name": tree.hm_name, "family": tree.hm_family,
                           "nodes": [node_document(n) for n in nodes], "edges": edges}
    ui = json_prop(tree, "hm_ui")
    if ui is not None:
        doc["ui"] = ui
    return doc


def tree_to_workflow(tree: Any) -> Any:
    """The tree as the engine's Workflow model; ConversionError names what is wrong."""
    try:
        return workflow.parse_workflow_document(tree_to_document(tree), source=f"node tree '{tree.name}'")
    except workflow.WorkflowLoadError as exc:
        raise ConversionError(str(exc)) from None


def tree_to_json(tree: Any) -> str:
    return tree_to_workflow(tree).to_json()


def _set_params(node: Any, params: dict[str, Any]) -> None:
    specs = {spec.field: spec for spec in node.field_specs}
    raw: dict[str, Any] = {}
    for field, value in params.items():
        spec = specs.get(field)
        if spec is None:
            raw[field] = value
            continue
        try:
            settings_props.write_value(node, spec, value)
            exact = settings_props.read_value(node, spec, node.hm_id) == value
        except (TypeError, ValueError, OverflowError):
            exact = False
        if not exact:
            raw[field] = value
    node.hm_raw = json.dumps(raw) if raw else ""


def _add_node(tree: Any, spec: Any) -> Any:
    if spec.step not in REGISTRY:
        raise ConversionError(f"node '{spec.id}': unknown step '{spec.step}'"
                              + (f"; did you mean '{REGISTRY.closest(spec.step)}'?" if REGISTRY.closest(spec.step)
                                 else ""))
    node = tree.nodes.new(node_idname(spec.step))
    node.hm_id = spec.id
    node.name = spec.id
    _set_params(node, spec.params)
    if spec.policy is not None:
        node.hm_policy = json.dumps(spec.policy.model_dump(mode="json", exclude_none=True))
    ui = dict(spec.ui or {})
    position = ui.pop("position", None)
    if isinstance(position, list) and len(position) == 2:
        node.location = position
    node.hm_ui_extra = json.dumps(ui) if ui else ""
    return node


def _link(tree: Any, nodes: dict[str, Any], edge: Any, index: int) -> None:
    source, target = nodes.get(edge.source), nodes.get(edge.target)
    if source is None or target is None:
        raise ConversionError(f"edge #{index}: node '{edge.source if source is None else edge.target}' "
                              "is not in the workflow")
    out = _socket_by_identifier(source.outputs, edge.source_output)
    into = _socket_by_identifier(target.inputs, edge.target_input)
    if out is None:
        raise ConversionError(f"edge #{index}: node '{edge.source}' ({source.step_key}) has no output "
                              f"'{edge.source_output}'")
    if into is None:
        raise ConversionError(f"edge #{index}: node '{edge.target}' ({target.step_key}) has no input "
                              f"'{edge.target_input}'")
    tree.links.new(out, into)


def _socket_by_identifier(sockets: Any, identifier: str) -> Any:
    return next((s for s in sockets if s.identifier == identifier), None)


def fill_tree(tree: Any, wf: Any) -> Any:
    """Replace the tree's contents with a Workflow model's nodes and edges."""
    tree.nodes.clear()
    tree.hm_name, tree.hm_family = wf.name, wf.family
    tree.hm_ui = json.dumps(wf.ui) if wf.ui is not None else ""
    nodes: dict[str, Any] = {}
    for spec in wf.nodes:
        if spec.id in nodes:
            raise ConversionError(f"node id '{spec.id}' is used more than once; ids must be unique")
        nodes[spec.id] = _add_node(tree, spec)
    for index, edge in enumerate(wf.edges):
        _link(tree, nodes, edge, index)
    for name in ("hm_report", "hm_plan", "hm_run"):
        setattr(tree, name, "")
    tree.hm_validated = False
    tree.hm_dirty = True
    return tree


def new_tree(name: str) -> Any:
    tree = bpy.data.node_groups.new(name, TREE_IDNAME)
    tree.use_fake_user = True  # a tree with no users is dropped on save otherwise
    return tree


def workflow_to_tree(wf: Any, tree: Any = None) -> Any:
    """A tree (new unless given) holding the workflow; ConversionError names what cannot map."""
    tree = tree if tree is not None else new_tree(wf.name)
    return fill_tree(tree, wf)


def load_document_into_tree(text: str, source: str, tree: Any = None) -> Any:
    try:
        wf = workflow.load_workflow_text(text, source)
    except workflow.WorkflowLoadError as exc:
        raise ConversionError(str(exc)) from None
    return workflow_to_tree(wf, tree)
