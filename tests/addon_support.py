"""Fixtures for add-on tests in the real bpy module: the add-on registered once per module."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any


def registered_addon() -> Iterator[Any]:
    """The add-on registered in this process's bpy, unregistered (and its trees removed) after."""
    import bpy

    import hartomat_addon

    hartomat_addon.register()
    yield hartomat_addon
    for tree in [t for t in bpy.data.node_groups if t.bl_idname == "HartomatWorkflowTree"]:
        bpy.data.node_groups.remove(tree)
    hartomat_addon.unregister()


def starter_tree(family: str) -> Any:
    """A fresh tree holding a family's starter graph, made by the add-on's operator."""
    import bpy

    before = set(bpy.data.node_groups.keys())
    assert bpy.ops.hartomat.load_starter(family=family) == {"FINISHED"}
    (name,) = set(bpy.data.node_groups.keys()) - before
    return bpy.data.node_groups[name]


def node(tree: Any, node_id: str) -> Any:
    return next(n for n in tree.nodes if getattr(n, "hm_id", None) == node_id)
