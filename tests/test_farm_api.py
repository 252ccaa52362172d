"""The farm server's API against a real `hartomat serve` process: auth on every route, bad
requests answered 4xx (never 500), workflows and output types validated, mode rollout recorded,
uploads size-limited and checked, workers confined to their own jobs' files."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from farm_support import FarmServer, token
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

ROLES = ("submit", "worker", "admin", "metrics")
SUBMIT = {"submit", "admin"}
ALL = {"submit", "worker", "admin"}  # every role but metrics, which may read /metrics only
# Every route of the API and the roles allowed on it. The test below fails when the OpenAPI
# document lists a route missing here, so a new endpoint cannot be left unprotected by accident.
EXPECTED_ROLES: dict[tuple[str, str], set[str]] = {
    ("post", "/api/tokens"): {"admin"},
    ("get", "/api/tokens"): {"admin"},
    ("post", "/api/tokens/{token_id}/revoke"): {"admin"},
    ("get", "/api/workflows/node-definitions"): ALL,
    ("get", "/api/workflows"): SUBMIT,
    ("post", "/api/workflows"): {"admin"},
    ("get", "/api/workflows/{workflow_id}"): SUBMIT,
    ("put", "/api/workflows/{workflow_id}"): {"admin"},
    ("get", "/api/output-types"): SUBMIT,
    ("get", "/api/output-types/{name}"): SUBMIT,
    ("put", "/api/output-types/{name}"): {"admin"},
    ("post", "/api/output-types/{name}/mode"): {"admin"},
    ("get", "/api/output-types/{name}/parity"): SUBMIT,
    ("get", "/api/workers"): {"admin"},
    ("delete", "/api/workers/{worker_id}/blocks"): {"admin"},
    ("post", "/api/files"): SUBMIT,
    ("get", "/api/files/{sha256}"): ALL,
    ("delete", "/api/files/{sha256}"): {"admin"},
    ("post", "/api/orders"): SUBMIT,
    ("get", "/api/orders"): SUBMIT,
    ("get", "/api/orders/{order_id}"): SUBMIT,
    ("post", "/api/orders/{order_id}/cancel"): SUBMIT,
    ("post", "/api/orders/{order_id}/priority"): SUBMIT,
    ("post", "/api/orders/{order_id}/pause"): SUBMIT,
    ("post", "/api/orders/{order_id}/resume"): SUBMIT,
    ("delete", "/api/orders/{order_id}"): SUBMIT,
    ("post", "/api/archive"): {"admin"},
    ("get", "/api/jobs/{job_id}"): SUBMIT,
    ("post", "/api/jobs/{job_id}/cancel"): SUBMIT,
    ("get", "/api/assets/{asset_id}"): ALL,
    ("post", "/api/workers/register"): {"worker"},
    ("post", "/api/workers/{worker_id}/claim"): {"worker"},
    ("post", "/api/workers/{worker_id}/sign-off"): {"worker"},
    ("post", "/api/jobs/{job_id}/heartbeat"): {"worker"},
    ("post", "/api/jobs/{job_id}/assets"): {"worker"},
    ("post", "/api/jobs/{job_id}/complete"): {"worker"},
    ("post", "/api/jobs/{job_id}/hand-back"): {"worker"},
    ("post", "/api/jobs/{job_id}/parts"): {"worker"},
    ("get", "/api/cache/entries/{key}"): {"worker"},
    ("put", "/api/cache/entries/{key}"): {"worker"},
    ("post", "/api/cache/files"): {"worker"},
    ("get", "/api/cache"): {"admin"},
    ("delete", "/api/cache"): {"admin"},
    ("get", "/api/me"): ALL,
    ("get", "/api/dashboard/orders"): SUBMIT,
    ("get", "/api/dashboard/orders/{order_id}"): SUBMIT,
    ("get", "/metrics"): {"admin", "metrics"},
    ("get", "/api/stats"): SUBMIT,
}


@pytest.fixture(scope="module")
def farm(tmp_path_factory: pytest.TempPathFactory):
    data = tmp_path_factory.mktemp("farm-api")
    tokens = {role: token(data, role) for role in ROLES}
    server = FarmServer(data, max_upload=64 * 1024).start()
    yield server, tokens
    server.stop()


def upload(server: FarmServer, tok: str, content: bytes, name: str = "part.step") -> str:
    sha = hashlib.sha256(content).hexdigest()
    reply = server.call("POST", "/api/files", tok, data=content, headers={"X-Sha256": sha, "X-Filename": name})
    assert reply.status_code == 201, reply.text
    return sha


def test_every_route_refuses_a_missing_or_wrong_role_token(farm):
    server, tokens = farm
    spec = server.call("GET", "/openapi.json", tokens["admin"]).json()
    routes = {(method, path) for path, ops in spec["paths"].items() for method in ops if path != "/health"}
    assert routes == set(EXPECTED_ROLES), f"routes without an expected role: {routes ^ set(EXPECTED_ROLES)}"
    for (method, path), allowed in EXPECTED_ROLES.items():
        url = path.replace("{", "").replace("}", "")  # any value for the path parameters
        assert server.call(method, url, None).status_code == 401, (method, path)
        assert server.call(method, url, "hm_admin_not-a-real-token").status_code == 401, (method, path)
        for role in set(ROLES) - allowed:
            reply = server.call(method, url, tokens[role], json={})
            assert reply.status_code == 403, (method, path, role, reply.text)
    assert server.call("GET", "/health", None).json() == {"ok": True}


def test_node_definitions_come_from_the_registry(farm):
    from engine.model.registry import REGISTRY

    server, tokens = farm
    described = server.call("GET", "/api/workflows/node-definitions", tokens["submit"]).json()
    assert [d["key"] for d in described["definitions"]] == REGISTRY.keys()


def test_fresh_server_has_an_output_type_per_preset(farm):
    server, tokens = farm
    types = {t["name"]: t for t in server.call("GET", "/api/output-types", tokens["submit"]).json()}
    assert set(types) == {"still", "turntable", "multi_angle", "still_with_exports"}
    assert types["turntable"]["artifact_kind"] == "video"
    workflow = server.call("GET", f"/api/workflows/{types['still']['workflow_id']}", tokens["submit"]).json()
    assert workflow["family"] == "still" and any(n["step"] == "blender_still" for n in workflow["nodes"])


@pytest.mark.parametrize("method, path, kwargs, status", [
    ("POST", "/api/orders", {"json": {}}, 422),
    ("POST", "/api/orders", {"json": {"lines": []}}, 422),
    ("POST", "/api/orders", {"data": b"{not json", "headers": {"Content-Type": "application/json"}}, 422),
    ("POST", "/api/orders", {"json": {"lines": "still"}}, 422),
    ("POST", "/api/orders", {"json": {"lines": [{"output_type": "still", "step_sha256": "../../etc"}]}}, 422),
    ("POST", "/api/orders", {"json": {"lines": [{"output_type": "still", "step_sha256": "a" * 64}]}}, 422),
    ("POST", "/api/orders", {"json": {"lines": [{"output_type": "nope", "product": "x"}]}}, 422),
    ("POST", "/api/orders", {"json": {"lines": [{"output_type": "still", "product": "../../etc/passwd"}]}}, 422),
    ("POST", "/api/orders", {"json": {"lines": [{"output_type": "still"}], "webhook_url": "file:///x"}}, 422),
    ("GET", "/api/orders/ord-missing", {}, 404),
    ("GET", "/api/jobs/job-missing", {}, 404),
    ("POST", "/api/orders/ord-missing/cancel", {}, 404),
    ("GET", "/api/assets/ast-missing", {}, 404),
    ("GET", "/api/orders?limit=-3", {}, 422),
    ("POST", "/api/files", {"data": b"abc"}, 422),
    ("POST", "/api/files", {"data": b"abc", "headers": {"X-Sha256": "../../../etc/passwd"}}, 422),
    ("POST", "/api/files", {"data": b"abc", "headers": {"X-Sha256": "0" * 64}}, 422),
    ("POST", "/api/files", {"data": b"x" * (65 * 1024), "headers": {"X-Sha256": "1" * 64}}, 413),
])
def test_bad_submit_requests_get_a_4xx_naming_the_problem(farm, method, path, kwargs, status):
    server, tokens = farm
    reply = server.call(method, path, tokens["submit"], **kwargs)
    assert reply.status_code == status, reply.text
    assert reply.json()["detail"]


@pytest.mark.parametrize("method, path, body, status", [
    ("POST", "/api/workflows", {"version": 1, "name": "x"}, 422),
    ("POST", "/api/workflows", {"version": 9, "name": "x", "family": "still"}, 422),
    ("POST", "/api/workflows", [1, 2], 422),
    ("PUT", "/api/output-types/x", {"family": "still"}, 422),
    ("PUT", "/api/output-types/x", {"family": "still", "artifact_kind": "image", "workflow_id": "wf-nope"}, 404),
    ("POST", "/api/output-types/still/mode", {"mode": "sideways"}, 422),
    ("POST", "/api/output-types/nope/mode", {"mode": "graph"}, 404),
    ("POST", "/api/tokens", {"role": "root"}, 422),
    ("DELETE", "/api/workers/wrk-nope/blocks", None, 200),
])
def test_bad_admin_requests_get_a_4xx(farm, method, path, body, status):
    server, tokens = farm
    reply = server.call(method, path, tokens["admin"], json=body)
    assert reply.status_code == status, reply.text


@pytest.mark.parametrize("method, path, body, status", [
    ("POST", "/api/workers/register", {"capabilities": ["gpu"]}, 422),
    ("POST", "/api/workers/wrk-nope/claim", {"wait_s": 0}, 404),
    ("POST", "/api/workers/wrk-nope/claim", {"wait_s": 600}, 422),
    ("POST", "/api/jobs/job-nope/heartbeat", {"worker_id": "wrk-nope"}, 404),
    ("POST", "/api/jobs/job-nope/complete", {"worker_id": "wrk-nope", "status": "done"}, 422),
    ("POST", "/api/jobs/job-nope/hand-back", {}, 422),
    ("GET", "/api/files/abc", None, 404),
])
def test_bad_worker_requests_get_a_4xx(farm, method, path, body, status):
    server, tokens = farm
    reply = server.call(method, path, tokens["worker"], json=body)
    assert reply.status_code == status, reply.text


def test_invalid_workflow_is_refused_with_every_problem(farm):
    server, tokens = farm
    doc = {"version": 1, "name": "bad", "family": "still",
           "nodes": [{"id": "a", "step": "blender_stil"}, {"id": "a", "step": "output_save"}], "edges": []}
    reply = server.call("POST", "/api/workflows", tokens["admin"], json=doc)
    assert reply.status_code == 422
    codes = {p["code"] for p in reply.json()["problems"]}
    assert len(codes) >= 2 and all(p["message"] for p in reply.json()["problems"])


def test_output_type_must_agree_with_its_workflow(farm):
    server, tokens = farm
    still_wf = server.call("GET", "/api/output-types/still", tokens["admin"]).json()["workflow_id"]
    reply = server.call("PUT", "/api/output-types/clip", tokens["admin"],
                        json={"family": "turntable", "artifact_kind": "video", "workflow_id": still_wf})
    assert reply.status_code == 422
    assert {p["code"] for p in reply.json()["problems"]} == {"family_mismatch", "artifact_kind_mismatch"}
    ok = server.call("PUT", "/api/output-types/still-small", tokens["admin"],
                     json={"family": "still", "artifact_kind": "image", "workflow_id": still_wf,
                           "overrides": {"still": {"resolution_x": 64}}})
    assert ok.status_code == 200, ok.text
    assert ok.json()["overrides"] == {"still": {"resolution_x": 64}}


def test_overrides_the_workflow_would_refuse_are_refused_when_saved(farm):
    # caught here, not as a failed job on a worker once the order runs
    server, tokens = farm
    still_wf = server.call("GET", "/api/output-types/still", tokens["admin"]).json()["workflow_id"]
    before = server.call("GET", "/api/output-types/still", tokens["admin"]).json()
    reply = server.call("PUT", "/api/output-types/still", tokens["admin"],
                        json={"family": "still", "artifact_kind": "image", "workflow_id": still_wf,
                              "overrides": {"thumbnail": {"sizes": [32]}, "still": {"samples": "many"}}})
    assert reply.status_code == 422
    messages = [p["message"] for p in reply.json()["problems"] if p["code"] == "bad_override"]
    assert any("'thumbnail' names neither a node id" in m for m in messages)
    assert any("node 'still' (blender_still): setting 'samples'" in m for m in messages)
    assert server.call("GET", "/api/output-types/still", tokens["admin"]).json() == before


def test_an_order_line_with_bad_overrides_is_refused_and_nothing_is_queued(farm):
    server, tokens = farm
    sha = upload(server, tokens["submit"], b"ISO-10303-21; overridden")
    listed = server.call("GET", "/api/orders", tokens["admin"]).json()
    reply = server.call("POST", "/api/orders", tokens["submit"], json={"lines": [
        {"output_type": "still", "step_sha256": sha, "overrides": {"still": {"resolution_x": 64}}},
        {"output_type": "still", "step_sha256": sha, "overrides": {"still": {"resolution_x": -1}}}]})
    assert reply.status_code == 422
    assert "lines[1].overrides: node 'still' (blender_still): setting 'resolution_x'" in reply.json()["detail"]
    assert server.call("GET", "/api/orders", tokens["admin"]).json() == listed


def test_mode_rollout_is_recorded_with_who_and_when(farm):
    server, tokens = farm
    for mode in ("legacy", "shadow", "graph"):
        reply = server.call("POST", "/api/output-types/multi_angle/mode", tokens["admin"], json={"mode": mode})
        assert reply.status_code == 200 and reply.json()["mode"] == mode
    history = reply.json()["mode_history"]
    assert [h["new_mode"] for h in history][-3:] == ["legacy", "shadow", "graph"]
    assert history[-1]["changed_by"] == "admin" and history[-1]["changed_at"] > 0
    assert reply.json()["legacy_fallback"] is True


def test_submitters_see_only_their_own_orders(farm, tmp_path: Path):
    server, tokens = farm
    other = token(server.data, "submit", "other-team")
    sha = upload(server, tokens["submit"], b"ISO-10303-21; mine")
    order = server.call("POST", "/api/orders", tokens["submit"],
                        json={"lines": [{"output_type": "still", "step_sha256": sha}]}).json()
    assert server.call("GET", f"/api/orders/{order['id']}", other).status_code == 404
    assert server.call("GET", f"/api/orders/{order['id']}", tokens["admin"]).status_code == 200
    assert server.call("POST", f"/api/orders/{order['id']}/cancel", tokens["submit"]).json()["cancelled"] == 1


def test_a_worker_reads_only_the_files_of_jobs_it_holds(farm):
    server, tokens = farm
    shas = [upload(server, tokens["submit"], f"ISO-10303-21; part {i}".encode()) for i in range(2)]
    server.call("POST", "/api/orders", tokens["submit"],
                json={"lines": [{"output_type": "still_with_exports", "step_sha256": s} for s in shas]})
    wid = server.call("POST", "/api/workers/register", tokens["worker"],
                      json={"capabilities": ["bpy", "ocp"]}).json()["worker_id"]
    jobs = []
    while (reply := server.call("POST", f"/api/workers/{wid}/claim", tokens["worker"], json={})).status_code == 200:
        jobs.append(reply.json())
    mine = next(j for j in jobs if j["step_file"]["sha256"] == shas[0])
    for job in jobs:
        if job is not mine:
            server.call("POST", f"/api/jobs/{job['job_id']}/hand-back", tokens["worker"], json={"worker_id": wid})
    own = server.call("GET", f"/api/files/{shas[0]}?worker_id={wid}", tokens["worker"])
    assert own.status_code == 200 and hashlib.sha256(own.content).hexdigest() == shas[0]
    assert server.call("GET", f"/api/files/{shas[1]}?worker_id={wid}", tokens["worker"]).status_code == 404
    assert server.call("GET", f"/api/files/{shas[0]}", tokens["worker"]).status_code == 404
    # another worker token cannot act for this worker
    intruder = token(server.data, "worker", "intruder")
    reply = server.call("POST", f"/api/jobs/{mine['job_id']}/heartbeat", intruder, json={"worker_id": wid})
    assert reply.status_code == 404


JSON = st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=20),
                    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4),
                    max_leaves=12)
FIELDS = st.sampled_from(["lines", "output_type", "step_sha256", "worker_id", "status", "mode", "role", "family",
                          "artifact_kind", "workflow_id", "events", "logs", "wait_s", "capabilities", "name"])
BODIES = JSON | st.dictionaries(FIELDS, JSON, max_size=5)
PATH_VALUES = st.sampled_from(["x", "still", "..", "%2e%2e%2fetc", "a" * 64, "ord-1", "job-1", "wrk-1", " "])


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(route=st.sampled_from(sorted(EXPECTED_ROLES)), body=BODIES, value=PATH_VALUES)
def test_no_request_body_or_path_makes_the_server_answer_500(farm, route, body, value):
    server, tokens = farm
    method, path = route
    role = sorted(EXPECTED_ROLES[route])[0]
    url = path.replace("{workflow_id}", value).replace("{name}", value).replace("{worker_id}", value)
    url = url.replace("{order_id}", value).replace("{job_id}", value).replace("{asset_id}", value)
    url = url.replace("{sha256}", value).replace("{token_id}", value)
    if route == ("post", "/api/tokens") and isinstance(body, dict) and body.get("role") in ROLES:
        body = {"role": "nobody"}  # never mint real tokens from random data
    reply = server.call(method, url, tokens[role], json=body)
    assert reply.status_code < 500, (method, url, body, reply.text)


def test_an_order_line_can_reference_a_product_in_the_library(farm):
    server, tokens = farm
    library = server.data / "products"
    library.mkdir(exist_ok=True)
    (library / "gearbox-7.step").write_bytes(b"ISO-10303-21; gearbox")
    reply = server.call("POST", "/api/orders", tokens["submit"],
                        json={"lines": [{"output_type": "still", "product": "gearbox-7"}]})
    assert reply.status_code == 201, reply.text
    line = reply.json()["lines"][0]
    assert line["product"] == "gearbox-7"
    assert line["step_sha256"] == hashlib.sha256(b"ISO-10303-21; gearbox").hexdigest()
    missing = server.call("POST", "/api/orders", tokens["submit"],
                          json={"lines": [{"output_type": "still", "product": "gearbox-8"}]})
    assert missing.status_code == 422 and "not in the product library" in missing.json()["detail"]


def test_a_recorded_file_lost_from_storage_is_a_410_not_a_500(farm):
    server, tokens = farm
    sha = upload(server, tokens["submit"], b"ISO-10303-21; a file that will go missing")
    assert server.call("GET", f"/api/files/{sha}", tokens["admin"]).status_code == 200
    (server.data / "files" / sha[:2] / sha).unlink()
    reply = server.call("GET", f"/api/files/{sha}", tokens["admin"])
    assert reply.status_code == 410
    assert "missing from the server's storage" in reply.json()["detail"]
