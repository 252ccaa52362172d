"""The node registry: every design step, fully described, served as stable JSON by `hartomat nodes`."""

import json
import subprocess
import sys

import pytest

from engine.model.artifacts import ArtifactKind
from engine.model.node_catalog import BRIDGES, CORE
from engine.model.registry import REGISTRY, NodeDefinitionRegistry, UnknownStepError

DESIGN_STEPS = (
    "resolve_step_path", "occ_object_extract", "occ_glb_export", "glb_bbox", "material_map_resolve",
    "auto_populate_materials", "blender_render", "threejs_render", "thumbnail_save", "order_line_setup",
    "resolve_template", "blender_still", "blender_turntable", "output_save", "export_blend",
    "stl_cache_generate", "notify",
)
CAPABILITIES = {"bpy", "ocp", "browser"}


@pytest.fixture(scope="module")
def nodes_json():
    done = subprocess.run([sys.executable, "-m", "engine", "nodes"], capture_output=True, text=True, check=True)
    return json.loads(done.stdout)


def test_all_design_steps_are_registered():
    assert len(DESIGN_STEPS) == 17
    assert set(DESIGN_STEPS) <= set(REGISTRY.keys())


@pytest.mark.parametrize("key", DESIGN_STEPS)
def test_each_definition_is_complete(key):
    definition = REGISTRY.get(key)
    assert definition.key == key and definition.version >= 1
    assert definition.label and definition.description and definition.family
    module, _, func = definition.module_key.rpartition(".")
    assert module and func == key or definition.composite_of
    schema = definition.settings_schema()
    assert schema["type"] == "object"
    grouped = [f for group in definition.field_groups() for f in group["fields"]]
    assert sorted(grouped) == sorted(schema.get("properties", {}))
    assert definition.outputs, f"{key} produces nothing"
    for port in definition.inputs + definition.outputs:
        assert port.kinds and all(isinstance(k, ArtifactKind) for k in port.kinds)
    assert set(definition.capabilities) | set(definition.optional_capabilities) <= CAPABILITIES
    definition.settings_model.model_validate(definition.default_settings())


@pytest.mark.parametrize("key, capability", [
    ("occ_object_extract", "ocp"), ("occ_glb_export", "ocp"), ("stl_cache_generate", "ocp"),
    ("blender_still", "bpy"), ("blender_turntable", "bpy"), ("blender_render", "bpy"), ("export_blend", "bpy")])
def test_capabilities_follow_the_libraries_a_step_needs(key, capability):
    assert capability in REGISTRY.get(key).capabilities


def test_pure_steps_need_no_capability():
    for key in ("order_line_setup", "material_map_resolve", "auto_populate_materials", "output_save", "notify"):
        assert REGISTRY.get(key).capabilities == ()
    assert REGISTRY.get("threejs_render").optional_capabilities == ("browser",)


def test_settings_carry_bounds_choices_and_defaults():
    props = REGISTRY.get("blender_still").settings_schema()["properties"]
    assert props["engine"]["enum"] == ["CYCLES", "WORKBENCH"]
    assert props["resolution_x"]["minimum"] == 16 and props["resolution_x"]["maximum"] == 16384
    assert props["samples"]["default"] == 64
    assert props["resolution_x"]["group"] == "Output"


def test_output_roles_are_declared():
    assert REGISTRY.get("blender_turntable").artifact_roles() == {
        "video": "turntable_video", "frames": "turntable_frames"}
    assert REGISTRY.get("occ_glb_export").artifact_roles() == {"glb": "glb_model"}


def test_bridge_nodes_wrap_legacy_chains_with_every_wrapped_setting():
    assert {b.key for b in BRIDGES} == {"bridge_legacy_cad", "bridge_legacy_still"}
    for bridge in BRIDGES:
        assert bridge.composite_of and bridge.family == "bridge"
        assert set(bridge.settings_model.model_fields) == set(bridge.composite_of)
        defaults = bridge.default_settings()
        for step in bridge.composite_of:
            assert defaults[step] == REGISTRY.get(step).default_settings()
        group_names = [g["name"] for g in bridge.field_groups()]
        assert group_names == [REGISTRY.get(step).label for step in bridge.composite_of]
    cad = REGISTRY.get("bridge_legacy_cad")
    assert [p.name for p in cad.outputs] == ["step_file", "cad_parts", "glb", "bbox"]


def test_nodes_command_lists_every_definition_completely(nodes_json):
    assert nodes_json["schema_version"] == 1
    by_key = {d["key"]: d for d in nodes_json["definitions"]}
    assert set(DESIGN_STEPS) | {b.key for b in BRIDGES} == set(by_key)
    for entry in by_key.values():
        for field in ("settings_schema", "field_groups", "inputs", "outputs", "family", "capabilities",
                      "module_key", "version", "defaults", "artifact_roles"):
            assert field in entry, (entry["key"], field)
    assert set(nodes_json["artifact_kinds"]) == {str(k) for k in ArtifactKind}


def test_nodes_json_is_stable(nodes_json):
    assert nodes_json == json.loads(json.dumps(REGISTRY.describe()))
    assert [d["key"] for d in nodes_json["definitions"]] == [d.key for d in CORE + BRIDGES]


def test_registry_lookup_and_suggestions():
    with pytest.raises(UnknownStepError):
        REGISTRY.get("blender_stil")
    assert REGISTRY.closest("blender_stil") == "blender_still"
    assert REGISTRY.closest("zzzzzzzz") is None


def test_executor_override_and_copy_do_not_touch_the_shared_registry():
    registry = REGISTRY.copy()
    definition = registry.get("glb_bbox")
    registry.register(definition, executor=lambda call: {"bbox": None})
    assert registry.executor("glb_bbox")(None) == {"bbox": None}
    registry.unregister("notify")
    assert "notify" not in registry and "notify" in REGISTRY
    assert len(NodeDefinitionRegistry()) == 0
