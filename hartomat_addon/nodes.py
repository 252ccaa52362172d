"""Node classes generated from the engine's registry: one per step, never a hand-written list.

Each class carries its step key, sockets per port (typed by artifact kind) and one property per
setting (derived from the settings model's JSON Schema). Every node has a stable identifier,
`hm_id`, set on creation and on copy: it is the JSON node id, so renaming a node changes nothing.
"""

from __future__ import annotations

import json
import re
from typing import Any

import bpy

from . import settings_props
from .engine_link import REGISTRY
from .sockets import socket_idname
from .tree import TREE_IDNAME, mark_dirty

NODE_PREFIX = "HartomatNode_"


def node_idname(step: str) -> str:
    return NODE_PREFIX + step


def is_hartomat_node(node: Any) -> bool:
    return node.bl_idname.startswith(NODE_PREFIX) and hasattr(node, "hm_id")


def unique_node_id(tree: Any, base: str, ignore: Any = None) -> str:
    """`base`, or `base_2`, `base_3`, ... whichever no other node of the tree uses."""
    base = re.sub(r"[^A-Za-z0-9_-]+", "_", base).strip("_") or "node"
    used = {n.hm_id for n in tree.nodes if is_hartomat_node(n) and n != ignore}
    if base not in used:
        return base
    index = 2
    while f"{base}_{index}" in used:
        index += 1
    return f"{base}_{index}"


def on_setting_changed(node: Any, field: str) -> None:
    """A user edit: the raw value kept from import (if any) gives way; the tree is dirty."""
    raw = json.loads(node.hm_raw) if node.hm_raw else {}
    if field in raw:
        raw.pop(field)
        node.hm_raw = json.dumps(raw) if raw else ""
    mark_dirty(node.id_data)


class HartomatNodeBase:
    """Behaviour shared by every generated node class."""

    step_key = ""
    field_specs: tuple[settings_props.FieldSpec, ...] = ()

    @classmethod
    def poll(cls, ntree: Any) -> bool:
        return ntree.bl_idname == TREE_IDNAME

    @property
    def definition(self) -> Any:
        return REGISTRY.get(self.step_key)

    def init(self, context: Any) -> None:
        definition = self.definition
        for port in definition.inputs:
            socket = self.inputs.new(socket_idname(str(port.kind)), port.label or port.name,
                                     identifier=port.name, use_multi_input=port.multiple)
            socket.description = port.description
        for port in definition.outputs:
            socket = self.outputs.new(socket_idname(str(port.kind)), port.label or port.name,
                                      identifier=port.name)
            socket.description = port.description
        self.width = 200
        self.hm_id = unique_node_id(self.id_data, self.step_key, ignore=self)

    def copy(self, node: Any) -> None:
        self.hm_id = unique_node_id(self.id_data, node.hm_id or self.step_key, ignore=self)
        for name in ("hm_problems", "hm_status", "hm_run"):
            setattr(self, name, "")
        self.use_custom_color = False

    def update(self) -> None:
        mark_dirty(self.id_data)

    def draw_label(self) -> str:
        return self.label or self.definition.label

    def draw_buttons(self, context: Any, layout: Any) -> None:
        from .node_draw import draw_node_body

        draw_node_body(self, layout)

    def draw_buttons_ext(self, context: Any, layout: Any) -> None:
        from .node_draw import draw_settings

        draw_settings(self, layout)


def _base_annotations() -> dict[str, Any]:
    return {
        "hm_id": bpy.props.StringProperty(
            name="Node ID", description="Stable identifier: the node's id in the workflow JSON"),
        "hm_raw": bpy.props.StringProperty(
            description="Imported settings Blender's properties cannot hold exactly (JSON)"),
        "hm_policy": bpy.props.StringProperty(
            name="Policy", description="Retry and failure policy (JSON): max_attempts, backoff_s, timeout_s, "
                                       "on_fail, cache; empty = defaults"),
        "hm_ui_extra": bpy.props.StringProperty(description="The node's `ui` JSON besides its position"),
        "hm_problems": bpy.props.StringProperty(description="Validation problems on this node (JSON)"),
        "hm_status": bpy.props.StringProperty(description="Status in the run shown"),
        "hm_run": bpy.props.StringProperty(description="This node's record in the run shown (JSON)"),
    }


def make_node_class(definition: Any) -> type:
    specs, annotations = settings_props.settings_properties(definition.settings_schema(), on_setting_changed)
    return type(
        f"HARTOMAT_NODE_{definition.key}",
        (HartomatNodeBase, bpy.types.Node),
        {
            "bl_idname": node_idname(definition.key),
            "bl_label": definition.label,
            "bl_icon": definition.icon,
            "bl_description": definition.description,
            "__doc__": definition.description,
            "step_key": definition.key,
            "field_specs": tuple(specs),
            "__annotations__": {**_base_annotations(), **annotations},
        },
    )


def node_classes() -> list[type]:
    """One class per step in the registry, in registry order."""
    return [make_node_class(definition) for definition in REGISTRY]
