"""Run inspection from the queue server: a real `hartomat serve` on a free loopback port and a
real `hartomat worker` run a small graph dispatched from the add-on; the editor lists the farm's
recent runs and shows one on the nodes (status, duration, attempts, log tail, outputs)."""

from __future__ import annotations

import json

import pytest

bpy = pytest.importorskip("bpy")

from tests.addon_support import node, registered_addon  # noqa: E402
from tests.farm_support import FarmServer, start_worker, stop_process, token, wait_until  # noqa: E402

SMALL_GRAPH = {
    "version": 1, "name": "small", "family": "still",
    "nodes": [{"id": "setup", "step": "order_line_setup", "params": {}},
              {"id": "step", "step": "resolve_step_path", "params": {}}],
    "edges": [{"source": "setup", "source_output": "order_line", "target": "step", "target_input": "order_line"}],
}


@pytest.fixture(scope="module")
def addon():
    yield from registered_addon()


@pytest.fixture(scope="module")
def farm(tmp_path_factory):
    data = tmp_path_factory.mktemp("farm-runs")
    server = FarmServer(data=data).start()
    yield server, token(data, "admin"), token(data, "worker")
    server.stop()


@pytest.fixture()
def use_server(farm, monkeypatch):
    server, admin, _worker = farm
    monkeypatch.setenv("HARTOMAT_SERVER", server.url)
    monkeypatch.setenv("HARTOMAT_TOKEN", admin)
    return farm


@pytest.fixture(scope="module")
def farm_run(addon, farm, bearing_step, tmp_path_factory):
    """The small graph dispatched from the add-on and run by a real worker to the end."""
    from hartomat_addon import tree_json

    server, admin, worker_token = farm
    tree = tree_json.load_document_into_tree(json.dumps(SMALL_GRAPH), "small graph")
    with pytest.MonkeyPatch.context() as env:
        env.setenv("HARTOMAT_SERVER", server.url)
        env.setenv("HARTOMAT_TOKEN", admin)
        assert bpy.ops.hartomat.dispatch(tree_name=tree.name, step_path=str(bearing_step)) == {"FINISHED"}
    order_id = json.loads(tree.hm_dispatch)["order"]["id"]
    worker = start_worker(server, worker_token, tmp_path_factory.mktemp("worker") / "w", "addon-w", "--max-jobs", "1")
    try:
        order = wait_until(lambda: (o := server.call("GET", f"/api/orders/{order_id}", admin).json())["finished_at"]
                           and o, 120, "the farm run")
    finally:
        stop_process(worker)
    (line,) = order["lines"]
    return tree, line["job"]


def test_recent_farm_runs_are_listed_in_the_tree(use_server, farm_run):
    tree, job = farm_run
    tree.hm_farm_runs = ""
    assert bpy.ops.hartomat.list_farm_runs(tree_name=tree.name) == {"FINISHED"}
    runs = json.loads(tree.hm_farm_runs)
    mine = [r for r in runs if r["job_id"] == job["id"]]
    assert mine and mine[0]["run_id"] == job["run_id"] and mine[0]["status"] == job["status"] == "succeeded"
    assert mine[0]["output_type"] == json.loads(tree.hm_dispatch)["output_type"]
    assert mine[0]["product"] == "bearing"


def test_a_farm_run_lands_on_the_nodes(use_server, farm_run):
    tree, job = farm_run
    bpy.ops.hartomat.clear_marks(tree_name=tree.name)
    assert bpy.ops.hartomat.inspect_farm_run(tree_name=tree.name, job_id=job["id"]) == {"FINISHED"}
    run = json.loads(tree.hm_run)
    assert run["run_id"] == job["run_id"] and run["status"] == "succeeded"
    for node_id in ("setup", "step"):
        shown = node(tree, node_id)
        record = json.loads(shown.hm_run)
        assert shown.hm_status == "succeeded" and shown.use_custom_color, node_id
        assert record["duration_s"] >= 0 and record["attempts"] == 1, record
        assert any("succeeded" in line for line in record["log_tail"]), record["log_tail"]
    step_record = json.loads(node(tree, "step").hm_run)
    assert [o["kind"] for o in step_record["outputs"]] == ["step_file"]
    assert step_record["outputs"][0]["path"].endswith(".step")


def test_an_unknown_job_is_named_in_the_error(use_server, addon, farm_run):
    tree, _job = farm_run
    with pytest.raises(RuntimeError, match="loading job job-nope from .* failed: .*404"):
        bpy.ops.hartomat.inspect_farm_run(tree_name=tree.name, job_id="job-nope")


def test_farm_runs_without_a_server_say_so(addon, farm_run, monkeypatch):
    tree, job = farm_run
    monkeypatch.delenv("HARTOMAT_SERVER", raising=False)
    with pytest.raises(RuntimeError, match="no queue server is configured"):
        bpy.ops.hartomat.list_farm_runs(tree_name=tree.name)
    with pytest.raises(RuntimeError, match="no queue server is configured"):
        bpy.ops.hartomat.inspect_farm_run(tree_name=tree.name, job_id=job["id"])


def test_a_refused_token_is_reported(addon, farm, farm_run, monkeypatch):
    tree, _job = farm_run
    monkeypatch.setenv("HARTOMAT_SERVER", farm[0].url)
    monkeypatch.setenv("HARTOMAT_TOKEN", "not-a-token")
    with pytest.raises(RuntimeError, match="listing runs on .* failed: .*token was refused"):
        bpy.ops.hartomat.list_farm_runs(tree_name=tree.name)
