"""Runs from the queue server: list the recent farm runs, and show one on the nodes.

The server keeps each job's runs (summary, node progress, log lines); the editor shows a farm run
the way it shows a local run.json: status colours, durations, attempts, log tails and outputs.
"""

from __future__ import annotations

import json
from typing import Any

import bpy

from . import farm_link, marks
from .engine_link import engine_module
from .ops_io import TreeOperatorMixin
from .prefs import addon_prefs

NO_SERVER = "no queue server is configured: set its URL and token in Preferences > Add-ons > HartOMat"


def require_server(op: Any, context: Any) -> tuple[str, str] | None:
    """URL and token of the configured server, else None with the reason reported."""
    server, token = farm_link.server_settings(addon_prefs(context))
    if not server:
        op.report({"ERROR"}, NO_SERVER)
        return None
    return server, token


def farm_errors() -> tuple[type[BaseException], ...]:
    """What a farm request may raise: the client's FarmError (a HartomatError), or RuntimeError
    when this build has no client or the server's answer lacks what the editor needs."""
    return engine_module("errors").HartomatError, RuntimeError, KeyError


def run_label(run: dict[str, Any]) -> str:
    return f"{run.get('product', '')} {run.get('output_type', '')}: {run.get('status', '')}"


class HARTOMAT_OT_list_farm_runs(TreeOperatorMixin, bpy.types.Operator):
    """Fetch the recent runs from the queue server into the sidebar's Farm Runs list"""

    bl_idname = "hartomat.list_farm_runs"
    bl_label = "Refresh Farm Runs"

    limit: bpy.props.IntProperty(name="Orders", default=10, min=1, max=100,
                                 description="How many of the newest orders to look at")

    def execute(self, context: Any) -> set[str]:
        tree = self.target_tree(context)
        settings = require_server(self, context) if tree is not None else None
        if settings is None:
            return {"CANCELLED"}
        try:
            runs = farm_link.recent_runs(*settings, limit=self.limit)
        except farm_errors() as exc:
            self.report({"ERROR"}, f"listing runs on {settings[0]} failed: {exc}")
            return {"CANCELLED"}
        tree.hm_farm_runs = json.dumps(runs)
        self.report({"INFO"}, f"{len(runs)} run(s) on {settings[0]}")
        return {"FINISHED"}


class HARTOMAT_OT_inspect_farm_run(TreeOperatorMixin, bpy.types.Operator):
    """Show a farm run on the nodes: status colours, durations, attempts, log tails, outputs"""

    bl_idname = "hartomat.inspect_farm_run"
    bl_label = "Inspect Farm Run"

    job_id: bpy.props.StringProperty(name="Job", description="The farm job whose run to show")
    run_id: bpy.props.StringProperty(name="Run", description="Which of the job's runs; empty = its latest")

    def execute(self, context: Any) -> set[str]:
        tree = self.target_tree(context)
        settings = require_server(self, context) if tree is not None else None
        if settings is None:
            return {"CANCELLED"}
        if not self.job_id:
            self.report({"ERROR"}, "inspect farm run: no job given (pick one from the Farm Runs list)")
            return {"CANCELLED"}
        try:
            record = farm_link.server_run(*settings, self.job_id, self.run_id)
        except farm_errors() as exc:
            self.report({"ERROR"}, f"loading job {self.job_id} from {settings[0]} failed: {exc}")
            return {"CANCELLED"}
        marks.show_run(tree, record)
        tree.hm_progress_message = f"farm run {record['run_id']} of job {self.job_id}"
        self.report({"INFO"}, f"showing farm run {record['run_id']} ({record['status']})")
        return {"FINISHED"}


CLASSES = (HARTOMAT_OT_list_farm_runs, HARTOMAT_OT_inspect_farm_run)
