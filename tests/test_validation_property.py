"""Property tests: whatever graph or JSON arrives, loading and validation answer, never crash."""

import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.model.registry import REGISTRY
from engine.model.validation import PROBLEM_CODES, WARNING_CODES, validate_workflow
from engine.model.workflow import Workflow, WorkflowLoadError, load_workflow_text, parse_workflow_document

STEPS = REGISTRY.keys()
PORTS = sorted({p.name for d in REGISTRY for p in d.inputs + d.outputs})
IDS = st.sampled_from(list("abcdefgh")) | st.text(min_size=1, max_size=4)
JSON_SCALARS = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8)
JSON = st.recursive(JSON_SCALARS, lambda inner: st.lists(inner, max_size=4)
                    | st.dictionaries(st.text(max_size=6), inner, max_size=4), max_leaves=20)
FIELDS = sorted({f for d in REGISTRY for f in d.settings_model.model_fields})
PARAMS = st.dictionaries(st.sampled_from(FIELDS) | st.text(max_size=5), JSON, max_size=3)

nodes = st.lists(st.fixed_dictionaries({
    "id": IDS, "step": st.sampled_from(STEPS) | st.text(min_size=1, max_size=12), "params": PARAMS}), max_size=12)
edges = st.lists(st.fixed_dictionaries({
    "source": IDS, "source_output": st.sampled_from(PORTS) | st.text(max_size=5),
    "target": IDS, "target_input": st.sampled_from(PORTS) | st.text(max_size=5)}), max_size=20)
FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FAST
@given(nodes, edges, st.sampled_from(["still", "turntable", "multi_angle", "still_with_exports", "x"]))
def test_random_graphs_never_crash_validation(node_list, edge_list, family):
    workflow = Workflow.model_validate({"name": "r", "family": family, "nodes": node_list, "edges": edge_list})
    report = validate_workflow(workflow)
    for problem in report.problems:
        assert problem.code in PROBLEM_CODES or problem.code in WARNING_CODES
        assert problem.message
        problem.line()
    json.dumps([p.model_dump(mode="json") for p in report.problems])


@FAST
@given(JSON)
def test_random_json_never_crashes_loading(doc):
    try:
        workflow = load_workflow_text(json.dumps(doc), "random.json")
    except WorkflowLoadError as exc:
        assert str(exc).startswith("random.json: ")
    else:
        validate_workflow(workflow)


@FAST
@given(st.fixed_dictionaries({"version": st.sampled_from([0, 1]) | JSON}, optional={
    "name": JSON, "family": JSON, "nodes": st.lists(JSON | st.fixed_dictionaries({}, optional={
        "id": JSON, "step": JSON, "pipeline_step": JSON, "settings": JSON, "position": JSON, "ui": JSON})),
    "edges": st.lists(JSON), "links": JSON}))
def test_random_workflow_shaped_documents_never_crash_loading(doc):
    try:
        validate_workflow(parse_workflow_document(doc, "doc"))
    except WorkflowLoadError as exc:
        assert str(exc).startswith("doc: ")


@FAST
@given(st.binary(max_size=200))
def test_random_bytes_never_crash_loading(data):
    try:
        load_workflow_text(data, "bytes")
    except WorkflowLoadError:
        pass
