"""Validation in the editor: the engine's problems drawn on the nodes and listed in the sidebar."""

from __future__ import annotations

from typing import Any

import bpy

from . import marks, status_report, tree_json
from .engine_link import validation
from .ops_io import TreeOperatorMixin
from .prefs import addon_prefs


def conversion_problem(tree: Any, message: str) -> dict[str, Any]:
    """A tree that is not even a valid workflow document (bad JSON setting, bad name, ...)."""
    node_id = next((n.hm_id for n in marks.hartomat_nodes(tree).values() if f"'{n.hm_id}'" in message), None)
    return {"code": "invalid_document", "message": message, "node_id": node_id, "severity": "error"}


def validate_tree(tree: Any) -> list[dict[str, Any]]:
    """Validate the tree's snapshot, draw the problems on the nodes; returns them as dicts."""
    try:
        doc = tree_json.tree_to_document(tree)
        wf = tree_json.tree_to_workflow(tree)
    except tree_json.ConversionError as exc:
        problems = [conversion_problem(tree, str(exc))]
        marks.show_problems(tree, problems, [])
    else:
        report = validation.validate_workflow(wf)
        problems = [p.model_dump(mode="json") for p in report.problems]
        marks.show_problems(tree, problems, doc["edges"])
    tree.hm_dirty = False
    return problems


class HARTOMAT_OT_validate(TreeOperatorMixin, bpy.types.Operator):
    """Validate the workflow: errors are drawn on their nodes and listed in the sidebar"""

    bl_idname = "hartomat.validate"
    bl_label = "Validate Workflow"

    def execute(self, context: Any) -> set[str]:
        tree = self.target_tree(context)
        if tree is None:
            return {"CANCELLED"}
        self.report(*verdict(tree, validate_tree(tree)))
        return {"FINISHED"}


def verdict(tree: Any, problems: list[dict[str, Any]]) -> tuple[set[str], str]:
    errors = [p for p in problems if p.get("severity") == "error"]
    if errors:
        return {"WARNING"}, f"'{tree.name}': {len(errors)} error(s); see the nodes and the sidebar"
    return {"INFO"}, f"'{tree.name}': valid ({len(problems)} warning(s))"


def auto_validate() -> float | None:
    """Timer (GUI only): validates trees marked dirty by edits, a moment after the edit; the
    verdict becomes the status bar's latest report (never a stale "valid")."""
    prefs = addon_prefs()
    if prefs is not None and prefs.auto_validate:
        for tree in bpy.data.node_groups:
            if getattr(tree, "bl_idname", "") == tree_json.TREE_IDNAME and tree.hm_dirty and tree.nodes:
                (level,), message = verdict(tree, validate_tree(tree))
                status_report.show(message, level)
    return 0.5


CLASSES = (HARTOMAT_OT_validate,)
