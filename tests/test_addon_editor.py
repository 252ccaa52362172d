"""The add-on's node editor in the real bpy module: generated nodes, ids, JSON round trip,
validation on nodes, dirty marking, .blend save/reopen, clean re-registration."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from engine.legacy.presets import preset_workflow
from engine.model.node_definition import WORKFLOW_FAMILIES
from engine.model.registry import REGISTRY

bpy = pytest.importorskip("bpy")

from tests.addon_support import node, registered_addon, starter_tree  # noqa: E402


@pytest.fixture(scope="module")
def addon():
    yield from registered_addon()


def test_every_step_has_a_generated_node_with_typed_sockets(addon):
    from hartomat_addon.nodes import node_idname
    from hartomat_addon.sockets import socket_idname

    tree = bpy.data.node_groups.new("all nodes", "HartomatWorkflowTree")
    for definition in REGISTRY:
        created = tree.nodes.new(node_idname(definition.key))
        assert created.step_key == definition.key
        assert [s.identifier for s in created.inputs] == [p.name for p in definition.inputs]
        assert [s.identifier for s in created.outputs] == [p.name for p in definition.outputs]
        assert [s.bl_idname for s in created.outputs] == [socket_idname(str(p.kind)) for p in definition.outputs]
        assert [s.is_multi_input for s in created.inputs] == [p.multiple for p in definition.inputs]
    assert len(tree.nodes) == len(REGISTRY)
    assert len({n.hm_id for n in tree.nodes}) == len(REGISTRY)


def test_socket_colours_differ_by_kind(addon):
    tree = bpy.data.node_groups.new("colours", "HartomatWorkflowTree")
    still = tree.nodes.new("HartomatNode_blender_still")
    glb, image = still.inputs["GLB"], still.outputs["Image"]
    assert glb.draw_color(bpy.context, still) != image.draw_color(bpy.context, still)
    assert (glb.bl_idname, image.bl_idname) == ("HartomatSocket_glb", "HartomatSocket_image")


def test_settings_properties_follow_the_schema(addon):
    from hartomat_addon.nodes import node_idname

    tree = bpy.data.node_groups.new("props", "HartomatWorkflowTree")
    props = tree.nodes.new(node_idname("blender_still")).bl_rna.properties
    samples = props["hm_s_samples"]
    assert (samples.type, samples.default, samples.hard_min, samples.hard_max) == ("INT", 64, 1, 65536)
    assert samples.description == "Cycles samples per pixel"
    engine = props["hm_s_engine"]
    assert engine.type == "ENUM" and {i.identifier for i in engine.enum_items} == {"CYCLES", "WORKBENCH"}
    assert props["hm_s_denoise"].type == "BOOLEAN"
    assert props["hm_s_margin"].hard_max == pytest.approx(0.45)
    rules = tree.nodes.new(node_idname("material_map_resolve")).bl_rna.properties["hm_s_rules"]
    assert rules.type == "STRING" and rules.default == "[]"


def test_operator_only_settings_say_so_in_their_tooltip(addon):
    from hartomat_addon.nodes import node_idname

    tree = bpy.data.node_groups.new("trust", "HartomatWorkflowTree")
    for definition in REGISTRY:
        props = tree.nodes.new(node_idname(definition.key)).bl_rna.properties
        for name, record in definition.setting_trust().items():
            if "." not in name:
                tip = props[f"hm_s_{name}"].description
                assert ("operator-only" in tip) == (record["trust"] == "operator"), (definition.key, name, tip)


def test_field_groups_and_add_menu_categories_come_from_the_registry(addon):
    from hartomat_addon.menus import categories
    from hartomat_addon.nodes import node_idname

    listed = {item.nodetype for category in categories() for item in category.items(None)}
    assert listed == {node_idname(d.key) for d in REGISTRY}
    assert {c.name for c in categories()} == {d.family.title() for d in REGISTRY}


def test_ids_are_stable_unique_and_renaming_changes_nothing(addon):
    from hartomat_addon import tree_json

    tree = starter_tree("still")
    before = tree_json.tree_to_json(tree)
    node(tree, "still").name = "Hero shot"
    node(tree, "still").label = "Hero shot"
    assert tree_json.tree_to_json(tree) == before
    duplicate = tree.nodes.new("HartomatNode_blender_still")
    assert duplicate.hm_id == "blender_still"
    again = tree.nodes.new("HartomatNode_blender_still")
    assert again.hm_id == "blender_still_2"
    copied = node(tree, "still")
    clone = tree.nodes.new(copied.bl_idname)
    clone.copy(copied)
    assert clone.hm_id == "still_2"


@pytest.mark.parametrize("family", WORKFLOW_FAMILIES)
def test_starter_graphs_round_trip_to_identical_json(addon, family):
    from hartomat_addon import tree_json

    tree = starter_tree(family)
    first = tree_json.tree_to_json(tree)
    # nothing lost, nothing added; Load Starter Graph lays the nodes out afresh (positions are `ui` only)
    assert without_positions(first) == without_positions(preset_workflow(family).to_json())
    second = tree_json.tree_to_json(tree_json.load_document_into_tree(first, "first export"))
    assert second == first  # positions kept from here on


def without_positions(text: str) -> dict:
    doc = json.loads(text)
    for spec in doc["nodes"]:
        spec.get("ui", {}).pop("position", None)
    return doc


@pytest.mark.parametrize("family", WORKFLOW_FAMILIES)
def test_starters_are_laid_out_in_depth_columns_folded_into_bands_without_overlaps(addon, family):
    from hartomat_addon import layout

    tree = starter_tree(family)
    nodes = {n.hm_id: n for n in tree.nodes}
    edges = [(link.from_node.hm_id, link.to_node.hm_id) for link in tree.links]
    depth = layout.depths(list(nodes), edges)
    boxes = {i: (n.location.x, n.location.y, n.width, layout.estimated_height(n)) for i, n in nodes.items()}
    for a, (ax, ay, aw, ah) in boxes.items():  # no two nodes overlap
        for b, (bx, by, bw, bh) in boxes.items():
            assert a == b or ax + aw <= bx or bx + bw <= ax or ay - ah >= by or by - bh >= ay, (a, b)
    for source, target in edges:  # every edge runs right (same band) or down to the next band
        (sx, sy), (tx, ty) = nodes[source].location, nodes[target].location
        assert depth[target] > depth[source] and (tx > sx or ty < sy), (source, target)
    xs = sorted({round(n.location.x) for n in nodes.values()})
    assert len(xs) < max(depth.values()) + 1  # folded: fewer columns than depths
    assert all(n.width == layout.NODE_WIDTH for n in nodes.values())


def test_the_fold_follows_the_area_shape():
    from hartomat_addon import layout

    columns = [[f"n{d}_{r}" for r in range(2)] for d in range(9)]
    heights = {n: 150.0 for column in columns for n in column}
    tall, wide = layout.best_fold(columns, heights, 0.8), layout.best_fold(columns, heights, 3.0)
    assert 1 < tall < wide <= 9


def test_round_trip_keeps_policy_ui_and_values_blender_cannot_hold(addon):
    from hartomat_addon import tree_json

    doc = json.loads(preset_workflow("still").to_json())
    still = next(n for n in doc["nodes"] if n["id"] == "still")
    still["params"]["samples"] = 0  # below the property's minimum: kept verbatim, flagged by validation
    still["params"]["focal_length"] = 35.5
    still["policy"] = {"max_attempts": 3, "backoff_s": 0.5, "on_fail": "continue", "cache": False}
    still["ui"] = {"position": [1300.5, -20], "colour": "#ff0000"}
    doc["ui"] = {"zoom": 1.5}
    text = json.dumps(doc, indent=2) + "\n"
    tree = tree_json.load_document_into_tree(text, "edited.json")
    exported = json.loads(tree_json.tree_to_json(tree))
    exported_still = next(n for n in exported["nodes"] if n["id"] == "still")
    assert exported_still["params"]["samples"] == 0
    assert exported_still["params"]["focal_length"] == 35.5
    assert exported_still["policy"]["max_attempts"] == 3 and exported_still["policy"]["on_fail"] == "continue"
    assert exported_still["ui"] == {"colour": "#ff0000", "position": [1300.5, -20]}
    assert exported["ui"] == {"zoom": 1.5}
    assert tree_json.tree_to_json(tree_json.load_document_into_tree(tree_json.tree_to_json(tree), "x")) == \
        tree_json.tree_to_json(tree)
    node(tree, "still").hm_s_samples = 8  # a user edit replaces the raw value
    assert json.loads(tree_json.tree_to_json(tree))["nodes"][8]["params"]["samples"] == 8


def test_import_and_export_operators_use_files(addon, tmp_path):
    path = tmp_path / "turntable.json"
    path.write_text(preset_workflow("turntable").to_json())
    assert bpy.ops.hartomat.import_json(filepath=str(path)) == {"FINISHED"}
    tree = bpy.data.node_groups["turntable"]
    out = tmp_path / "out.json"
    assert bpy.ops.hartomat.export_json(filepath=str(out), tree_name=tree.name) == {"FINISHED"}
    assert out.read_text() == path.read_text()


def test_import_of_a_bad_file_reports_the_file_and_problem(addon, tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text('{"version": 1, "name": "x", "family": "still", "nodes": [{"id": "a", "step": "blender_stil"}]}')
    before = len(bpy.data.node_groups)
    with pytest.raises(RuntimeError, match=r"node 'a': unknown step 'blender_stil'; did you mean 'blender_still'"):
        bpy.ops.hartomat.import_json(filepath=str(bad))
    assert len(bpy.data.node_groups) == before


def test_validation_errors_land_on_the_right_nodes(addon):
    tree = starter_tree("still")
    bbox_link = next(link for link in tree.links if link.to_node.hm_id == "still"
                     and link.to_socket.identifier == "bbox")
    tree.links.remove(bbox_link)
    node(tree, "material_rules").hm_s_rules = json.dumps([{"material": "steel", "colour": "red"}])
    assert bpy.ops.hartomat.validate(tree_name=tree.name) == {"FINISHED"}
    problems = {(p["node_id"], p["code"]): p for p in json.loads(tree.hm_report)}
    assert ("still", "required_input_unconnected") in problems
    assert problems[("still", "required_input_unconnected")]["port"] == "bbox"
    assert problems[("material_rules", "invalid_setting")]["field"] == "rules.0.colour"
    flagged = {n.hm_id for n in tree.nodes if n.use_custom_color}
    assert flagged == {"still", "material_rules"}
    assert tuple(node(tree, "still").color) == pytest.approx((0.65, 0.12, 0.12))
    assert "bbox" in node(tree, "still").hm_problems
    assert node(tree, "glb_export").hm_problems == ""
    tree.links.new(node(tree, "bbox").outputs["BBox"], node(tree, "still").inputs["BBox"])
    node(tree, "material_rules").hm_s_rules = "[]"
    bpy.ops.hartomat.validate(tree_name=tree.name)
    assert json.loads(tree.hm_report) == [] and not any(n.use_custom_color for n in tree.nodes)


def test_broken_json_setting_is_an_error_on_its_node(addon):
    tree = starter_tree("still")
    node(tree, "material_rules").hm_s_rules = "[{not json"
    bpy.ops.hartomat.validate(tree_name=tree.name)
    (problem,) = json.loads(tree.hm_report)
    assert problem["node_id"] == "material_rules" and "'rules' is not valid JSON" in problem["message"]
    assert node(tree, "material_rules").use_custom_color


def test_edits_only_mark_the_tree_dirty(addon):
    tree = starter_tree("still")
    bpy.ops.hartomat.validate(tree_name=tree.name)
    assert not tree.hm_dirty and tree.hm_report == "[]"
    node(tree, "still").hm_s_samples = 0  # invalid, but nothing evaluates until asked
    assert tree.hm_dirty and tree.hm_report == "[]"
    tree.hm_dirty = False
    tree.links.remove(tree.links[0])
    tree.update_tag()
    bpy.context.view_layer.update()
    assert tree.hm_report == "[]"


def test_dispatch_without_a_server_says_so(addon, monkeypatch):
    monkeypatch.delenv("HARTOMAT_SERVER", raising=False)
    tree = starter_tree("still")
    with pytest.raises(RuntimeError, match="no queue server is configured"):
        bpy.ops.hartomat.dispatch(tree_name=tree.name)


def test_saved_blend_reopens_with_workflows_intact(addon, tmp_path):
    from hartomat_addon import tree_json

    trees = {family: starter_tree(family) for family in WORKFLOW_FAMILIES}
    node(trees["still"], "still").hm_s_samples = 4
    expected = {t.name: tree_json.tree_to_json(t) for t in trees.values()}
    path = tmp_path / "workflows.blend"
    bpy.ops.wm.save_as_mainfile(filepath=str(path))
    bpy.ops.wm.read_homefile(use_empty=True)
    assert not [t for t in bpy.data.node_groups if t.bl_idname == "HartomatWorkflowTree"]
    bpy.ops.wm.open_mainfile(filepath=str(path))
    reopened = {t.name: tree_json.tree_to_json(t) for t in bpy.data.node_groups
                if t.bl_idname == "HartomatWorkflowTree" and t.name in expected}
    assert reopened == expected


def test_unregister_leaves_nothing_and_register_restores_everything(addon):
    from hartomat_addon import tree_json

    tree = starter_tree("multi_angle")
    name, before = tree.name, tree_json.tree_to_json(tree)
    del tree  # a Python reference to a node tree does not survive its class being unregistered
    addon.unregister()
    leftovers = [name for name in dir(bpy.types) if name.startswith("HARTOMAT_")]
    leftovers += [d.key for d in REGISTRY if bpy.types.Node.bl_rna_get_subclass_py(f"HartomatNode_{d.key}")]
    leftovers += [k for k in ("glb", "image") if bpy.types.NodeSocket.bl_rna_get_subclass_py(f"HartomatSocket_{k}")]
    assert leftovers == []
    assert bpy.types.NodeTree.bl_rna_get_subclass_py("HartomatWorkflowTree") is None
    assert "validate" not in dir(bpy.ops.hartomat)
    addon.register()
    assert tree_json.tree_to_json(bpy.data.node_groups[name]) == before


def test_inspect_run_colours_nodes_from_a_run_json(addon, tmp_path):
    tree = starter_tree("still")
    summary = {"run_id": "r1", "status": "failed", "nodes": {
        "setup": {"step": "order_line_setup", "status": "succeeded", "attempt": 1, "duration": 0.01,
                  "outputs": []},
        "extract": {"step": "occ_object_extract", "status": "failed", "attempt": 3, "duration": 1.5,
                    "error": {"message": "broken STEP"}, "logs": ["reading", "failed"], "outputs": []}}}
    path = tmp_path / "run.json"
    path.write_text(json.dumps(summary))
    assert bpy.ops.hartomat.inspect_run(tree_name=tree.name, filepath=str(path)) == {"FINISHED"}
    extract = node(tree, "extract")
    record = json.loads(extract.hm_run)
    assert (extract.hm_status, record["attempts"], record["log_tail"]) == ("failed", 3, ["reading", "failed"])
    assert tuple(extract.color) == pytest.approx((0.65, 0.12, 0.12))
    assert node(tree, "setup").hm_status == "succeeded" and node(tree, "still").hm_status == ""
    bad = tmp_path / "bad.json"
    bad.write_text("[]")
    with pytest.raises(RuntimeError, match="not a run summary"):
        bpy.ops.hartomat.inspect_run(tree_name=tree.name, filepath=str(bad))


def test_settings_panel_groups_match_the_schema(addon):
    definition = REGISTRY.get("blender_still")
    groups = [g["name"] for g in definition.field_groups()]
    assert groups == ["Render", "Output", "Camera", "Farm"]
    assert Path(addon.__file__).parent.joinpath("node_draw.py").read_text().count("field_groups()") == 1


def test_a_run_records_log_tail_shows_each_line_once_and_its_warnings_apart():
    from hartomat_addon import run_record

    lines = ["10:00:01 imported a", "10:00:01 imported a", "10:00:02 imported a",
             "10:00:03 denoise: this Blender's Cycles has no OpenImageDenoise", "10:00:04 wrote still.png"]
    assert run_record.log_tail(lines) == [lines[0], lines[3], lines[4]]
    assert run_record.log_warnings(lines) == ["denoise: this Blender's Cycles has no OpenImageDenoise"]
