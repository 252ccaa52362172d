"""The node registry: every design step, fully described, served as stable JSON by `hartomat nodes`;
and for every registered node, its definition, settings model and executor agree (they live
together in one `engine/nodes/` module, registered by `@node`).

The add-on's node classes and menus (tests/test_addon_editor.py) and the HTTP node-definitions
(tests/test_farm_api.py, tests/test_farm_security.py) are checked against REGISTRY where they are built.
"""

import importlib
import inspect
import json
import subprocess
import sys

import pytest

from engine.model.artifacts import ArtifactKind
from engine.model.node_definition import NodeDefinition, NodeSettings
from engine.model.registry import REGISTRY, DuplicateStepError, NodeDefinitionRegistry, UnknownStepError, node
from engine.nodes import FAMILY_MODULES
from engine.runtime.calls import ref_of, resolve_ref

BRIDGES = [d for d in REGISTRY if d.composite_of]

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
    assert REGISTRY.executor(key).__name__ == key
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
                      "version", "defaults", "artifact_roles"):
            assert field in entry, (entry["key"], field)
    assert set(nodes_json["artifact_kinds"]) == {str(k) for k in ArtifactKind}
    assert not any("module_key" in entry for entry in by_key.values())


def test_nodes_json_is_stable(nodes_json):
    assert nodes_json == json.loads(json.dumps(REGISTRY.describe()))
    assert [d["key"] for d in nodes_json["definitions"]] == REGISTRY.keys()


def test_registry_lookup_and_suggestions():
    with pytest.raises(UnknownStepError):
        REGISTRY.get("blender_stil")
    assert REGISTRY.closest("blender_stil") == "blender_still"
    assert REGISTRY.closest("zzzzzzzz") is None


def test_executor_override_and_copy_do_not_touch_the_shared_registry():
    registry = REGISTRY.copy()
    definition = registry.get("glb_bbox")
    registry.register(definition, lambda call: {"bbox": None}, replace=True)
    assert registry.executor("glb_bbox")(None) == {"bbox": None}
    registry.unregister("notify")
    assert "notify" not in registry and "notify" in REGISTRY
    assert len(NodeDefinitionRegistry()) == 0


# -- definition, settings model and executor agree, for every registered node ------------------------
ALL_KEYS = REGISTRY.keys()


def _module_of(key: str) -> str:
    return REGISTRY.executor(key).__module__


@pytest.mark.parametrize("key", ALL_KEYS)
def test_each_node_has_a_callable_executor_beside_its_settings(key):
    definition = REGISTRY.get(key)
    executor = REGISTRY.executor(key)
    assert callable(executor)
    assert list(inspect.signature(executor).parameters) == ["call"], f"{key}: an executor takes the NodeCall only"
    module = executor.__module__
    assert module.rpartition(".")[0] == "engine.nodes" and module.rpartition(".")[2] in FAMILY_MODULES
    assert resolve_ref(ref_of(executor)) is executor, f"{key}: a spawned process cannot find its executor"
    assert issubclass(definition.settings_model, NodeSettings)
    if not definition.composite_of:  # a node's own settings model lives in its module
        assert definition.settings_model.__module__ == module, (key, definition.settings_model)


@pytest.mark.parametrize("key", ALL_KEYS)
def test_ports_and_settings_names_are_consistent(key):
    definition = REGISTRY.get(key)
    for ports in (definition.inputs, definition.outputs):
        names = [p.name for p in ports]
        assert len(names) == len(set(names)), f"{key}: a port name repeats"
        assert all(name.isidentifier() for name in names)
    fields = definition.settings_model.model_fields
    assert all(name.isidentifier() for name in fields)
    spec = definition.fan_out
    if spec is not None:
        for name in (spec.count, spec.start, spec.end, spec.size, spec.switch):
            assert not name or name in fields, f"{key}: fan-out names setting '{name}' it does not have"
        assert set(spec.parts) <= {p.name for p in definition.outputs}
        if spec.assembler:
            module, _, function = spec.assembler.partition(":")
            assert callable(getattr(importlib.import_module(module), function))


@pytest.mark.parametrize("key", ALL_KEYS)
def test_defaults_validate(key):
    definition = REGISTRY.get(key)
    defaults = definition.default_settings()
    assert definition.settings_model.model_validate(defaults).model_dump(mode="json") == defaults


@pytest.mark.parametrize("key", [d.key for d in BRIDGES])
def test_a_bridge_wraps_registered_steps_and_their_settings_models(key):
    bridge = REGISTRY.get(key)
    produced: set[str] = set()
    for step in bridge.composite_of:
        inner = REGISTRY.get(step)
        assert bridge.settings_model.model_fields[step].annotation is inner.settings_model
        given = {p.name for p in bridge.inputs} | produced
        assert {p.name for p in inner.inputs if p.required} <= given, (key, step)
        produced |= {p.name for p in inner.outputs}
    assert {p.name for p in bridge.outputs} <= produced


def test_every_family_module_registers_a_node():
    modules = {_module_of(key) for key in ALL_KEYS}
    assert modules == {f"engine.nodes.{family}" for family in FAMILY_MODULES}


def test_a_duplicate_registration_fails():
    registry = NodeDefinitionRegistry()
    definition = REGISTRY.get("glb_bbox")
    registry.register(definition, REGISTRY.executor("glb_bbox"))
    with pytest.raises(DuplicateStepError, match="'glb_bbox' is registered twice"):
        registry.register(definition, lambda call: {})
    registry.register(definition, lambda call: {"bbox": None}, replace=True)
    assert registry.executor("glb_bbox")(None) == {"bbox": None}
    with pytest.raises(DuplicateStepError):
        node(definition)(lambda call: {})  # the shared registry, as a second @node would
    assert REGISTRY.executor("glb_bbox").__module__ == "engine.nodes.cad"


def test_a_registration_without_a_callable_executor_fails():
    bogus = NodeDefinition.model_validate({**REGISTRY.get("notify").model_dump(), "key": "t_bogus"})
    with pytest.raises(TypeError, match="not callable"):
        NodeDefinitionRegistry().register(bogus, "engine.nodes.output.notify")  # type: ignore[arg-type]


def test_the_model_loads_the_nodes_only_on_first_read():
    """engine.model sits below engine.nodes: importing it imports no node module (nor bpy or OCP);
    the registry's first read does."""
    script = ("import sys\n"
              "import engine.model.registry, engine.model.validation, engine.model.fanout, engine.runtime\n"
              "assert not [m for m in sys.modules if m.startswith('engine.nodes')], 'nodes imported early'\n"
              "from engine.model.registry import REGISTRY\n"
              "assert 'blender_still' in REGISTRY and 'engine.nodes.render' in sys.modules\n"
              "assert 'bpy' not in sys.modules and 'OCP' not in sys.modules\n")
    subprocess.run([sys.executable, "-c", script], check=True)


def test_validation_messages_are_in_words_and_never_repeat_the_port():
    from engine.legacy.presets import preset_workflow
    from engine.model.node_definition import words
    from engine.model.validation import validate_workflow
    from engine.model.workflow import parse_workflow_document

    doc = json.loads(preset_workflow("still").to_json())
    doc["edges"] = [e for e in doc["edges"] if (e["target"], e["target_input"]) != ("still", "bbox")]
    next(n for n in doc["nodes"] if n["id"] == "notify")["params"]["webhook_url"] = "ftp://example.com/hook"
    problems = {p.code: p.message for p in validate_workflow(parse_workflow_document(doc, source="t")).problems}
    assert problems["required_input_unconnected"] == "required input 'bbox' is not connected"
    assert problems["invalid_setting"] == \
        'value "ftp://example.com/hook" is not allowed: expected an http:// or https:// URL, or empty'
    assert [words(k) for k in ("cad_parts", "glb", "OPEN_EXR", "PNG", "step_file")] == \
        ["CAD Parts", "GLB", "Open EXR", "PNG", "STEP File"]
