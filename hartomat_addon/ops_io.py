"""Operators that create trees and move them to and from JSON files and the family starters."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import bpy
from bpy_extras.io_utils import ExportHelper, ImportHelper

from . import layout, tree_json
from .engine_link import presets, vocabulary
from .tree import TREE_IDNAME


def active_tree(context: Any) -> Any:
    """The HartOMat tree the node editor shows, else None."""
    space = getattr(context, "space_data", None)
    tree = getattr(space, "edit_tree", None) or getattr(space, "node_tree", None)
    return tree if getattr(tree, "bl_idname", "") == TREE_IDNAME else None


def show_tree(context: Any, tree: Any) -> None:
    space = getattr(context, "space_data", None)
    if space is not None and getattr(space, "type", "") == "NODE_EDITOR":
        space.tree_type = TREE_IDNAME
        space.node_tree = tree


def node_editor_area(context: Any) -> Any:
    area = getattr(context, "area", None)
    return area if getattr(area, "type", "") == "NODE_EDITOR" else None


def empty_editor_tree(context: Any) -> Any:
    """The editor's HartOMat tree when it has no nodes (the header's New made it): a starter or
    an import fills it rather than leaving it behind empty."""
    tree = active_tree(context)
    if tree is None or tree.nodes:
        return None
    tree.use_fake_user = True  # kept on save like the trees the add-on makes
    return tree


def place_and_frame(context: Any, tree: Any, rearrange: bool) -> None:
    """Show `tree` in the editor, laid out to read in it (when `rearrange`) and framed."""
    area = node_editor_area(context)
    if rearrange:  # for the editor as a run leaves it: an Image Editor beside the graph
        window = getattr(context, "window", None)
        screen_areas = window.screen.areas if window is not None else ()
        layout.arrange(tree, area, image_editor_to_come=not any(a.type == "IMAGE_EDITOR" for a in screen_areas))
    show_tree(context, tree)
    layout.frame_soon(getattr(context, "window", None), area)


def overlapping(tree: Any) -> bool:
    """Two nodes at one spot: a document without positions (or with clashing ones)."""
    spots = [tuple(round(v) for v in n.location) for n in tree.nodes]
    return len(set(spots)) < len(spots)


def tree_from_context(context: Any, name: str = "") -> Any:
    """The tree an operator works on: `name` if given, else the one the editor shows."""
    if name:
        tree = bpy.data.node_groups.get(name)
        return tree if getattr(tree, "bl_idname", "") == TREE_IDNAME else None
    return active_tree(context)


class TreeOperatorMixin:
    """Operators on one tree: `tree_name` picks it (tests, scripts), else the editor's tree."""

    tree_name: bpy.props.StringProperty(name="Tree", default="", options={"SKIP_SAVE"},
                                        description="Node tree to act on; empty = the one in the editor")

    @classmethod
    def poll(cls, context: Any) -> bool:
        return True

    def target_tree(self, context: Any) -> Any:
        tree = tree_from_context(context, self.tree_name)
        if tree is None:
            wanted = f"'{self.tree_name}'" if self.tree_name else "in the node editor"
            self.report({"ERROR"}, f"no HartOMat workflow {wanted}")
        return tree


FAMILY_ITEMS = [(f.value, f.replace("_", " ").title(), f"The {f.replace('_', ' ')} starter graph")
                for f in vocabulary.Preset]


class HARTOMAT_OT_load_starter(bpy.types.Operator):
    """Load a family's starter graph (migrated from its legacy preset) into a new workflow"""

    bl_idname = "hartomat.load_starter"
    bl_label = "Load Starter Graph"
    bl_options = {"REGISTER", "UNDO"}

    family: bpy.props.EnumProperty(name="Family", items=FAMILY_ITEMS)
    tree_name: bpy.props.StringProperty(name="Tree", default="", options={"SKIP_SAVE"},
                                        description="Replace this tree's contents; empty = a new tree")

    def execute(self, context: Any) -> set[str]:
        wf = presets.preset_workflow(self.family)
        tree = bpy.data.node_groups.get(self.tree_name) if self.tree_name else empty_editor_tree(context)
        if tree is not None and not tree.nodes:
            tree.name = wf.name
        tree = tree_json.workflow_to_tree(wf, tree)
        place_and_frame(context, tree, rearrange=True)
        self.report({"INFO"}, f"loaded the {self.family} starter graph into '{tree.name}'")
        return {"FINISHED"}


class HARTOMAT_OT_new_tree(bpy.types.Operator):
    """Create an empty HartOMat workflow"""

    bl_idname = "hartomat.new_tree"
    bl_label = "New Workflow"
    bl_options = {"REGISTER", "UNDO"}

    def execute(self, context: Any) -> set[str]:
        show_tree(context, tree_json.new_tree("workflow"))
        return {"FINISHED"}


class HARTOMAT_OT_import_json(bpy.types.Operator, ImportHelper):
    """Import a workflow JSON file (older versions are migrated forward) into a new workflow"""

    bl_idname = "hartomat.import_json"
    bl_label = "Import Workflow JSON"
    bl_options = {"REGISTER", "UNDO"}

    filename_ext = ".json"
    filter_glob: bpy.props.StringProperty(default="*.json", options={"HIDDEN"})

    def execute(self, context: Any) -> set[str]:
        path = Path(self.filepath)
        try:
            text = path.read_bytes()
        except OSError as exc:
            self.report({"ERROR"}, f"{path}: cannot read: {exc.strerror}")
            return {"CANCELLED"}
        reused = empty_editor_tree(context)
        tree = reused or tree_json.new_tree(path.stem)
        try:
            tree_json.load_document_into_tree(text.decode("utf-8", "replace"), str(path), tree)
        except tree_json.ConversionError as exc:
            if reused is None:
                bpy.data.node_groups.remove(tree)
            else:  # back to empty, as it was
                tree.nodes.clear()
            self.report({"ERROR"}, str(exc))
            return {"CANCELLED"}
        if reused is not None:
            tree.name = path.stem
        place_and_frame(context, tree, rearrange=overlapping(tree))
        self.report({"INFO"}, f"imported {path} as '{tree.name}'")
        return {"FINISHED"}


class HARTOMAT_OT_export_json(TreeOperatorMixin, bpy.types.Operator, ExportHelper):
    """Export the workflow as canonical JSON"""

    bl_idname = "hartomat.export_json"
    bl_label = "Export Workflow JSON"

    filename_ext = ".json"
    filter_glob: bpy.props.StringProperty(default="*.json", options={"HIDDEN"})

    def invoke(self, context: Any, event: Any) -> set[str]:
        tree = tree_from_context(context, self.tree_name)
        if tree is not None and not self.filepath:
            self.filepath = bpy.path.clean_name(tree.hm_name or tree.name) + ".json"
        return ExportHelper.invoke(self, context, event)

    def execute(self, context: Any) -> set[str]:
        tree = self.target_tree(context)
        if tree is None:
            return {"CANCELLED"}
        try:
            text = tree_json.tree_to_json(tree)
            Path(self.filepath).write_text(text, encoding="utf-8")
        except tree_json.ConversionError as exc:
            self.report({"ERROR"}, str(exc))
            return {"CANCELLED"}
        except OSError as exc:
            self.report({"ERROR"}, f"{self.filepath}: cannot write: {exc.strerror}")
            return {"CANCELLED"}
        self.report({"INFO"}, f"exported '{tree.name}' to {self.filepath}")
        return {"FINISHED"}


CLASSES = (HARTOMAT_OT_load_starter, HARTOMAT_OT_new_tree, HARTOMAT_OT_import_json, HARTOMAT_OT_export_json)
