"""Dry run, dispatch, inspection, and what local runs share (options, capabilities, the order
line, the checked workflow); Run Locally itself is in ops_local_run.py.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

import bpy

from . import farm_link, marks, run_record, tree_json
from .engine_link import context as engine_context
from .engine_link import engine_module, vocabulary
from .ops_farm_runs import require_server
from .ops_io import TreeOperatorMixin
from .ops_validate import validate_tree
from .prefs import addon_prefs


def runtime() -> Any:
    return engine_module("runtime")


def capabilities() -> frozenset[str]:
    return frozenset(engine_module("model.capabilities").detect_capabilities())


def order_line_for(tree: Any, step_path: str) -> Any:
    path = Path(bpy.path.abspath(step_path)) if step_path else None
    return engine_context.OrderLine(product=path.stem if path else "", step_path=str(path) if path else None,
                                    output_type=tree.hm_family)


def out_dir_for(tree: Any) -> Path:
    if tree.hm_out_dir:
        return Path(bpy.path.abspath(tree.hm_out_dir))
    if bpy.data.filepath:
        return Path(bpy.path.abspath("//hartomat-runs")) / bpy.path.clean_name(tree.name)
    return Path(tempfile.gettempdir()) / "hartomat-runs" / bpy.path.clean_name(tree.name)


def helper_python(caps: frozenset[str], ui_thread: bool = False) -> str | None:
    """The helper interpreter: for what this Blender cannot run itself, and in the editor for the
    CAD nodes too (OCP would hold Blender's main thread for seconds) when it is there to start;
    without one they run on a worker thread of this Blender."""
    prefs = addon_prefs()
    helper = bpy.path.abspath(prefs.helper_python) if prefs is not None and prefs.helper_python else ""
    if not helper or not {vocabulary.Capability.OCP, vocabulary.Capability.BPY} <= caps:
        return helper or None
    return helper if ui_thread and Path(helper).is_file() else None


def run_options(tree: Any, caps: frozenset[str], ui_thread: bool = False, **extra: Any) -> Any:
    """The editor runs the graph itself (no silent legacy fallback: the TD wants to see what failed)
    and no process pool (spawned children of Blender cannot re-import it): nodes run here, or in
    the helper interpreter. With `ui_thread` the editor steps the run between UI events."""
    return runtime().RunOptions(out_dir=out_dir_for(tree), capabilities=caps, mode=vocabulary.Mode.GRAPH, fallback=False,
                                max_workers=0, helper_python=helper_python(caps, ui_thread), ui_thread=ui_thread,
                                **extra)


def checked_workflow(op: Any, tree: Any) -> Any:
    """The tree as a Workflow if it validates; else None with the errors on the nodes."""
    problems = validate_tree(tree)
    errors = [p for p in problems if p.get("severity") == "error"]
    if errors:
        op.report({"ERROR"}, f"'{tree.name}' has {len(errors)} error(s); see the nodes: {errors[0]['message']}")
        return None
    return tree_json.tree_to_workflow(tree)


class HARTOMAT_OT_dry_run(TreeOperatorMixin, bpy.types.Operator):
    """Plan the run without running it: order, resolved settings, cache hits, where each node runs"""

    bl_idname = "hartomat.dry_run"
    bl_label = "Dry Run"

    def execute(self, context: Any) -> set[str]:
        tree = self.target_tree(context)
        if tree is None:
            return {"CANCELLED"}
        wf = checked_workflow(self, tree)
        if wf is None:
            return {"CANCELLED"}
        caps = capabilities()
        try:
            # where each node runs as Run Locally would run it: stepped by the editor, or straight through
            options = run_options(tree, caps, ui_thread=not bpy.app.background)
            plan = runtime().plan_workflow(wf, order_line_for(tree, tree.hm_step_path), options)
        except engine_module("errors").HartomatError as exc:
            self.report({"ERROR"}, str(exc))
            return {"CANCELLED"}
        tree.hm_plan = json.dumps(plan.describe(), default=str)
        self.report({"INFO"}, f"plan: {len(plan.order)} nodes: {' -> '.join(plan.order)}")
        return {"FINISHED"}


class HARTOMAT_OT_dispatch(TreeOperatorMixin, bpy.types.Operator):
    """Send the workflow and an order for the chosen STEP file to the queue server"""

    bl_idname = "hartomat.dispatch"
    bl_label = "Dispatch to Farm"

    step_path: bpy.props.StringProperty(name="STEP File", subtype="FILE_PATH", options={"SKIP_SAVE"},
                                        description="STEP file of the order; empty = the tree's")

    def execute(self, context: Any) -> set[str]:
        tree = self.target_tree(context)
        if tree is None:
            return {"CANCELLED"}
        settings = require_server(self, context)
        if settings is None:
            return {"CANCELLED"}
        server, token = settings
        step = bpy.path.abspath(self.step_path or tree.hm_step_path)
        if not step or not Path(step).is_file():
            self.report({"ERROR"}, f"STEP file '{step}' not found: choose one in the sidebar")
            return {"CANCELLED"}
        wf = checked_workflow(self, tree)
        if wf is None:
            return {"CANCELLED"}
        try:
            sent = farm_link.dispatch(server, token, wf, tree.name, step, {})
        except (engine_module("errors").HartomatError, RuntimeError) as exc:
            self.report({"ERROR"}, f"dispatch to {server} failed: {exc}")
            return {"CANCELLED"}
        tree.hm_dispatch = json.dumps(sent, default=str)
        order_id = sent["order"].get("id", "?")
        self.report({"INFO"}, f"order {order_id} sent to {server} (output type {sent['output_type']})")
        return {"FINISHED"}


class HARTOMAT_OT_inspect_run(TreeOperatorMixin, bpy.types.Operator):
    """Show a run (its run.json) on the nodes: status colours, durations, attempts, logs, outputs"""

    bl_idname = "hartomat.inspect_run"
    bl_label = "Inspect Run"

    filepath: bpy.props.StringProperty(subtype="FILE_PATH")
    filter_glob: bpy.props.StringProperty(default="*.json", options={"HIDDEN"})

    def invoke(self, context: Any, event: Any) -> set[str]:
        context.window_manager.fileselect_add(self)
        return {"RUNNING_MODAL"}

    def execute(self, context: Any) -> set[str]:
        tree = self.target_tree(context)
        if tree is None:
            return {"CANCELLED"}
        try:
            summary = json.loads(Path(self.filepath).read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as exc:
            self.report({"ERROR"}, f"{self.filepath}: not a readable run.json: {exc}")
            return {"CANCELLED"}
        if not isinstance(summary, dict) or not isinstance(summary.get("nodes"), dict):
            self.report({"ERROR"}, f"{self.filepath}: not a run summary (no 'nodes' object)")
            return {"CANCELLED"}
        marks.show_run(tree, run_record.from_summary(summary))
        self.report({"INFO"}, f"showing run {summary.get('run_id', '?')} ({summary.get('status', '?')})")
        return {"FINISHED"}


class HARTOMAT_OT_clear_marks(TreeOperatorMixin, bpy.types.Operator):
    """Clear validation and run marks from the nodes"""

    bl_idname = "hartomat.clear_marks"
    bl_label = "Clear Marks"

    def execute(self, context: Any) -> set[str]:
        tree = self.target_tree(context)
        if tree is None:
            return {"CANCELLED"}
        marks.clear_marks(tree)
        return {"FINISHED"}


CLASSES = (HARTOMAT_OT_dry_run, HARTOMAT_OT_dispatch, HARTOMAT_OT_inspect_run, HARTOMAT_OT_clear_marks)
