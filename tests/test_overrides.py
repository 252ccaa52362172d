"""One override API (engine/model/overrides.py): merge precedence, `--set` parsing, `hartomat
render`'s options as overrides, legacy bounds from the node settings, and the farm's order check
refusing what the planner refuses, in the same words."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import pytest

from engine.cli import cmd_render, main
from engine.errors import HartomatError
from engine.legacy.presets import (
    LEGACY_SETTING_MAP,
    PRESETS,
    RESHAPED_KEYS,
    LegacyPresetConfig,
    legacy_overrides,
    migrate_preset,
    preset_workflow,
)
from engine.model.context import OrderLine
from engine.model.overrides import (
    merge_overrides,
    override_problems,
    overrides_for,
    parse_set,
    parse_sets,
    step_override_problems,
)
from engine.model.registry import REGISTRY
from engine.runtime import PlanError, RunOptions, plan_workflow


def test_merge_is_field_by_field_and_a_later_source_wins():
    output_type = {"blender_still": {"samples": 8, "engine": "CYCLES"}, "thumbnails": {"sizes": [64]}}
    line = {"blender_still": {"samples": 2}, "still": {"view": "fixed"}}
    merged = merge_overrides(output_type, line)
    assert merged == {"blender_still": {"samples": 2, "engine": "CYCLES"}, "thumbnails": {"sizes": [64]},
                      "still": {"view": "fixed"}}
    assert output_type["blender_still"] == {"samples": 8, "engine": "CYCLES"}  # the sources stay as they were
    assert merge_overrides() == {} and merge_overrides(line) == line


def test_a_node_id_beats_a_step_key_whichever_source_names_it():
    earlier = {"still": {"samples": 3}, "blender_still": {"engine": "CYCLES"}}
    later = {"blender_still": {"samples": 9, "engine": "WORKBENCH"}}
    assert overrides_for("still", "blender_still", earlier, later) == {"samples": 3, "engine": "WORKBENCH"}
    assert overrides_for("still_front", "blender_still", earlier, later) == {"samples": 9, "engine": "WORKBENCH"}


@pytest.mark.parametrize("item, parsed", [
    ("still.samples=16", ("still", "samples", 16)),
    ("still.view=fixed", ("still", "view", "fixed")),
    ("thumbnails.sizes=[32, 64]", ("thumbnails", "sizes", [32, 64])),
    ("still.denoise=false", ("still", "denoise", False)),
    ("a.b.c=x=y", ("a.b", "c", "x=y")),
    ("still.view_name=", ("still", "view_name", "")),
])
def test_parse_set_reads_json_else_text(item, parsed):
    assert parse_set(item) == parsed


@pytest.mark.parametrize("item", ["still", "still=16", "still.samples", ".samples=1", "still.=1", "=1"])
def test_parse_set_refuses_what_is_not_node_field_value(item):
    with pytest.raises(HartomatError, match=r"^--set .*: expected NODE\.FIELD=VALUE, e\.g\. still\.samples=16$"):
        parse_set(item)


def test_parse_sets_a_later_set_wins():
    assert parse_sets(["still.samples=2", "still.view=fixed", "still.samples=4"]) == {
        "still": {"samples": 4, "view": "fixed"}}


def render_args(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    cmd_render.register(parser.add_subparsers())
    return parser.parse_args(["render", "part.step", *argv])


OPTIONS = ["--resolution", "96", "--samples", "8", "--engine", "WORKBENCH", "--frames", "6", "--transparent"]
EQUIVALENT_SETS = [f"{step}.{field}={value}" for step in ("blender_still", "blender_turntable")
                   for field, value in [("resolution_x", 96), ("resolution_y", 96), ("samples", 8),
                                        ("engine", "WORKBENCH"), ("transparent", "true")]]
EQUIVALENT_SETS.append("blender_turntable.frame_count=6")


def test_render_options_are_the_overrides_of_the_equivalent_set():
    assert cmd_render.render_overrides(render_args(*OPTIONS)) == parse_sets(EQUIVALENT_SETS)
    assert cmd_render.render_overrides(render_args()) == {}


def test_every_render_option_maps_through_the_legacy_setting_map():
    for option, keys in cmd_render.OPTION_SETTINGS.items():
        assert set(keys) <= set(LEGACY_SETTING_MAP) - RESHAPED_KEYS, option
    with pytest.raises(ValueError, match="camera_angles"):
        legacy_overrides({"camera_angles": []})


def test_a_set_wins_over_a_render_option():
    args = render_args("--samples", "8", "--set", "blender_still.samples=2", "--set", "still.samples=5")
    overrides = cmd_render.render_overrides(args)
    assert overrides["blender_still"]["samples"] == 2 and overrides["blender_turntable"]["samples"] == 8
    plan = plan_workflow(preset_workflow("still"), OrderLine(), plan_options(overrides))
    assert plan_settings(plan)["still"]["samples"] == 5


def plan_options(overrides: dict[str, dict[str, Any]]) -> RunOptions:
    return RunOptions(overrides=overrides, capabilities=frozenset(), use_cache=False)


def plan_settings(plan: Any) -> dict[str, dict[str, Any]]:
    return {node.node_id: node.settings for node in plan.nodes}


@pytest.mark.parametrize("preset", list(PRESETS))
def test_options_as_overrides_plan_what_the_changed_legacy_config_migrates_to(preset):
    """The graph path (preset graph + overrides) and the legacy path (config with the options,
    migrated) resolve every node to the same settings."""
    args = render_args("--preset", preset, *OPTIONS)
    by_overrides = plan_workflow(preset_workflow(preset), OrderLine(output_type=preset),
                                 plan_options(cmd_render.render_overrides(args)))
    by_config = plan_workflow(migrate_preset(cmd_render.preset_config(args)), OrderLine(output_type=preset),
                              plan_options({}))
    assert plan_settings(by_overrides) == plan_settings(by_config)


@pytest.mark.parametrize("argv, message", [
    (["--resolution", "4"], "bad option: --resolution: step 'blender_still': setting 'resolution_x': "
                            "Input should be greater than or equal to 16 (got 4)"),
    (["--samples", "0"], "bad option: --samples: step 'blender_still': setting 'samples': "
                         "Input should be greater than or equal to 1 (got 0)"),
    (["--frames", "1"], "bad option: --frames: step 'blender_turntable': setting 'frame_count': "
                        "Input should be greater than or equal to 2 (got 1)"),
    (["--set", "still.samples"], "--set 'still.samples': expected NODE.FIELD=VALUE"),
])
def test_bad_render_options_are_one_line_naming_the_option(tmp_path, capsys, argv, message):
    step = tmp_path / "part.step"
    step.write_text("not read: the options are refused first")
    code = main(["render", str(step), "-o", str(tmp_path / "out"), *argv])
    err = capsys.readouterr().err
    assert code == 2 and message in err and "Traceback" not in err and len(err.strip().splitlines()) == 1


def owned_pairs() -> list[tuple[str, str, str]]:
    return [(key, step, field) for key, pairs in LEGACY_SETTING_MAP.items() if key not in RESHAPED_KEYS
            for step, field in pairs]


@pytest.mark.parametrize("key, step, field", owned_pairs())
def test_a_legacy_setting_has_the_default_and_bounds_of_the_node_setting(key, step, field):
    legacy = LegacyPresetConfig.model_fields[key]
    setting = REGISTRY.get(step).settings_model.model_fields[field]
    assert legacy.annotation == setting.annotation, (key, step, field)
    assert legacy.get_default(call_default_factory=True) == setting.get_default(call_default_factory=True)
    assert legacy.metadata == setting.metadata, (key, step, field)


def test_every_legacy_setting_is_mapped_or_reshaped():
    assert RESHAPED_KEYS <= set(LEGACY_SETTING_MAP)
    assert set(LegacyPresetConfig.model_fields) == set(LEGACY_SETTING_MAP)


BAD = {"still": {"samples": 0, "engine": "EEVEE"}, "blender_still": {"margin": 0.9}, "nope": {"x": 1}}


def test_step_checks_name_the_step_and_field():
    assert step_override_problems(REGISTRY, {"blender_still": {"samples": 0}, "nope": {}}) == [
        "step 'blender_still': setting 'samples': Input should be greater than or equal to 1 (got 0)",
        "override 'nope' is not a step key"]


def test_the_order_check_and_the_planner_refuse_a_bad_override_in_the_same_words(tmp_path: Path):
    from server_bridge.auth import Principal
    from server_bridge.catalog import seed_presets
    from server_bridge.db import Store, now
    from server_bridge.orders import OrderError, create_order

    workflow = preset_workflow("still")
    with pytest.raises(PlanError) as planned:
        plan_workflow(workflow, OrderLine(overrides=BAD), plan_options({}))
    assert planned.value.problems == override_problems(workflow, REGISTRY, BAD)
    assert len(planned.value.problems) == 4

    store = Store(tmp_path / "farm.sqlite")
    seed_presets(store)
    sha = "0" * 64
    with store.tx() as c:
        c.execute("INSERT INTO files VALUES (?, ?, ?, ?)", (sha, 1, "part.step", now()))
        c.execute("INSERT INTO file_owners VALUES (?, ?, ?, ?)", (sha, "tok", 1, now()))  # tok's upload
    with pytest.raises(OrderError) as ordered:
        create_order(store, Principal("tok", "test", "submit"),
                     [{"output_type": "still", "step_sha256": sha, "overrides": BAD}], None)
    assert str(ordered.value) == f"lines[0].overrides: {'; '.join(planned.value.problems)}"
    assert store.one("SELECT COUNT(*) AS n FROM orders")["n"] == 0
