"""The four legacy presets: each migrates to a valid DAG with every setting in the node that owns it."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from engine.legacy.presets import (
    LEGACY_SETTING_MAP,
    PRESETS,
    CameraAngle,
    LegacyPresetConfig,
    MaterialRule,
    migrate_preset,
    preset_workflow,
)
from engine.model.validation import validate_workflow

EXAMPLES = Path(__file__).parents[1] / "examples"
FORMAT_STEPS = {"blend": "export_blend", "stl": "stl_cache_generate", "threejs": "threejs_render"}

# every legacy field set away from its default, so a dropped setting cannot pass by accident
CHANGED = {
    "engine": "WORKBENCH", "resolution_x": 320, "resolution_y": 200, "samples": 7, "adaptive_threshold": 0.2,
    "denoise": False, "transparent": True, "file_format": "JPEG", "margin": 0.2, "focal_length": 85.0,
    "camera_angles": [CameraAngle(name="left", azimuth=-90, elevation=5),
                      CameraAngle(name="above", azimuth=10, elevation=70)],
    "frame_count": 12, "fps": 12, "turntable_elevation": 33.0, "video_format": "MKV", "keep_frames": True,
    "export_formats": ["blend", "stl", "threejs", "glb"], "thumbnail_sizes": [64, 96],
    "linear_deflection": 0.3, "angular_deflection": 0.2,
    "material_rules": [MaterialRule(name_pattern="*pin*", material="brass")],
    "default_material": "rubber", "template": "studio_dark", "webhook_url": "http://127.0.0.1:1/hook",
}


def nodes_of(workflow, step):
    return [n for n in workflow.nodes if n.step == step]


def expected_value(config, legacy_key, step, field, node):
    if legacy_key == "camera_angles":
        angle = next(a for a in config.camera_angles if a.name == node.params["view_name"])
        return getattr(angle, {"view_name": "name"}.get(field, field))
    value = getattr(config, legacy_key)
    return [v.model_dump() for v in value] if legacy_key == "material_rules" else value


def assert_settings_landed(config):
    workflow = migrate_preset(config)
    for legacy_key in LegacyPresetConfig.model_fields:
        if legacy_key == "preset":
            continue
        assert legacy_key in LEGACY_SETTING_MAP, f"legacy setting {legacy_key} has no home"
        for step, field in LEGACY_SETTING_MAP[legacy_key]:
            if field == "*":  # a format switches a whole node on
                fmt = next(f for f, s in FORMAT_STEPS.items() if s == step)
                assert bool(nodes_of(workflow, step)) == (fmt in config.export_formats), (legacy_key, step)
                continue
            for node in nodes_of(workflow, step):
                assert node.params.get(field) == expected_value(config, legacy_key, step, field, node), \
                    (config.preset, legacy_key, node.id, field)
    return workflow


@pytest.mark.parametrize("name", list(PRESETS))
def test_preset_dag_validates(name):
    report = validate_workflow(preset_workflow(name))
    assert report.problems == []


@pytest.mark.parametrize("name", list(PRESETS))
def test_preset_settings_land_in_their_nodes(name):
    assert_settings_landed(PRESETS[name])


@pytest.mark.parametrize("name", list(PRESETS))
def test_changed_settings_land_in_their_nodes(name):
    config = PRESETS[name].model_copy(update=CHANGED)
    workflow = assert_settings_landed(config)
    assert validate_workflow(workflow).ok
    renders = nodes_of(workflow, "blender_turntable" if name == "turntable" else "blender_still")
    assert renders, "the render node is missing"
    assert nodes_of(workflow, "thumbnail_save")[0].params["sizes"] == [64, 96]


def test_each_preset_renders_what_its_name_says():
    assert [n.id for n in nodes_of(preset_workflow("still"), "blender_still")] == ["still"]
    assert len(nodes_of(preset_workflow("multi_angle"), "blender_still")) == 4
    assert len(nodes_of(preset_workflow("turntable"), "blender_turntable")) == 1
    exports = preset_workflow("still_with_exports")
    assert {n.step for n in exports.nodes} >= {"export_blend", "stl_cache_generate", "threejs_render"}


def test_turntable_thumbnails_come_from_kept_frames():
    config = PRESETS["turntable"].model_copy(update={"thumbnail_sizes": [64], "keep_frames": False})
    workflow = migrate_preset(config)
    assert validate_workflow(workflow).ok
    assert nodes_of(workflow, "blender_turntable")[0].params["keep_frames"] is True
    assert any((e.source, e.source_output, e.target) == ("turntable", "frames", "thumbnails")
               for e in workflow.edges)


def test_every_render_output_is_published_through_output_save():
    for name in PRESETS:
        workflow = preset_workflow(name)
        published = {(e.source, e.source_output) for e in workflow.edges if e.target == "save"}
        for node in workflow.nodes:
            if node.step in ("blender_still", "blender_turntable"):
                assert any(src == node.id for src, _ in published), (name, node.id)


@pytest.mark.parametrize("name", list(PRESETS))
def test_examples_are_the_migrated_presets(name):
    assert json.loads((EXAMPLES / f"{name}.json").read_text()) == preset_workflow(name).canonical()


@pytest.mark.parametrize("name", list(PRESETS))
def test_examples_are_what_the_presets_command_writes(name, tmp_path):
    target = tmp_path / f"{name}.json"
    done = subprocess.run([sys.executable, "-m", "engine", "presets", name, "-o", str(target)],
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert target.read_text() == (EXAMPLES / f"{name}.json").read_text()


def test_presets_command_lists_and_rejects():
    listing = subprocess.run([sys.executable, "-m", "engine", "presets"], capture_output=True, text=True)
    assert listing.returncode == 0
    assert [line.split("\t")[0] for line in listing.stdout.splitlines()] == list(PRESETS)
    bad = subprocess.run([sys.executable, "-m", "engine", "presets", "stil"], capture_output=True, text=True)
    assert bad.returncode == 2 and "unknown preset 'stil'" in bad.stderr and "Traceback" not in bad.stderr
