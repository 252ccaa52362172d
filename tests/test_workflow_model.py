"""The canonical workflow model: fields, JSON round-trip, version migration, the published schema."""

import gc
import json
import subprocess
import sys

import pytest

from engine.cli.cmd_schema import SCHEMA_PATH, schema_text
from engine.legacy.presets import PRESETS, preset_workflow
from engine.model.workflow import (
    CURRENT_VERSION,
    MIGRATIONS,
    Workflow,
    WorkflowLoadError,
    gc_paused,
    load_workflow,
    load_workflow_text,
    migrate_document,
    parse_workflow_document,
)

V0_DOC = {
    "version": 0,
    "name": "old editor graph",
    "nodes": [
        {"id": "s", "pipeline_step": "order_line_setup", "settings": {"output_type": "still"},
         "position": [10, 20]},
        {"id": "p", "pipeline_step": "resolve_step_path", "position": [300, 20], "ui": {"colour": "#ff0000"}},
    ],
    "links": [{"source": "s", "sourceHandle": "order_line", "target": "p", "targetHandle": "order_line"}],
}


@pytest.mark.parametrize("name", list(PRESETS))
def test_json_round_trip_is_lossless(name):
    workflow = preset_workflow(name)
    again = load_workflow_text(workflow.to_json())
    assert again == workflow
    assert again.to_json() == workflow.to_json()


def test_model_fields_match_the_design():
    workflow = Workflow.model_validate({
        "version": 1, "name": "n", "family": "still",
        "nodes": [{"id": "a", "step": "glb_bbox", "params": {"padding": 0.1}, "ui": {"position": [0, 0]}}],
        "edges": [{"source": "a", "source_output": "bbox", "target": "b", "target_input": "bbox"}],
        "ui": {"zoom": 1},
    })
    assert workflow.node("a").params == {"padding": 0.1}
    assert workflow.edges[0].target_input == "bbox"
    assert workflow.ui == {"zoom": 1}
    with pytest.raises(KeyError):
        workflow.node("missing")


def test_unknown_top_level_field_is_rejected_with_its_name():
    with pytest.raises(WorkflowLoadError, match="colour"):
        parse_workflow_document({"version": 1, "name": "n", "family": "still", "colour": "red"}, "g.json")


def test_v0_documents_migrate_forward_on_load():
    workflow = parse_workflow_document(json.loads(json.dumps(V0_DOC)))
    assert workflow.version == CURRENT_VERSION
    assert [n.step for n in workflow.nodes] == ["order_line_setup", "resolve_step_path"]
    assert workflow.node("s").params == {"output_type": "still"}
    assert workflow.node("s").ui == {"position": [10, 20]}
    assert workflow.node("p").ui == {"colour": "#ff0000", "position": [300, 20]}
    edge = workflow.edges[0]
    assert (edge.source_output, edge.target_input) == ("order_line", "order_line")
    assert workflow.family == "still"


def test_migration_table_covers_every_older_version():
    assert set(MIGRATIONS) == set(range(CURRENT_VERSION))
    assert migrate_document({"version": CURRENT_VERSION, "x": 1}) == {"version": CURRENT_VERSION, "x": 1}
    assert migrate_document({"nodes": []})["version"] == CURRENT_VERSION  # no version = v0


@pytest.mark.parametrize("version, message", [
    (99, "newer than this HartOMat"), (-1, "no migration"), ("1", "must be an integer"), (True, "integer")])
def test_bad_versions_are_named(version, message):
    with pytest.raises(WorkflowLoadError, match=message):
        parse_workflow_document({"version": version, "name": "n", "family": "still"}, "g.json")


@pytest.mark.parametrize("doc", [
    {"version": 0, "nodes": 5}, {"version": 0, "nodes": [1]}, {"version": 0, "links": [3]},
    {"version": 0, "nodes": [{"position": 1, "ui": 3}]}, {"version": 0, "links": {"a": 1}}])
def test_malformed_v0_documents_give_load_errors(doc):
    with pytest.raises(WorkflowLoadError, match="^g.json: "):
        parse_workflow_document(doc, "g.json")


def test_deeply_nested_json_is_a_load_error():
    with pytest.raises(WorkflowLoadError, match="nested too deeply"):
        load_workflow_text("[" * 100_000, "deep.json")


def test_unreadable_paths_name_the_file(tmp_path):
    with pytest.raises(WorkflowLoadError, match="missing.json: cannot read"):
        load_workflow(tmp_path / "missing.json")
    with pytest.raises(WorkflowLoadError, match="cannot read"):
        load_workflow(tmp_path)


def test_published_schema_file_is_current():
    assert SCHEMA_PATH.read_text() == schema_text(), "run `hartomat schema --write`"


def test_schema_command_prints_the_published_schema():
    done = subprocess.run([sys.executable, "-m", "engine", "schema"], capture_output=True, text=True, check=True)
    schema = json.loads(done.stdout)
    assert schema == json.loads(SCHEMA_PATH.read_text())
    assert {"version", "name", "family", "nodes", "edges", "ui"} <= set(schema["properties"])


def test_gc_pause_restores_the_collector_state():
    assert gc.isenabled()
    with pytest.raises(RuntimeError), gc_paused():
        assert not gc.isenabled()
        raise RuntimeError("boom")
    assert gc.isenabled()
    gc.disable()
    try:
        with gc_paused():
            pass
        assert not gc.isenabled()  # a caller that had it off keeps it off
    finally:
        gc.enable()
