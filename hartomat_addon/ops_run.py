"""Dry run, local run (modal with progress and Esc; synchronous headless), dispatch, inspection.

Local runs call the engine's runtime on a snapshot of the tree. In the editor the run goes on in
a worker thread while a modal timer draws progress on the nodes; nodes that need `bpy` then run
in the helper interpreter (bpy is not thread-safe). Headless Blender never fires timers, so there
(and when called from scripts and tests) the same operator runs synchronously in this process.
"""

from __future__ import annotations

import json
import queue
import sys
import tempfile
import threading
from pathlib import Path
from typing import Any

import bpy

from . import convert, farm_link, marks, run_record
from .engine_link import context as engine_context
from .engine_link import engine_module
from .ops_farm_runs import require_server
from .ops_io import TreeOperatorMixin
from .ops_validate import validate_tree
from .prefs import addon_prefs


def runtime() -> Any:
    return engine_module("runtime")


def capabilities() -> frozenset[str]:
    return frozenset(engine_module("capabilities").detect_capabilities())


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


def helper_python(caps: frozenset[str]) -> str | None:
    """The helper interpreter, used only for what this Blender cannot run itself."""
    prefs = addon_prefs()
    helper = prefs.helper_python if prefs is not None else ""
    return bpy.path.abspath(helper) if helper and not {"ocp", "bpy"} <= caps else None


def run_options(tree: Any, caps: frozenset[str], **extra: Any) -> Any:
    """The editor runs the graph itself (no silent legacy fallback: the TD wants to see what failed)
    and no process pool (spawned children of Blender cannot re-import it): process nodes run here,
    or in the helper interpreter when this Blender lacks their capability."""
    return runtime().RunOptions(out_dir=out_dir_for(tree), capabilities=caps, mode="graph", fallback=False,
                                max_workers=0, helper_python=helper_python(caps), **extra)


def checked_workflow(op: Any, tree: Any) -> Any:
    """The tree as a Workflow if it validates; else None with the errors on the nodes."""
    problems = validate_tree(tree)
    errors = [p for p in problems if p.get("severity") == "error"]
    if errors:
        op.report({"ERROR"}, f"'{tree.name}' has {len(errors)} error(s); see the nodes: {errors[0]['message']}")
        return None
    return convert.tree_to_workflow(tree)


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
            plan = runtime().plan_workflow(wf, order_line_for(tree, tree.hm_step_path), run_options(tree, caps))
        except engine_module("errors").HartomatError as exc:
            self.report({"ERROR"}, str(exc))
            return {"CANCELLED"}
        tree.hm_plan = json.dumps(plan.describe(), default=str)
        self.report({"INFO"}, f"plan: {len(plan.order)} nodes: {' -> '.join(plan.order)}")
        return {"FINISHED"}


class _Progress:
    """Progress events from the runtime, handed to the UI thread through a queue."""

    def __init__(self) -> None:
        self.events: queue.Queue[Any] = queue.Queue()
        self.cancelled = False

    def __call__(self, event: Any) -> None:
        self.events.put(event)

    def cancel_requested(self) -> bool:
        return self.cancelled


def apply_event(tree: Any, event: Any) -> None:
    node = marks.hartomat_nodes(tree).get(event.node_id)
    if node is not None and event.status:
        marks.show_node_status(node, event.status)
    tree.hm_progress = max(0.0, min(1.0, float(event.fraction or 0.0)))
    tree.hm_progress_message = f"{event.node_id}: {event.status} {event.message}".strip()


def helper_notes(record: dict[str, Any]) -> list[str]:
    """'extract, glb_export ran in the helper interpreter /path/python', one per interpreter."""
    return [f"{', '.join(nodes)} ran in the helper interpreter {interpreter}"
            for interpreter, nodes in run_record.foreign_interpreters(record, sys.executable).items()]


def finish_run(tree: Any, result: Any) -> dict[str, Any]:
    record = run_record.from_result(result)
    marks.show_run(tree, record)
    result.write_summary()
    tree.hm_progress = 1.0
    tree.hm_progress_message = "; ".join([f"run {result.status}", *helper_notes(record)])
    return record


def _image_editor(screen: Any) -> Any:
    """An Image Editor area: one on the screen, else a new window turned into one."""
    area = next((a for a in screen.areas if a.type == "IMAGE_EDITOR"), None)
    if area is None:
        bpy.ops.wm.window_new()
        area = bpy.context.window_manager.windows[-1].screen.areas[0]
        area.ui_type = "IMAGE_EDITOR"
    return area


def show_images(context: Any, record: dict[str, Any]) -> list[Any]:
    """Load the run's images; in the editor, show the first in an Image Editor."""
    loaded = [bpy.data.images.load(path, check_existing=True) for path in run_record.images(record)
              if Path(path).is_file()]
    screen = getattr(context, "screen", None)
    if loaded and screen is not None and not bpy.app.background:
        try:
            _image_editor(screen).spaces.active.image = loaded[0]
        except (RuntimeError, AttributeError, IndexError) as exc:  # the image is loaded either way
            print(f"HartOMat: could not open an Image Editor for {loaded[0].filepath}: {exc}")
    return loaded


class HARTOMAT_OT_run_local(TreeOperatorMixin, bpy.types.Operator):
    """Run the workflow here on the chosen STEP file; progress on the nodes, Esc cancels"""

    bl_idname = "hartomat.run_local"
    bl_label = "Run Locally"

    step_path: bpy.props.StringProperty(name="STEP File", subtype="FILE_PATH", options={"SKIP_SAVE"},
                                        description="STEP file to run on; empty = the tree's")
    overrides: bpy.props.StringProperty(name="Overrides", default="", options={"SKIP_SAVE"},
                                        description="JSON: node id or step key -> {field: value}")

    _timer: Any = None
    _thread: threading.Thread | None = None

    def prepare(self, context: Any) -> tuple[Any, Any, Any] | None:
        tree = self.target_tree(context)
        if tree is None:
            return None
        if self.step_path:
            tree.hm_step_path = self.step_path
        if not tree.hm_step_path or not Path(bpy.path.abspath(tree.hm_step_path)).is_file():
            self.report({"ERROR"}, f"STEP file '{tree.hm_step_path}' not found: choose one in the sidebar")
            return None
        try:
            overrides = json.loads(self.overrides) if self.overrides else {}
        except json.JSONDecodeError as exc:
            self.report({"ERROR"}, f"overrides: not valid JSON: {exc}")
            return None
        wf = checked_workflow(self, tree)
        if wf is None:
            return None
        return tree, wf, overrides

    def execute(self, context: Any) -> set[str]:
        """The synchronous path: background mode, scripts and tests."""
        prepared = self.prepare(context)
        if prepared is None:
            return {"CANCELLED"}
        tree, wf, overrides = prepared
        tree.hm_run_state = "running"
        options = run_options(tree, capabilities(), overrides=overrides,
                              progress=lambda event: apply_event(tree, event))
        result = runtime().run_workflow(wf, order_line_for(tree, tree.hm_step_path), options)
        return self.report_result(context, tree, result)

    def report_result(self, context: Any, tree: Any, result: Any) -> set[str]:
        record = finish_run(tree, result)
        show_images(context, record)
        level = {"succeeded": "INFO", "cancelled": "WARNING"}.get(result.status, "ERROR")
        detail = f": {result.error}" if result.error else ""
        self.report({level}, f"run {result.run_id} {result.status}{detail} (outputs in {result.out_dir})")
        for note in helper_notes(record):
            self.report({"INFO"}, note)
        return {"FINISHED"} if result.status == "succeeded" else {"CANCELLED"}

    def invoke(self, context: Any, event: Any) -> set[str]:
        if bpy.app.background:
            return self.execute(context)
        prepared = self.prepare(context)
        if prepared is None:
            return {"CANCELLED"}
        tree, wf, overrides = prepared
        self._progress = _Progress()
        self._result: list[Any] = []
        caps = capabilities() - {"bpy"}  # bpy is not thread-safe: bpy nodes go to the helper
        options = run_options(tree, caps, overrides=overrides, progress=self._progress,
                              cancel=self._progress.cancel_requested)
        order_line = order_line_for(tree, tree.hm_step_path)
        self._tree_name = tree.name
        self._thread = threading.Thread(target=self._work, args=(wf, order_line, options), daemon=True)
        tree.hm_run_state, tree.hm_progress = "running", 0.0
        self._thread.start()
        self._timer = context.window_manager.event_timer_add(0.2, window=context.window)
        context.window_manager.modal_handler_add(self)
        return {"RUNNING_MODAL"}

    def _work(self, wf: Any, order_line: Any, options: Any) -> None:
        try:
            self._result.append(runtime().run_workflow(wf, order_line, options))
        except Exception as exc:  # reported on the UI thread, never a traceback to the user
            self._result.append(exc)

    def modal(self, context: Any, event: Any) -> set[str]:
        tree = bpy.data.node_groups.get(self._tree_name)
        if event.type == "ESC" and event.value == "PRESS":
            self._progress.cancelled = True
            if tree is not None:
                tree.hm_progress_message = "cancelling..."
        if event.type != "TIMER":
            return {"PASS_THROUGH"}
        while tree is not None and not self._progress.events.empty():
            apply_event(tree, self._progress.events.get())
        if context.area is not None:
            context.area.tag_redraw()
        if self._thread is not None and self._thread.is_alive():
            return {"PASS_THROUGH"}
        context.window_manager.event_timer_remove(self._timer)
        outcome = self._result[0] if self._result else RuntimeError("the run stopped without a result")
        if isinstance(outcome, Exception):
            if tree is not None:
                tree.hm_run_state = "failed"
            self.report({"ERROR"}, f"run failed: {outcome}")
            return {"CANCELLED"}
        if tree is None:
            return {"CANCELLED"}
        return self.report_result(context, tree, outcome)


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


CLASSES = (HARTOMAT_OT_dry_run, HARTOMAT_OT_run_local, HARTOMAT_OT_dispatch, HARTOMAT_OT_inspect_run,
           HARTOMAT_OT_clear_marks)
