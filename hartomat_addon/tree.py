"""The `HartOMat Workflow` node tree and the base every generated node class shares.

Edits never evaluate anything: `update()` callbacks fire many times per edit, so they only mark
the tree dirty; validation, planning and runs read a snapshot of the tree on request.
"""

from __future__ import annotations

import json
from typing import Any

import bpy

from .engine_link import node_definition, vocabulary

TREE_IDNAME = "HartomatWorkflowTree"


class _Registration:
    """While classes (re)register, Blender calls update() on half-registered trees: hands off."""

    active = False


def mark_dirty(tree: Any) -> None:
    """An edit: the tree needs validating again, and the run shown no longer is this graph's."""
    if _Registration.active or getattr(tree, "bl_idname", "") != TREE_IDNAME:
        return
    if not tree.hm_dirty:
        tree.hm_dirty = True
    if tree.hm_run and not tree.hm_run_stale and tree.hm_run_state != vocabulary.RunStatus.RUNNING:
        tree.hm_run_stale = True


def _family_search(_self: Any, _context: Any, _text: str) -> list[str]:
    return list(node_definition.WORKFLOW_FAMILIES)


class HartomatWorkflowTree(bpy.types.NodeTree):
    """A HartOMat render workflow; maps one to one to the canonical workflow JSON."""

    bl_idname = TREE_IDNAME
    bl_label = "HartOMat Workflow"
    bl_icon = "NODETREE"

    hm_name: bpy.props.StringProperty(name="Workflow Name", default="workflow",
                                      description="The workflow's name in its JSON")
    hm_family: bpy.props.StringProperty(name="Family", default=vocabulary.Preset.STILL.value, search=_family_search,
                                        description="Workflow family: still, turntable, multi_angle, ...")
    hm_ui: bpy.props.StringProperty(name="UI Data", default="", description="The workflow's `ui` JSON")
    hm_dirty: bpy.props.BoolProperty(name="Changed", default=True,
                                     description="Edited since the last validation")
    hm_report: bpy.props.StringProperty(default="", description="Last validation problems (JSON)")
    hm_validated: bpy.props.BoolProperty(default=False)
    hm_plan: bpy.props.StringProperty(default="", description="Last dry-run plan (JSON)")
    hm_run: bpy.props.StringProperty(default="", description="The run shown on the nodes (JSON)")
    hm_run_state: bpy.props.StringProperty(default="", description="the last run's RunStatus (empty: none yet)")
    hm_run_stale: bpy.props.BoolProperty(default=False, description="Edited since the run shown")
    hm_progress: bpy.props.FloatProperty(default=0.0, min=0.0, max=1.0, subtype="FACTOR")
    hm_progress_message: bpy.props.StringProperty(default="")
    hm_dispatch: bpy.props.StringProperty(default="", description="The last order sent to the farm (JSON)")
    hm_farm_runs: bpy.props.StringProperty(default="", description="Recent runs on the queue server (JSON)")
    hm_step_path: bpy.props.StringProperty(name="STEP File", subtype="FILE_PATH",
                                           description="The STEP file a local run renders")
    hm_out_dir: bpy.props.StringProperty(name="Output Folder", subtype="DIR_PATH",
                                         description="Where local runs write; empty = a folder beside the .blend "
                                                     "or in the temp folder")

    def update(self) -> None:
        mark_dirty(self)


def json_prop(owner: Any, name: str, default: Any = None) -> Any:
    """A JSON text property decoded, or `default` when empty or unreadable."""
    text = getattr(owner, name, "")
    if not text:
        return default
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return default
