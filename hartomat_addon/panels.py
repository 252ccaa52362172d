"""Sidebar (N panel) of the HartOMat editor: workflow, node settings, validation, plan, run."""

from __future__ import annotations

from typing import Any

import bpy

from .engine_link import vocabulary
from .node_draw import draw_settings, problem_text, run_summary, wrap_width, wrapped
from .nodes import is_hartomat_node
from .ops_farm_runs import run_label
from .ops_io import active_tree
from .run_record import error_message
from .tree import TREE_IDNAME, json_prop


class _Panel:
    bl_space_type = "NODE_EDITOR"
    bl_region_type = "UI"
    bl_category = "HartOMat"

    @classmethod
    def poll(cls, context: Any) -> bool:
        return active_tree(context) is not None


def panel_width(context: Any) -> int:
    """Characters per line that fit the sidebar as wide as it is now."""
    region = getattr(context, "region", None)
    scale = context.preferences.system.ui_scale if context.preferences else 1.0
    return wrap_width((region.width if region else 300) / scale - 30)


def _lines(context: Any, layout: Any, text: str, icon: str = "NONE") -> None:
    wrapped(layout, text, panel_width(context), icon)


class HARTOMAT_PT_start(bpy.types.Panel):
    """First use: a HartOMat editor with no workflow (or an empty one) offers to make one."""

    bl_space_type, bl_region_type, bl_category = "NODE_EDITOR", "UI", "HartOMat"
    bl_label = "Start"

    @classmethod
    def poll(cls, context: Any) -> bool:
        space = getattr(context, "space_data", None)
        if getattr(space, "tree_type", "") != TREE_IDNAME:
            return False
        tree = active_tree(context)
        return tree is None or not tree.nodes

    def draw(self, context: Any) -> None:
        layout = self.layout
        _lines(context, layout, "No workflow yet: start from a family's starter graph, import a JSON "
                                "file, or begin with an empty workflow.", "INFO")
        layout.operator_menu_enum("hartomat.load_starter", "family", text="Load Starter Graph", icon="PRESET")
        row = layout.row(align=True)
        row.operator("hartomat.import_json", icon="IMPORT", text="Import")
        if active_tree(context) is None:
            row.operator("hartomat.new_tree", icon="ADD", text="New")


class HARTOMAT_PT_workflow(_Panel, bpy.types.Panel):
    bl_label = "Workflow"

    def draw(self, context: Any) -> None:
        tree = active_tree(context)
        layout = self.layout
        layout.prop(tree, "hm_name", text="Name")  # short labels: the sidebar cuts long ones ('Workflo…')
        layout.prop(tree, "hm_family")
        row = layout.row(align=True)
        row.operator("hartomat.import_json", icon="IMPORT", text="Import")
        row.operator("hartomat.export_json", icon="EXPORT", text="Export")
        layout.operator_menu_enum("hartomat.load_starter", "family", text="Load Starter Graph", icon="PRESET")


class HARTOMAT_PT_node(_Panel, bpy.types.Panel):
    bl_label = "Node Settings"

    @classmethod
    def poll(cls, context: Any) -> bool:
        node = getattr(context, "active_node", None)
        return _Panel.poll(context) and node is not None and is_hartomat_node(node)

    def draw(self, context: Any) -> None:
        node = context.active_node
        layout = self.layout
        layout.label(text=node.definition.label, icon=node.definition.icon)
        layout.prop(node, "hm_id")
        _lines(context, layout.column(), node.definition.description)
        draw_settings(node, layout, panel_width(context))
        layout.prop(node, "hm_policy")


class HARTOMAT_PT_validation(_Panel, bpy.types.Panel):
    bl_label = "Validation"

    def draw(self, context: Any) -> None:
        tree = active_tree(context)
        layout = self.layout
        layout.operator("hartomat.validate", icon="CHECKMARK")
        if tree.hm_dirty:
            layout.label(text="changed since the last validation", icon="INFO")
        if not tree.hm_validated:
            return
        problems = json_prop(tree, "hm_report", [])
        if not problems:
            layout.label(text="valid: no problems", icon="CHECKMARK")
        for problem in problems:
            icon = "ERROR" if problem.get("severity") == "error" else "INFO"
            _lines(context, layout.box().column(align=True), problem_text(problem, with_node=True), icon)


class HARTOMAT_PT_plan(_Panel, bpy.types.Panel):
    bl_label = "Dry Run"
    bl_options = {"DEFAULT_CLOSED"}

    def draw(self, context: Any) -> None:
        tree = active_tree(context)
        layout = self.layout
        layout.operator("hartomat.dry_run", icon="VIEWZOOM")
        plan = json_prop(tree, "hm_plan", {})
        if not plan:
            return
        layout.label(text=f"needs: {', '.join(plan.get('capabilities_needed', [])) or 'nothing'}")
        layout.label(text=f"here: {', '.join(plan.get('capabilities_available', [])) or 'nothing'}")
        for index, node in enumerate(plan.get("nodes", []), 1):
            hit = " (cache hit)" if node.get("cache_hit") else ""
            layout.label(text=f"{index}. {node['node_id']} [{node['step']}] {node.get('where', '')}{hit}")
        for warning in plan.get("warnings", []):
            _lines(context, layout, warning, "INFO")


class HARTOMAT_PT_run(_Panel, bpy.types.Panel):
    bl_label = "Run"

    def draw(self, context: Any) -> None:
        tree = active_tree(context)
        layout = self.layout
        layout.prop(tree, "hm_step_path", text="STEP")
        layout.prop(tree, "hm_out_dir", text="Output")
        row = layout.row(align=True)
        row.operator("hartomat.run_local", icon="PLAY")
        row.operator("hartomat.dispatch", icon="URL")
        if tree.hm_run_stale:
            layout.label(text="the graph changed since the run shown", icon="ERROR")
        if tree.hm_run_state:
            icon = "ERROR" if tree.hm_run_state == vocabulary.RunStatus.FAILED else "INFO"
            _lines(context, layout, tree.hm_progress_message or tree.hm_run_state, icon)
            if tree.hm_run_state == vocabulary.RunStatus.RUNNING:
                layout.prop(tree, "hm_progress", text="Progress", slider=True)
        failed = [(node_id, node) for node_id, node in json_prop(tree, "hm_run", {}).get("nodes", {}).items()
                  if node.get("status") == vocabulary.NodeStatus.FAILED]
        for node_id, node in failed[1:]:  # the first is in the run's message above
            box = layout.box()
            box.alert = True
            _lines(context, box, f"{node_id} ({node.get('step')}): {error_message(node)}", "ERROR")
        row = layout.row(align=True)
        row.operator("hartomat.inspect_run", icon="FILE_FOLDER")
        row.operator("hartomat.clear_marks", icon="X")


class HARTOMAT_PT_farm_runs(_Panel, bpy.types.Panel):
    """Recent runs on the queue server; clicking one shows it on the nodes."""

    bl_label = "Farm Runs"
    bl_options = {"DEFAULT_CLOSED"}

    def draw(self, context: Any) -> None:
        tree = active_tree(context)
        layout = self.layout
        layout.operator("hartomat.list_farm_runs", icon="FILE_REFRESH")
        column = layout.column(align=True)
        for run in json_prop(tree, "hm_farm_runs", []):
            op = column.operator("hartomat.inspect_farm_run", text=run_label(run), icon="NODETREE")
            op.job_id, op.run_id = run.get("job_id", ""), run.get("run_id", "")


class HARTOMAT_PT_inspect(_Panel, bpy.types.Panel):
    """The selected node in the run shown: status, duration, attempts, interpreter, log tail, outputs."""

    bl_label = "Run Inspection"

    @classmethod
    def poll(cls, context: Any) -> bool:
        tree = active_tree(context)
        return tree is not None and bool(tree.hm_run)

    def draw(self, context: Any) -> None:
        tree = active_tree(context)
        run = json_prop(tree, "hm_run", {})
        layout = self.layout
        layout.label(text=f"run {run.get('run_id', '')}: {run.get('status', '')}")
        nodes_failed = any(n.get("status") == vocabulary.NodeStatus.FAILED for n in run.get("nodes", {}).values())
        if run.get("error") and not nodes_failed:  # a node's error is on the node and in the Run panel
            _lines(context, layout, str(run["error"]), "ERROR")
        node = getattr(context, "active_node", None)
        record = json_prop(node, "hm_run", {}) if node is not None and is_hartomat_node(node) else {}
        if not record:
            layout.label(text="select a node to see its record")
            return
        box = layout.box()
        box.label(text=f"{node.hm_id}: {run_summary(record)}", icon="NODE")
        if record.get("interpreter"):
            _lines(context, box, f"ran in: {record['interpreter']}", "CONSOLE")
        if record.get("error"):
            _lines(context, box, error_message(record), "ERROR")
        for line in record.get("log_tail", []):
            _lines(context, box, str(line))
        for output in record.get("outputs", []):
            port, kind = output.get("port", ""), output.get("kind", "")
            _lines(context, box, f"{port} ({kind}): {output.get('path', '')}", "FILE")
            for row in output.get("parts", []):
                _lines(context, box, f"  {row}")


# registration order is the sidebar's order: the run and the selected node's record of it near the top
CLASSES = (HARTOMAT_PT_start, HARTOMAT_PT_workflow, HARTOMAT_PT_run, HARTOMAT_PT_inspect, HARTOMAT_PT_validation,
           HARTOMAT_PT_node, HARTOMAT_PT_plan, HARTOMAT_PT_farm_runs)
