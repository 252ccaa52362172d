"""Runs inside a Blender (the bpy module or a Blender executable): installs the HartOMat
extension zip with Blender's own operator, enables it, and exercises it as a user would.

With a STEP file as third argument (a Blender without OCP), it also runs the bundled CAD graph
with the Run Locally operator's synchronous path: the CAD nodes must run in the helper interpreter
of the add-on preferences, and the node records and the run message must name it.

Usage: python extension_checks.py ZIP OUT_DIR [STEP]  |  blender -b --python extension_checks.py -- ZIP OUT_DIR [STEP]
Prints HARTOMAT_EXTENSION_OK at the end; any failure raises (exit code 1 with --python-exit-code 1).
"""

import importlib
import json
import sys

import bpy

addon_utils = importlib.import_module("addon_utils")  # on the path only once bpy is imported

MODULE = "bl_ext.user_default.hartomat"
FAMILIES = ("still", "turntable", "multi_angle", "still_with_exports")
args = sys.argv[sys.argv.index("--") + 1:] if "--" in sys.argv else sys.argv[1:]
zip_path, out_dir = args[0], args[1]
step_file = args[2] if len(args) > 2 else ""


def hartomat_trees():
    return [t for t in bpy.data.node_groups if t.bl_idname == "HartomatWorkflowTree"]


def registered_node_types(keys):
    return [key for key in keys if bpy.types.Node.bl_rna_get_subclass_py(f"HartomatNode_{key}")]


result = bpy.ops.extensions.package_install_files(filepath=zip_path, repo="user_default", enable_on_install=True)
assert result == {"FINISHED"}, result
assert addon_utils.check(MODULE)[1], "the extension is not enabled after install"
ext = sys.modules[MODULE]
from bl_ext.user_default.hartomat import engine_link, tree_json  # noqa: E402

assert engine_link.ENGINE_PACKAGE == MODULE + ".vendor.engine", engine_link.ENGINE_PACKAGE
print("python", sys.version.split()[0], "blender", bpy.app.version_string, "engine", engine_link.ENGINE_PACKAGE)

# every node type
tree = bpy.data.node_groups.new("every node", "HartomatWorkflowTree")
tree.use_fake_user = True
for key in engine_link.REGISTRY.keys():
    tree.nodes.new(f"HartomatNode_{key}")
assert len(tree.nodes) == len(engine_link.REGISTRY)

def without_positions(text):
    doc = json.loads(text)
    for spec in doc["nodes"]:
        spec.get("ui", {}).pop("position", None)
    return doc


# every starter graph: validates clean and round-trips to identical JSON
for family in FAMILIES:
    assert bpy.ops.hartomat.load_starter(family=family) == {"FINISHED"}
    starter = next(t for t in hartomat_trees() if t.hm_family == family and t.name != "every node")
    assert bpy.ops.hartomat.validate(tree_name=starter.name) == {"FINISHED"}
    errors = [p for p in json.loads(starter.hm_report) if p["severity"] == "error"]
    assert errors == [], errors
    first = tree_json.tree_to_json(starter)  # the same graph; Load Starter Graph lays it out afresh
    assert without_positions(first) == without_positions(engine_link.presets.preset_workflow(family).to_json())
    assert tree_json.tree_to_json(tree_json.load_document_into_tree(first, "export")) == first

# a validation error lands on its node
still = bpy.data.node_groups["still (migrated)"]
still.links.remove(next(link for link in still.links if link.to_node.hm_id == "bbox"))
bpy.ops.hartomat.validate(tree_name=still.name)
flagged = sorted(n.hm_id for n in still.nodes if n.use_custom_color)
assert flagged == ["bbox"], flagged
expected = {t.name: tree_json.tree_to_json(t) for t in hartomat_trees()}

# disable -> enable in one session: no leftovers, trees intact
del tree, still, starter
bpy.ops.preferences.addon_disable(module=MODULE)
STEP_KEYS = engine_link.REGISTRY.keys()
assert registered_node_types(STEP_KEYS) == []
assert bpy.types.NodeTree.bl_rna_get_subclass_py("HartomatWorkflowTree") is None
assert "validate" not in dir(bpy.ops.hartomat)
bpy.ops.preferences.addon_enable(module=MODULE)
from bl_ext.user_default.hartomat import tree_json  # noqa: E402,F811

assert registered_node_types(STEP_KEYS) == STEP_KEYS
assert {t.name: tree_json.tree_to_json(t) for t in hartomat_trees()} == expected

# save and reopen
blend = f"{out_dir}/workflows.blend"
bpy.ops.wm.save_as_mainfile(filepath=blend)
bpy.ops.wm.read_homefile(use_empty=True)
bpy.ops.wm.open_mainfile(filepath=blend)
assert {t.name: tree_json.tree_to_json(t) for t in hartomat_trees()} == expected


def run_cad_graph_in_the_helper(step):
    """cad_convert.json: OCP nodes in the helper interpreter, glb_bbox in Blender's own Python."""
    from pathlib import Path

    from bl_ext.user_default.hartomat import ops_run
    from bl_ext.user_default.hartomat.prefs import addon_prefs

    helper = addon_prefs().helper_python
    assert helper and "ocp" not in ops_run.capabilities(), (helper, ops_run.capabilities())
    graphs = Path(engine_link.engine_module("model.workflow").__file__).parents[1] / "graphs"
    cad = tree_json.load_document_into_tree((graphs / "cad_convert.json").read_text(), "cad_convert.json")
    cad.hm_out_dir = f"{out_dir}/cad-run"
    assert bpy.ops.hartomat.run_local(tree_name=cad.name, step_path=step) == {"FINISHED"}, cad.hm_run
    nodes = json.loads(cad.hm_run)["nodes"]
    ran_in = {node_id: nodes[node_id]["interpreter"] for node_id in ("extract", "glb_export")}
    assert ran_in == {"extract": helper, "glb_export": helper}, ran_in
    here = bpy.app.binary_path or sys.executable  # nodes run in this process are named by its Blender
    assert nodes["setup"]["interpreter"] == here, nodes["setup"]
    assert nodes["bbox"]["interpreter"] == here, nodes["bbox"]
    assert nodes["bbox"]["status"] == "succeeded", nodes["bbox"]
    (glb,) = [o["path"] for o in nodes["glb_export"]["outputs"] if o["kind"] == "glb"]
    assert Path(glb).stat().st_size > 1000, glb
    assert f"extract, glb_export ran in the helper interpreter {helper}" in cad.hm_progress_message, \
        cad.hm_progress_message
    print("cad nodes ran in the helper:", helper, flush=True)


if step_file:
    run_cad_graph_in_the_helper(step_file)
print("HARTOMAT_EXTENSION_OK")
