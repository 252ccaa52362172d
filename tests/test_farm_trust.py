"""Trust on every key, and bounded work (issue 30, findings 3 and 6), against a real `hartomat serve`
on 127.0.0.1.

Every key of an order line's overrides is checked, whether or not the output type's graph has a
node of that step, in every mode (graph, legacy, shadow, and graph with the legacy fallback): a
key naming no node of the graph is a 422, and an operator-only setting under any key a run could
reach is a 422 naming it. Render size x samples and mesh deflection are bounded by limits the
operator sets (HARTOMAT_MAX_RENDER_WORK, HARTOMAT_MIN_DEFLECTION), checked at submission.
"""

from __future__ import annotations

import hashlib
from typing import Any

import pytest
from farm_support import FarmServer, token

from engine.model.registry import REGISTRY
from engine.model.vocabulary import Mode

PROBES = {"it names a path on the worker": "/etc/passwd",
          "it names a URL the worker or server sends to": "http://127.0.0.1:1/hook",
          "it names an environment variable of the worker": "PATH",
          "it names a program the worker runs": "/bin/sh"}


def _operator_cases() -> list[Any]:
    """Every operator-only setting of every step, keyed by its step (most are absent from the graphs)."""
    cases = []
    for definition in REGISTRY:
        for name, record in definition.operator_settings().items():
            outer, _, inner = name.partition(".")
            values: dict[str, Any] = {outer: {inner: PROBES[record["reason"]]}} if inner else \
                {name: PROBES[record["reason"]]}
            cases.append(pytest.param(definition.key, values, name, id=f"{definition.key}.{name}"))
    return cases


@pytest.fixture(scope="module")
def farm(tmp_path_factory: pytest.TempPathFactory):
    data = tmp_path_factory.mktemp("farm-trust")
    tokens = {role: token(data, role) for role in ("submit", "admin")}
    server = FarmServer(data, env={"HARTOMAT_MAX_RENDER_WORK": str(2048 * 2048 * 1024),
                                   "HARTOMAT_MIN_DEFLECTION": "0.01"}).start()
    preset = server.call("GET", "/api/output-types/still", tokens["admin"]).json()
    for mode in Mode:  # the still preset's graph, served in every mode, with and without the fallback
        for fallback in (True, False):
            reply = server.call("PUT", f"/api/output-types/still_{mode}_{int(fallback)}", tokens["admin"], json={
                "family": "still", "artifact_kind": "image", "workflow_id": preset["workflow_id"], "mode": mode,
                "legacy_fallback": fallback})
            assert reply.status_code == 200, reply.text
    yield server, tokens
    server.stop()


def _order(server: FarmServer, tok: str, output_type: str, overrides: dict[str, Any]) -> Any:
    body = f"ISO-10303-21; trust {output_type} {sorted(overrides)}".encode()
    sha = hashlib.sha256(body).hexdigest()
    assert server.call("POST", "/api/files", tok, data=body, headers={"X-Sha256": sha}).status_code == 201
    return server.call("POST", "/api/orders", tok, json={"lines": [
        {"output_type": output_type, "step_sha256": sha, "overrides": overrides}]})


OUTPUT_TYPES = [f"still_{mode}_{int(fallback)}" for mode in Mode for fallback in (True, False)]


@pytest.mark.parametrize(("step", "values", "setting"), _operator_cases())
def test_every_operator_setting_under_every_step_key_is_refused_in_every_mode(farm, step, values, setting):
    server, tokens = farm
    before = len(server.call("GET", "/api/orders", tokens["admin"], params={"limit": 1000}).json())
    for output_type in OUTPUT_TYPES:
        reply = _order(server, tokens["submit"], output_type, {step: values})
        assert reply.status_code == 422, (output_type, reply.text)
        detail = reply.json()["detail"]
        in_graph = step in {"order_line_setup", "resolve_step_path", "resolve_template", "notify"}
        assert f"setting '{setting}' may not be set by an order" in detail or \
            (not in_graph and f"override '{step}' names a step no node of" in detail), detail
    assert len(server.call("GET", "/api/orders", tokens["admin"], params={"limit": 1000}).json()) == before


@pytest.mark.parametrize("output_type", OUTPUT_TYPES)
def test_a_key_naming_no_node_of_the_graph_is_refused(farm, output_type):
    server, tokens = farm
    for key, values in (("blender_turntable", {"samples": 4}), ("stl_cache_generate", {"binary": True}),
                        ("bridge_legacy_still", {})):
        reply = _order(server, tokens["submit"], output_type, {key: values})
        assert reply.status_code == 422, reply.text
        assert f"override '{key}' names a step no node of" in reply.json()["detail"], reply.text
    unknown = _order(server, tokens["submit"], output_type, {"no_such_node": {"samples": 4}})
    assert unknown.status_code == 422 and "override 'no_such_node' names neither a node id" in unknown.text
    ok = _order(server, tokens["submit"], output_type, {"blender_still": {"samples": 4}, "thumbnails": {}})
    assert ok.status_code == 201, ok.text


# --- bounds on work, with operator-set limits ------------------------------------------------

@pytest.mark.parametrize(("overrides", "says"), [
    ({"still": {"resolution_x": 16384, "resolution_y": 16384, "samples": 65536}}, "render work"),
    ({"still": {"resolution_x": 4096, "resolution_y": 4096, "samples": 1024}}, "render work"),
    ({"glb_export": {"linear_deflection": 1e-9}}, "linear_deflection"),
    ({"glb_export": {"angular_deflection": 1e-9}}, "angular_deflection"),
])
def test_render_work_and_mesh_deflection_past_the_operators_limits_are_refused(farm, overrides, says):
    server, tokens = farm
    reply = _order(server, tokens["submit"], "still_graph_1", overrides)
    assert reply.status_code == 422, reply.text
    assert says in reply.json()["detail"] and "HARTOMAT_" in reply.json()["detail"], reply.text


def test_work_inside_the_limits_is_accepted(farm):
    server, tokens = farm
    reply = _order(server, tokens["submit"], "still_graph_1", {
        "still": {"resolution_x": 2048, "resolution_y": 2048, "samples": 1024},
        "glb_export": {"linear_deflection": 0.01, "angular_deflection": 0.1}})
    assert reply.status_code == 201, reply.text
