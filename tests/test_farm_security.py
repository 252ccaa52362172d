"""The farm holds against its own users: no file or network reach through orders.

Against a real `hartomat serve` on 127.0.0.1: every operator-only setting (paths, URLs, environment
variables) set in an order line is refused with a 422 naming it; webhooks to loopback, link-local
and private addresses are refused unless the operator allows them (deliveries: test_farm_webhooks.py).
In the runtime: path settings resolve only inside the worker's folders, with one refusal whether or not the file exists.
"""

from __future__ import annotations

import hashlib
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from farm_support import FarmServer, derive_output_type, start_worker, stop_process, token
from runtime_helpers import edge, graph, node, order_line

from engine.egress import EgressPolicy, EgressRefused
from engine.legacy.presets import preset_workflow
from engine.model.overrides import order_override_problems
from engine.model.registry import REGISTRY
from engine.model.workflow import Workflow, WorkflowNode
from engine.runtime import PlanError, RunOptions, run_workflow
from server_bridge.client import FarmClient
from server_bridge.probe import PROBE_OUTPUT_TYPE, install_probe

# what a submitter might try in each kind of operator-only setting
PROBES = {"it names a path on the worker": "/etc/passwd",
          "it names a URL the worker or server sends to": "http://127.0.0.1:1/hook",
          "it names an environment variable of the worker": "HOME"}
EXPORTS = preset_workflow("still_with_exports")


def _operator_cases(workflow: Workflow) -> list[Any]:
    return [pytest.param(n.id, n.step, name, record["reason"], id=f"{n.step}.{name}")
            for n in workflow.nodes for name, record in REGISTRY.get(n.step).operator_settings().items()]


class Hook(BaseHTTPRequestHandler):
    """A webhook listener on 127.0.0.1 that answers `code` and counts what reached it."""

    hits: list[str] = []
    code = 200

    def do_POST(self) -> None:  # noqa: N802 - http.server's naming
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        Hook.hits.append(self.path)
        self.send_response(Hook.code)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def hook():
    server = ThreadingHTTPServer(("127.0.0.1", 0), Hook)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server
    server.shutdown()


def _farm(factory: pytest.TempPathFactory, name: str, allow: str) -> Any:
    data = factory.mktemp(name)
    tokens = {role: token(data, role) for role in ("submit", "worker", "admin")}
    server = FarmServer(data, lease_s=2, env={"HARTOMAT_WEBHOOK_ALLOW": allow,
                                              "HARTOMAT_WEBHOOK_BACKOFF_S": "0.05"}).start()
    return server, tokens


@pytest.fixture(scope="module")
def farm(tmp_path_factory: pytest.TempPathFactory):
    server, tokens = _farm(tmp_path_factory, "farm-security", "public")
    yield server, tokens
    server.stop()


def upload(server: FarmServer, tok: str, content: bytes) -> str:
    sha = hashlib.sha256(content).hexdigest()
    reply = server.call("POST", "/api/files", tok, data=content, headers={"X-Sha256": sha, "X-Filename": "p.step"})
    assert reply.status_code == 201, reply.text
    return sha


def orders_of(server: FarmServer, tokens: dict[str, str]) -> list[Any]:
    listed: list[Any] = server.call("GET", "/api/orders", tokens["admin"], params={"limit": 1000}).json()
    return listed


@pytest.mark.parametrize(("node_id", "step", "setting", "reason"), _operator_cases(EXPORTS))
def test_every_operator_setting_in_an_order_line_is_refused(farm, node_id, step, setting, reason):
    server, tokens = farm
    sha = upload(server, tokens["submit"], b"ISO-10303-21; trust")
    before = orders_of(server, tokens)
    for key in (step, node_id):  # by step key and by node id
        reply = server.call("POST", "/api/orders", tokens["submit"], json={"lines": [
            {"output_type": "still_with_exports", "step_sha256": sha,
             "overrides": {key: {setting: PROBES[reason]}}}]})
        assert reply.status_code == 422, reply.text
        assert f"setting '{setting}' may not be set by an order: {reason}" in reply.text
    assert orders_of(server, tokens) == before


def test_every_operator_setting_is_covered_and_bridges_are_refused_too():
    """The server's check reads the registry, so a bridge's wrapped path is refused like the node's."""
    covered = {(p.values[1], p.values[2]) for p in _operator_cases(EXPORTS)}
    for definition in REGISTRY:
        operator = definition.operator_settings()
        if definition.composite_of:
            wf = Workflow(name="bridge", family="still", nodes=[WorkflowNode(id="b", step=definition.key)])
            for name in operator:
                outer, inner = name.split(".")
                problems = order_override_problems(wf, REGISTRY, {"b": {outer: {inner: "/etc/passwd"}}})
                assert [f"setting '{name}' may not be set by an order" in p for p in problems] == [True]
        else:
            assert {(definition.key, name) for name in operator} <= covered


def test_an_admin_may_set_operator_settings_in_the_output_type(farm):
    server, tokens = farm
    reply = derive_output_type(server, tokens["admin"], "still_products", "still", "image",
                               {"step": {"library_dir": "products"}, "notify": {"secret_env": "ORDER_HOOK_SECRET"}})
    assert reply.status_code == 200, reply.text


def test_secret_env_from_an_order_is_refused(farm):
    server, tokens = farm
    sha = upload(server, tokens["submit"], b"ISO-10303-21; secret")
    reply = server.call("POST", "/api/orders", tokens["submit"], json={"lines": [
        {"output_type": "still", "step_sha256": sha, "overrides": {"notify": {"secret_env": "HOME"}}}]})
    assert reply.status_code == 422
    assert "setting 'secret_env' may not be set by an order: it names an environment variable" in reply.text


def test_node_definitions_show_each_settings_trust_level(farm):
    server, tokens = farm
    described = server.call("GET", "/api/workflows/node-definitions", tokens["submit"]).json()
    by_key = {d["key"]: d for d in described["definitions"]}
    step = by_key["resolve_step_path"]
    assert step["setting_trust"] == {"step_path": "operator", "library_dir": "operator", "product_number": "order"}
    assert step["operator_settings"]["step_path"] == "it names a path on the worker"
    assert step["settings_schema"]["properties"]["step_path"]["trust"] == "operator"
    assert by_key["blender_still"]["operator_settings"] == {}
    assert set(by_key["notify"]["operator_settings"]) == {"webhook_url", "secret_env"}


@pytest.mark.parametrize("url", ["http://127.0.0.1:{port}/hook", "http://localhost:{port}/hook",
                                 "http://[::1]:{port}/hook", "http://169.254.169.254/latest/meta-data",
                                 "http://10.1.2.3/hook", "http://192.168.0.1/hook", "http://0.0.0.0:{port}/",
                                 "http://[::ffff:127.0.0.1]:{port}/hook"])
def test_a_webhook_to_loopback_link_local_or_private_addresses_is_refused(farm, hook, url):
    server, tokens = farm
    sha = upload(server, tokens["submit"], b"ISO-10303-21; hook")
    hits = len(Hook.hits)
    reply = server.call("POST", "/api/orders", tokens["submit"], json={
        "lines": [{"output_type": "still", "step_sha256": sha}], "webhook_url": url.format(port=hook.server_port)})
    assert reply.status_code == 422, reply.text
    assert "is not allowed" in reply.text and "HARTOMAT_WEBHOOK_ALLOW" in reply.text
    assert len(Hook.hits) == hits


def test_the_egress_policy_reads_hosts_networks_and_public():
    policy = EgressPolicy.parse("public,hooks.internal,10.0.0.0/8")
    policy.check("https://93.184.216.34/hook")
    policy.check("http://10.9.8.7/hook")
    policy.check("http://hooks.internal/x")
    policy.check("https://no-such-host.invalid/x")  # unreachable now: delivery checks again
    for url in ("ftp://93.184.216.34/", "http:///nohost", "http://192.168.1.1/", "http://[fe80::1]/",
                "http://224.0.0.1/", "http://127.0.0.1/"):
        with pytest.raises(EgressRefused):
            policy.check(url)
    with pytest.raises(EgressRefused):
        EgressPolicy.parse("127.0.0.1").check("https://93.184.216.34/")  # no 'public': only what is listed


# --- on the worker: paths resolve inside its folders -------------------------------------------

def _step_graph(**params: Any) -> Workflow:
    return graph([node("setup", "order_line_setup"), node("step", "resolve_step_path", **params)],
                 [edge("setup", "step", "order_line", "order_line")])


def _refusal(tmp_path: Path, roots: dict[str, list[Path]], **params: Any) -> str:
    with pytest.raises(PlanError) as caught:
        run_workflow(_step_graph(**params), order_line(), RunOptions(out_dir=tmp_path / "out", use_cache=False,
                                                                      capabilities=frozenset(), path_roots=roots))
    return str(caught.value)


def test_a_path_outside_the_workers_folders_is_refused_without_saying_whether_it_exists(tmp_path):
    products = tmp_path / "products"
    products.mkdir()
    (products / "gear.step").write_text("ISO-10303-21;")
    (tmp_path / "secret.step").write_text("ISO-10303-21;")
    roots = {"scratch": [tmp_path / "scratch"], "products": [products]}
    existing = _refusal(tmp_path, roots, step_path=str(tmp_path / "secret.step"))
    missing = _refusal(tmp_path, roots, step_path=str(tmp_path / "no-such.step"))
    climbing = _refusal(tmp_path, roots, step_path="../secret.step")
    assert existing == missing == climbing
    assert "setting 'step_path': path refused: it is not inside a folder this worker allows" in existing
    assert "secret" not in existing and "not found" not in existing
    assert "library_dir" in _refusal(tmp_path, roots, library_dir="/etc", product_number="passwd")
    inside = run_workflow(_step_graph(step_path="gear.step"), order_line(), RunOptions(
        out_dir=tmp_path / "ok", use_cache=False, capabilities=frozenset(), path_roots=roots))
    assert inside.status == "succeeded", inside.error
    assert inside.node_results["step"].outputs[0].path == str(products / "gear.step")


def test_work_subdir_stays_inside_the_run_folder(tmp_path):
    wf = graph([node("setup", "order_line_setup", work_subdir="../../escaped")], [])
    result = run_workflow(wf, order_line(), RunOptions(out_dir=tmp_path / "run", use_cache=False,
                                                       capabilities=frozenset()))
    assert result.status == "failed"
    assert "setting 'work_subdir': path refused" in result.node_results["setup"].error["message"]
    assert not (tmp_path / "escaped").exists() and not (tmp_path.parent / "escaped").exists()


def _one_probe_run(server: FarmServer, tokens: dict[str, str], work: Path, *worker_args: str) -> dict[str, Any]:
    """One probe order's job, run once by a fresh worker started with `worker_args`: its first run."""
    sha = upload(server, tokens["submit"], f"ISO-10303-21; {work.name}".encode())
    reply = server.call("POST", "/api/orders", tokens["submit"], json={
        "lines": [{"output_type": PROBE_OUTPUT_TYPE, "step_sha256": sha}]})
    assert reply.status_code == 201, reply.text
    worker = start_worker(server, tokens["worker"], work, work.name, "--capabilities", "", "--max-jobs", "1",
                          *worker_args)
    try:
        assert worker.wait(120) == 0
    finally:
        stop_process(worker)
    job_id = reply.json()["lines"][0]["job"]["id"]
    run: dict[str, Any] = server.call("GET", f"/api/jobs/{job_id}", tokens["admin"]).json()["runs"][0]
    return run


def test_a_worker_reads_only_inside_its_own_folders(farm, tmp_path: Path):
    """The worker's own config may set operator settings (`--set`), and even then a path resolves
    only inside its scratch folder and the libraries it names (`--library`)."""
    server, tokens = farm
    install_probe(FarmClient(server.url, tokens["admin"]))
    library = tmp_path / "library"
    library.mkdir()
    (library / "gear.step").write_text("ISO-10303-21; gear")
    (tmp_path / "secret.step").write_text("ISO-10303-21; someone else's")
    inside = _one_probe_run(server, tokens, tmp_path / "inside", "--library", str(library),
                            "--set", "step.step_path=gear.step")
    assert inside["status"] == "succeeded", inside
    assert inside["summary"]["nodes"]["step"]["outputs"][0]["path"] == str(library / "gear.step")
    outside = _one_probe_run(server, tokens, tmp_path / "outside", "--library", str(library),
                             "--set", f"step.step_path={tmp_path / 'secret.step'}")
    assert outside["status"] == "failed", outside
    assert "setting 'step_path': path refused: it is not inside a folder this worker allows" in outside["error"]
    assert "secret" not in outside["error"]


# --- bounds --------------------------------------------------------------------------------------

@pytest.mark.parametrize(("overrides", "field"), [
    ({"thumbnails": {"sizes": [1_000_000_000]}}, "sizes"),
    ({"thumbnails": {"sizes": [64] * 10_000}}, "sizes"),
    ({"material_rules": {"rules": [{"material": "steel"}] * 10_000}}, "rules"),
    ({"still": {"samples": 10**9}}, "samples"),
    ({"still": {"resolution_x": 10**6}}, "resolution_x"),
    ({"still": {"view_name": "x" * 100_000}}, "view_name"),
])
def test_unbounded_settings_in_an_order_are_refused(farm, overrides, field):
    server, tokens = farm
    sha = upload(server, tokens["submit"], b"ISO-10303-21; bounds")
    reply = server.call("POST", "/api/orders", tokens["submit"], json={"lines": [
        {"output_type": "still", "step_sha256": sha, "overrides": overrides}]})
    assert reply.status_code == 422, reply.text
    assert f"setting '{field}" in reply.text


def test_turntable_frames_are_bounded():
    definition = REGISTRY.get("blender_turntable")
    for name in ("frame_count", "chunk_start", "chunk_end"):
        schema = definition.settings_schema()["properties"][name]
        assert schema["maximum"] <= 3600, name


def test_nan_and_infinity_are_refused_in_settings():
    from engine.model.overrides import resolve_settings

    definition = REGISTRY.get("blender_still")
    for value in (float("nan"), float("inf")):
        settings, problems = resolve_settings(definition, "still", {}, {"margin": value})
        assert problems and "setting 'margin'" in problems[0]
