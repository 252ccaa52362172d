"""Setting parity: every legacy config setting reaches the graph node that owns it now, with the
same value, as the runtime resolves it (plan_workflow), in every preset whose graph has that node.

Each case carries the parity keys it proves; a check below keeps them equal to LEGACY_SETTING_MAP
so docs/parity.md cannot claim a proof the test does not make.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from engine.legacy.presets import LEGACY_SETTING_MAP, PRESETS, CameraAngle, LegacyPresetConfig, migrate_preset
from engine.model.context import OrderLine
from engine.model.node_settings import MaterialRule
from engine.runtime.options import RunOptions
from engine.runtime.planning import plan_workflow

ALL_CAPABILITIES = frozenset({"bpy", "ocp", "browser"})
RULES = [MaterialRule(name_pattern="*pin*", material="brass"), MaterialRule(colour="#ff0000", material="rubber")]
ANGLES = [CameraAngle(name="left", azimuth=-90.0, elevation=5.0), CameraAngle(name="top", azimuth=0.0, elevation=85.0,
                                                                                 view="auto")]


# pytest.mark.parity takes literal keys: scripts/make_parity.py reads them without running the tests
CASES = [
    pytest.param("engine", "WORKBENCH", id="engine",
                 marks=pytest.mark.parity("blender_still.engine", "blender_turntable.engine")),
    pytest.param("resolution_x", 333, id="resolution_x",
                 marks=pytest.mark.parity("blender_still.resolution_x", "blender_turntable.resolution_x")),
    pytest.param("resolution_y", 222, id="resolution_y",
                 marks=pytest.mark.parity("blender_still.resolution_y", "blender_turntable.resolution_y")),
    pytest.param("samples", 7, id="samples",
                 marks=pytest.mark.parity("blender_still.samples", "blender_turntable.samples")),
    pytest.param("adaptive_threshold", 0.2, id="adaptive_threshold",
                 marks=pytest.mark.parity("blender_still.adaptive_threshold", "blender_turntable.adaptive_threshold")),
    pytest.param("denoise", False, id="denoise",
                 marks=pytest.mark.parity("blender_still.denoise", "blender_turntable.denoise")),
    pytest.param("transparent", True, id="transparent",
                 marks=pytest.mark.parity("blender_still.transparent", "blender_turntable.transparent")),
    pytest.param("file_format", "JPEG", id="file_format",
                 marks=pytest.mark.parity("blender_still.file_format", "blender_turntable.file_format")),
    pytest.param("margin", 0.2, id="margin",
                 marks=pytest.mark.parity("blender_still.margin", "blender_turntable.margin")),
    pytest.param("focal_length", 85.0, id="focal_length",
                 marks=pytest.mark.parity("blender_still.focal_length", "blender_turntable.focal_length")),
    pytest.param("camera_angles", ANGLES, id="camera_angles",
                 marks=pytest.mark.parity("blender_still.azimuth", "blender_still.elevation", "blender_still.view_name",
                                          "blender_still.view")),
    pytest.param("frame_count", 12, id="frame_count",
                 marks=pytest.mark.parity("blender_turntable.frame_count")),
    pytest.param("fps", 12, id="fps",
                 marks=pytest.mark.parity("blender_turntable.fps")),
    pytest.param("turntable_elevation", 40.0, id="turntable_elevation",
                 marks=pytest.mark.parity("blender_turntable.elevation")),
    pytest.param("turntable_view", "fixed", id="turntable_view",
                 marks=pytest.mark.parity("blender_turntable.view")),
    pytest.param("video_format", "MKV", id="video_format",
                 marks=pytest.mark.parity("blender_turntable.video_format")),
    pytest.param("keep_frames", True, id="keep_frames",
                 marks=pytest.mark.parity("blender_turntable.keep_frames")),
    pytest.param("thumbnail_sizes", [64, 32], id="thumbnail_sizes",
                 marks=pytest.mark.parity("thumbnail_save.sizes")),
    pytest.param("linear_deflection", 0.5, id="linear_deflection",
                 marks=pytest.mark.parity("occ_glb_export.linear_deflection", "stl_cache_generate.linear_deflection")),
    pytest.param("angular_deflection", 0.3, id="angular_deflection",
                 marks=pytest.mark.parity("occ_glb_export.angular_deflection", "stl_cache_generate.angular_deflection")),
    pytest.param("material_rules", RULES, id="material_rules",
                 marks=pytest.mark.parity("material_map_resolve.rules")),
    pytest.param("default_material", "rubber", id="default_material",
                 marks=pytest.mark.parity("auto_populate_materials.default_material")),
    pytest.param("template", "studio_dark", id="template",
                 marks=pytest.mark.parity("resolve_template.template")),
    pytest.param("webhook_url", "http://127.0.0.1:9/hook", id="webhook_url",
                 marks=pytest.mark.parity("notify.webhook_url")),
]


def resolved_settings(config: LegacyPresetConfig, tmp_path: Path) -> list[tuple[str, dict[str, Any]]]:
    """(step, settings) of each node as the runtime would run the migrated graph."""
    step_file = tmp_path / "part.step"
    step_file.write_text("ISO-10303-21;\n")
    line = OrderLine(product="part", step_path=str(step_file), output_type=config.preset)
    plan = plan_workflow(migrate_preset(config), line, RunOptions(out_dir=tmp_path, capabilities=ALL_CAPABILITIES))
    return [(node.step, node.settings) for node in plan.nodes]


def expected_values(name: str, value: Any, field: str, nodes: int) -> list[Any]:
    """What the legacy pipeline would use for `field`, one entry per node that carries it
    (one still node per camera angle; every other setting is the same on each node)."""
    if name == "camera_angles":
        key = {"view_name": "name"}.get(field, field)
        return [getattr(angle, key) for angle in value]
    return [normalise(value)] * nodes


def normalise(value: Any) -> Any:
    return [v.model_dump() if hasattr(v, "model_dump") else v for v in value] if isinstance(value, list) else value


@pytest.mark.parametrize(("name", "value"), CASES)
def test_legacy_setting_reaches_its_graph_node(name: str, value: Any, tmp_path: Path,
                                              request: pytest.FixtureRequest) -> None:
    targets = LEGACY_SETTING_MAP[name]
    proved = {key for mark in request.node.iter_markers("parity") for key in mark.args}
    assert proved == {f"{step}.{field}" for step, field in targets}, "parity keys differ from LEGACY_SETTING_MAP"
    carried = 0
    for preset in PRESETS:
        config = PRESETS[preset].model_copy(update={name: value})
        nodes = resolved_settings(config, tmp_path)
        for step, field in targets:
            got = [normalise(settings[field]) for node_step, settings in nodes if node_step == step]
            if got:
                assert got == expected_values(name, value, field, len(got)), f"{preset}: {step}.{field}"
                carried += 1
    assert carried, f"no preset graph carries legacy setting {name!r}"


@pytest.mark.parity("export_blend.*", "stl_cache_generate.*", "threejs_render.*")
@pytest.mark.parametrize("formats", [[], ["blend"], ["stl", "threejs"], ["blend", "stl", "threejs"]])
def test_export_formats_add_exactly_their_nodes(formats: list[str]) -> None:
    steps = {"blend": "export_blend", "stl": "stl_cache_generate", "threejs": "threejs_render"}
    for preset in PRESETS:
        config = PRESETS[preset].model_copy(update={"export_formats": formats})
        present = {node.step for node in migrate_preset(config).nodes} & set(steps.values())
        assert present == {steps[f] for f in formats}, preset


@pytest.mark.parity("order_line_setup.output_type")
@pytest.mark.parametrize("preset", list(PRESETS))
def test_preset_name_becomes_the_output_type(preset: str, tmp_path: Path) -> None:
    assert LEGACY_SETTING_MAP["preset"] == [("order_line_setup", "output_type")]
    nodes = resolved_settings(PRESETS[preset], tmp_path)
    assert [s["output_type"] for step, s in nodes if step == "order_line_setup"] == [preset]


def test_every_legacy_setting_has_a_case() -> None:
    cased = {case.values[0] for case in CASES} | {"export_formats", "preset"}
    assert cased == set(LegacyPresetConfig.model_fields)
    assert set(LEGACY_SETTING_MAP) <= cased
