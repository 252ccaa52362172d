"""Run Locally: the workflow on a STEP file in the hosting Blender.

In the editor a modal operator steps the run (engine.runtime.run_steps) on Blender's main thread
from a timer: bpy nodes (the renders) run there, in this Blender, one per tick, and a still
renders as Blender's own render job (as F12 does: progress in the status bar, the UI live, Esc
stops it and the run ends cancelled, nothing written); CAD nodes run in the helper interpreter and
the rest on worker threads, so the UI stays live between nodes, progress shows on the nodes and
Esc cancels. Headless Blender never fires timers, so there (and
when called from scripts and tests) the same operator runs synchronously in this process.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import bpy

from . import marks, run_record, status_report
from .engine_link import engine_module, vocabulary
from .image_view import forget_images, show_images
from .layout import frame_soon
from .node_draw import host_interpreter
from .ops_io import TreeOperatorMixin
from .ops_run import capabilities, checked_workflow, order_line_for, run_options, runtime
from .tree import json_prop

NodeStatus, RunStatus = vocabulary.NodeStatus, vocabulary.RunStatus


class RunProgress:
    """Progress events onto the tree and its nodes: node colours, the run's share done, a line
    for the sidebar and the status bar. Events arrive on Blender's main thread."""

    def __init__(self, tree: Any, node_count: int) -> None:
        self.tree_name, self.total = tree.name, max(1, node_count)
        self.finished: set[str] = set()
        self.line = ""

    def __call__(self, event: Any) -> None:
        tree = bpy.data.node_groups.get(self.tree_name)
        if tree is None:
            return
        node = marks.hartomat_nodes(tree).get(event.node_id)
        if node is not None and event.status == NodeStatus.RUNNING and event.message:
            marks.show_node_status(node, event.status, {"status": event.status, "message": event.message})
        elif node is not None and event.status:
            marks.show_node_status(node, event.status)
        if event.status in FINISHED:
            self.finished.add(event.node_id)
        running = float(event.fraction or 0.0) if event.status == NodeStatus.RUNNING else 0.0
        tree.hm_progress = min(1.0, (len(self.finished) + running) / self.total)
        self.line = f"{event.node_id}: {event.status} {event.message}".strip()
        tree.hm_progress_message = self.line


FINISHED = frozenset({NodeStatus.SUCCEEDED, NodeStatus.CACHED, NodeStatus.FAILED, NodeStatus.SKIPPED,
                      NodeStatus.CANCELLED})


def helper_notes(record: dict[str, Any]) -> list[str]:
    """'extract, glb_export ran in the helper interpreter /path/python', one per interpreter."""
    return [f"{', '.join(nodes)} ran in the helper interpreter {interpreter}"
            for interpreter, nodes in run_record.foreign_interpreters(record, host_interpreter()).items()]


def failed_nodes(record: dict[str, Any]) -> list[str]:
    """"node 'still' (blender_still) failed: <message>", one per failed node."""
    return [f"node '{node_id}' ({node.get('step')}) failed: {run_record.error_message(node)}"
            for node_id, node in record.get("nodes", {}).items() if node.get("status") == NodeStatus.FAILED]


def outcome(result: Any, record: dict[str, Any], seconds: float) -> tuple[str, str]:
    """The run's last word for the status bar: (report level, text) naming the failing node and
    its error, or how long a successful run took."""
    failures = failed_nodes(record)
    head = f"run {result.run_id} {result.status}"
    if result.status == RunStatus.SUCCEEDED:
        return "INFO", f"{head} in {seconds:.1f} s (outputs in {result.out_dir})"
    if failures:
        more = f" (and {len(failures) - 1} more failed node(s))" if len(failures) > 1 else ""
        return "ERROR", f"{head}: {failures[0]}{more}"
    if result.status == RunStatus.CANCELLED:
        return "WARNING", head
    return "ERROR", f"{head}: {result.error}" if result.error else head


def remove_render_scene() -> None:
    """The scene a render node built (template, product, materials, world) leaves the user's file."""
    if vocabulary.Capability.BPY in capabilities():
        engine_module("render.blender.scene").reset()


def finish_run(tree: Any, result: Any, seconds: float) -> tuple[str, str]:
    """The run onto the nodes and the sidebar, its summary written, its scene removed; returns
    the outcome to report. Notes (where nodes ran) go to the sidebar and the console only."""
    remove_render_scene()
    record = run_record.from_result(result)
    marks.show_run(tree, record)
    result.write_summary()
    level, text = outcome(result, record, seconds)
    notes = helper_notes(record)
    for note in notes:
        print(f"HartOMat: {note}")
    tree.hm_progress = 1.0
    tree.hm_progress_message = "; ".join([text, *notes])
    return level, text


def start_fresh(tree: Any) -> None:
    """A run starts (or is refused): the previous run's marks, inspection and images go."""
    forget_images(json_prop(tree, "hm_run", {}))
    marks.clear_run(tree)
    tree.hm_run_state, tree.hm_progress, tree.hm_progress_message = "", 0.0, ""


def step_nodes(tree: Any) -> list[Any]:
    """The nodes that read the STEP file (resolve_step_path), else the order line's setup."""
    nodes = list(marks.hartomat_nodes(tree).values())
    return [n for n in nodes if n.step_key == "resolve_step_path"] or \
        [n for n in nodes if n.step_key == "order_line_setup"]


class HARTOMAT_OT_run_local(TreeOperatorMixin, bpy.types.Operator):
    """Run the workflow here on the chosen STEP file; progress on the nodes, Esc cancels"""

    bl_idname = "hartomat.run_local"
    bl_label = "Run Locally"

    step_path: bpy.props.StringProperty(name="STEP File", subtype="FILE_PATH", options={"SKIP_SAVE"},
                                        description="STEP file to run on; empty = the tree's")
    overrides: bpy.props.StringProperty(name="Overrides", default="", options={"SKIP_SAVE"},
                                        description="JSON: node id or step key -> {field: value}")

    def prepare(self, context: Any) -> tuple[Any, Any, Any] | None:
        tree = self.target_tree(context)
        if tree is None:
            return None
        start_fresh(tree)
        self._started = time.monotonic()
        if self.step_path:
            tree.hm_step_path = self.step_path
        try:
            overrides = json.loads(self.overrides) if self.overrides else {}
        except json.JSONDecodeError as exc:
            self.report({"ERROR"}, f"overrides: not valid JSON: {exc}")
            return None
        wf = checked_workflow(self, tree)
        if wf is None:
            return None
        if not tree.hm_step_path or not Path(bpy.path.abspath(tree.hm_step_path)).is_file():
            return self.refuse_step(tree)
        self.warn_undenoised(tree, wf, overrides)
        return tree, wf, overrides

    def warn_undenoised(self, tree: Any, wf: Any, overrides: dict[str, Any]) -> None:
        """Before rendering: render nodes asking for a denoiser this Blender lacks (the planner's
        warning), in the status bar while the run goes and in the console."""
        try:
            plan = runtime().plan_workflow(wf, order_line_for(tree, tree.hm_step_path),
                                           run_options(tree, capabilities(), overrides=overrides))
        except engine_module("errors").HartomatError:
            return  # the run itself reports what is wrong
        warnings = [w for w in plan.warnings if "denois" in w]
        for warning in warnings:
            print(f"HartOMat: warning: {warning}")
        if warnings:  # a report of its own: an invoke's reports never reach the status bar from scripts
            more = f" (and {len(warnings) - 1} more render node(s))" if len(warnings) > 1 else ""
            status_report.show(f"HartOMat: {warnings[0]}{more}", "WARNING")

    def refuse_step(self, tree: Any) -> None:
        """A missing STEP file: the error on the node that reads it; nothing is run or written."""
        message = f"STEP file '{tree.hm_step_path}' not found: choose one in the sidebar"
        for node in step_nodes(tree):
            marks.show_node_status(node, NodeStatus.FAILED, {"status": NodeStatus.FAILED, "step": node.step_key,
                                                    "error": {"type": "FileNotFoundError", "message": message}})
        tree.hm_run_state, tree.hm_progress_message = RunStatus.FAILED, message
        self.report({"ERROR"}, message)

    def execute(self, context: Any) -> set[str]:
        """The synchronous path: background mode, scripts and tests."""
        prepared = self.prepare(context)
        if prepared is None:
            return {"CANCELLED"}
        tree, wf, overrides = prepared
        tree.hm_run_state = RunStatus.RUNNING
        options = run_options(tree, capabilities(), overrides=overrides,
                              progress=RunProgress(tree, len(wf.nodes)))
        result = runtime().run_workflow(wf, order_line_for(tree, tree.hm_step_path), options)
        return self.report_result(context, tree, result)

    def report_result(self, context: Any, tree: Any, result: Any) -> set[str]:
        level, text = finish_run(tree, result, time.monotonic() - self._started)
        show_images(context, json_prop(tree, "hm_run", {}), getattr(self, "_area", None))
        frame_soon(getattr(self, "_window", None), getattr(self, "_area", None))
        self.report({level}, f"HartOMat: {text}")  # the one report: the status bar shows the run's outcome
        return {"FINISHED"} if result.status == RunStatus.SUCCEEDED else {"CANCELLED"}

    # -- the editor: a modal operator steps the run between UI events -----------------------------
    def invoke(self, context: Any, event: Any) -> set[str]:
        if bpy.app.background:
            return self.execute(context)
        tree = self.target_tree(context)
        if tree is not None and tree.name in RUNNING:
            self.report({"ERROR"}, f"'{tree.name}' is running already; Esc cancels it")
            return {"CANCELLED"}
        prepared = self.prepare(context)
        if prepared is None:
            return {"CANCELLED"}
        return self._start(context, *prepared)

    def _start(self, context: Any, tree: Any, wf: Any, overrides: dict[str, Any]) -> set[str]:
        """Open the run and hand it to the modal timer."""
        self._cancelled = False
        self._tree_name, self._area = tree.name, context.area
        self._window, self._scene = context.window, context.window.scene
        self._progress = RunProgress(tree, len(wf.nodes))
        options = run_options(tree, capabilities(), ui_thread=True, overrides=overrides, progress=self._progress,
                              cancel=lambda: self._cancelled)
        tree.hm_run_state, tree.hm_progress, tree.hm_progress_message = RunStatus.RUNNING, 0.0, "starting"
        self._steps = runtime().run_steps(wf, order_line_for(tree, tree.hm_step_path), options, wait=0.0)
        try:
            next(self._steps)  # plans and opens the run: a graph that cannot run fails here
        except engine_module("errors").HartomatError as exc:
            tree.hm_run_state, tree.hm_progress_message = RunStatus.FAILED, str(exc)
            self.report({"ERROR"}, str(exc))
            return {"CANCELLED"}
        RUNNING.add(tree.name)
        self._timer = context.window_manager.event_timer_add(TICK_S, window=context.window)
        context.window_manager.modal_handler_add(self)
        self._status(context, "HartOMat: running; Esc cancels")
        return {"RUNNING_MODAL"}

    def modal(self, context: Any, event: Any) -> set[str]:
        if event.type == "ESC" and event.value == "PRESS" and not self._cancelled:
            self._cancelled = True
            self._status(context, "HartOMat: cancelling...")
            return {"RUNNING_MODAL"}
        if event.type != "TIMER":
            return {"PASS_THROUGH"}
        try:
            next(self._steps)  # one bpy node here, or a look at the off-thread ones
        except StopIteration as done:
            return self._finished(context, done.value)
        except Exception as exc:  # the run is recorded as failed; the user gets the reason, not a traceback
            return self._finished(context, None, exc)
        finally:
            self._keep_scene()
        self._status(context, f"HartOMat: {self._progress.line}; Esc cancels")
        _redraw_node_editors(context)
        return {"RUNNING_MODAL"}

    def _finished(self, context: Any, result: Any, error: Exception | None = None) -> set[str]:
        context.window_manager.event_timer_remove(self._timer)
        RUNNING.discard(self._tree_name)
        self._status(context, None)
        tree = bpy.data.node_groups.get(self._tree_name)
        _redraw_node_editors(context)
        if error is not None or tree is None:
            remove_render_scene()
            if tree is not None:
                tree.hm_run_state, tree.hm_progress_message = RunStatus.FAILED, f"run failed: {error}"
            self.report({"ERROR"}, f"HartOMat: run failed: {error or 'the workflow was deleted'}")
            return {"CANCELLED"}
        return self.report_result(context, tree, result)

    def _keep_scene(self) -> None:
        """A render node builds its own scene and makes it the window's; the user's comes back
        once no render job uses it (switching the window's scene under a running job crashes)."""
        if bpy.app.is_job_running("RENDER"):
            return
        try:
            if self._window.scene != self._scene:
                self._window.scene = self._scene
        except ReferenceError:  # the window or the scene went away meanwhile
            pass

    @staticmethod
    def _status(context: Any, text: str | None) -> None:
        workspace = getattr(context, "workspace", None)
        if workspace is not None:
            workspace.status_text_set(text)


TICK_S = 0.1
RUNNING: set[str] = set()  # trees with a modal run in progress: one run per tree at a time


def _redraw_node_editors(context: Any) -> None:
    for window in context.window_manager.windows:
        for area in window.screen.areas:
            if area.type in ("NODE_EDITOR", "IMAGE_EDITOR"):
                area.tag_redraw()


CLASSES = (HARTOMAT_OT_run_local,)
