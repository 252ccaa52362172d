"""The Add menu (Shift+A): one sub-menu per family, generated from the registry; the Add menu's
type-to-search finds every node."""

from __future__ import annotations

from typing import Any

import nodeitems_utils
from nodeitems_utils import NodeCategory, NodeItem

from .engine_link import REGISTRY
from .nodes import node_idname
from .tree import TREE_IDNAME

CATEGORY_KEY = "HARTOMAT_NODES"


class HartomatNodeCategory(NodeCategory):
    @classmethod
    def poll(cls, context: Any) -> bool:
        return getattr(context.space_data, "tree_type", "") == TREE_IDNAME


def categories() -> list[HartomatNodeCategory]:
    families: dict[str, list[NodeItem]] = {}
    for definition in REGISTRY:
        families.setdefault(definition.family, []).append(NodeItem(node_idname(definition.key)))
    return [HartomatNodeCategory(f"HARTOMAT_{family.upper()}", family.replace("_", " ").title(), items=items)
            for family, items in families.items()]


def register() -> None:
    nodeitems_utils.register_node_categories(CATEGORY_KEY, categories())


def unregister() -> None:
    nodeitems_utils.unregister_node_categories(CATEGORY_KEY)
