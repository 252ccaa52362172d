"""Dispatch from the add-on to a real queue server (`hartomat serve` on a free loopback port)."""

from __future__ import annotations

import pytest

bpy = pytest.importorskip("bpy")

from tests.addon_support import registered_addon, starter_tree  # noqa: E402
from tests.farm_support import FarmServer, token  # noqa: E402


@pytest.fixture(scope="module")
def addon():
    yield from registered_addon()


@pytest.fixture()
def farm(tmp_path):
    server = FarmServer(data=tmp_path / "farm").start()
    yield server
    server.stop()


def test_dispatch_saves_the_workflow_and_submits_an_order(addon, farm, bearing_step, monkeypatch):
    admin = token(farm.data, "admin")
    monkeypatch.setenv("HARTOMAT_SERVER", farm.url)
    monkeypatch.setenv("HARTOMAT_TOKEN", admin)
    tree = starter_tree("still")
    assert bpy.ops.hartomat.dispatch(tree_name=tree.name, step_path=str(bearing_step)) == {"FINISHED"}
    import json

    sent = json.loads(tree.hm_dispatch)
    order = farm.call("GET", f"/api/orders/{sent['order']['id']}", admin).json()
    assert [line["output_type"] for line in order["lines"]] == ["editor_still_migrated"]
    output_type = farm.call("GET", "/api/output-types", admin).json()
    assert any(o["name"] == "editor_still_migrated" and o["workflow_id"] == sent["workflow_id"]
               for o in output_type)


def test_dispatch_with_a_refused_token_reports_the_server_answer(addon, farm, bearing_step, monkeypatch):
    monkeypatch.setenv("HARTOMAT_SERVER", farm.url)
    monkeypatch.setenv("HARTOMAT_TOKEN", "not-a-token")
    tree = starter_tree("still")
    with pytest.raises(RuntimeError, match=f"dispatch to {farm.url} failed"):
        bpy.ops.hartomat.dispatch(tree_name=tree.name, step_path=str(bearing_step))


def test_dispatch_to_a_server_that_is_down_says_so(addon, bearing_step, monkeypatch):
    monkeypatch.setenv("HARTOMAT_SERVER", "http://127.0.0.1:9")
    monkeypatch.setenv("HARTOMAT_TOKEN", "t")
    tree = starter_tree("still")
    with pytest.raises(RuntimeError, match="dispatch to http://127.0.0.1:9 failed"):
        bpy.ops.hartomat.dispatch(tree_name=tree.name, step_path=str(bearing_step))
