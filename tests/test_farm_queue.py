"""Queue mechanics against a real server process, with HTTP clients acting as workers (no
rendering): atomic claims under 50 concurrent claimers, long-poll wake-ups, leases, the
three-workers failure rule, blocking, cancellation, idempotent assets, restarts, webhooks."""

from __future__ import annotations

import hashlib
import hmac
import json
import sqlite3
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import requests
from farm_support import FarmServer, token, wait_until

SECRET = "test-webhook-secret"


@pytest.fixture(scope="module")
def farm(tmp_path_factory: pytest.TempPathFactory):
    data = tmp_path_factory.mktemp("farm-queue")
    tokens = {role: token(data, role) for role in ("submit", "worker", "admin")}
    server = FarmServer(data, lease_s=1.5, env={"HARTOMAT_WEBHOOK_SECRET": SECRET,
                                                "HARTOMAT_WEBHOOK_BACKOFF_S": "0.05",
                                                "HARTOMAT_WEBHOOK_ALLOW": "127.0.0.1"}).start()
    yield server, tokens
    server.stop()


class Api:
    """A thin test client for one role."""

    def __init__(self, server: FarmServer, tok: str) -> None:
        self.server, self.session = server, requests.Session()
        self.session.headers["Authorization"] = f"Bearer {tok}"

    def __call__(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        return self.session.request(method, f"{self.server.url}{path}", timeout=60, **kwargs)


def submit(api: Api, lines: int, output_type: str = "still", webhook: str | None = None) -> dict[str, Any]:
    content = f"ISO-10303-21; {time.monotonic_ns()}".encode()
    sha = hashlib.sha256(content).hexdigest()
    assert api("POST", "/api/files", data=content, headers={"X-Sha256": sha}).status_code == 201
    body: dict[str, Any] = {"lines": [{"output_type": output_type, "step_sha256": sha, "product": f"p{i}"}
                                      for i in range(lines)]}
    if webhook:
        body["webhook_url"] = webhook
    reply = api("POST", "/api/orders", json=body)
    assert reply.status_code == 201, reply.text
    return reply.json()


def register(api: Api, caps: tuple[str, ...] = ("bpy", "ocp")) -> str:
    worker_id: str = api("POST", "/api/workers/register", json={"capabilities": list(caps)}).json()["worker_id"]
    return worker_id


def claim(api: Api, wid: str, wait: float = 0) -> dict[str, Any] | None:
    reply = api("POST", f"/api/workers/{wid}/claim", json={"wait_s": wait})
    assert reply.status_code in (200, 204), reply.text
    return reply.json() if reply.status_code == 200 else None


def complete(api: Api, wid: str, job_id: str, status: str = "succeeded", **extra: Any) -> requests.Response:
    return api("POST", f"/api/jobs/{job_id}/complete", json={"worker_id": wid, "status": status, **extra})


def drain(api: Api) -> None:
    """Take every job still queued (leftovers of an earlier test) and finish it."""
    wid = register(api)
    while (job := claim(api, wid)) is not None:
        complete(api, wid, job["job_id"])


@pytest.fixture()
def apis(farm):
    server, tokens = farm
    roles = {role: Api(server, tok) for role, tok in tokens.items()}
    drain(roles["worker"])
    return roles


def test_fifty_concurrent_claimers_never_share_a_job(farm, apis):
    server, tokens = farm
    order = submit(apis["submit"], 200)
    claimed: list[tuple[str, str]] = []
    lock = threading.Lock()
    start = threading.Barrier(50)

    def claimer() -> None:
        api = Api(server, tokens["worker"])
        wid = register(api)
        start.wait()
        while (job := claim(api, wid)) is not None:
            with lock:
                claimed.append((job["job_id"], wid))
            assert complete(api, wid, job["job_id"]).status_code == 200

    threads = [threading.Thread(target=claimer) for _ in range(50)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    job_ids = [job_id for job_id, _ in claimed]
    assert len(job_ids) == 200 and len(set(job_ids)) == 200
    status = apis["submit"]("GET", f"/api/orders/{order['id']}").json()
    assert status["status"] == "succeeded"
    assert all(line["job"]["attempts"] == 1 for line in status["lines"])


def test_an_idle_long_polling_worker_is_woken_by_a_new_order(apis):
    wid = register(apis["worker"])
    got: dict[str, Any] = {}
    poller = threading.Thread(target=lambda: got.update(job=claim(apis["worker"], wid, wait=20)))
    poller.start()
    time.sleep(0.5)  # let the claim start waiting
    order = submit(apis["submit"], 1)
    poller.join(30)
    assert got["job"] is not None and got["job"]["order_id"] == order["id"]
    assert claim(apis["worker"], wid, wait=0.3) is None  # nothing left: an empty answer after the wait
    complete(apis["worker"], wid, got["job"]["job_id"])


def test_capabilities_decide_who_gets_a_job(apis):
    bpy_only = register(apis["worker"], ("bpy",))
    full = register(apis["worker"], ("bpy", "ocp"))
    order = submit(apis["submit"], 1)
    assert claim(apis["worker"], bpy_only) is None
    job = claim(apis["worker"], full)
    assert job is not None and job["order_id"] == order["id"]
    assert job["workflow"]["family"] == "still" and job["mode"] == "graph"
    complete(apis["worker"], full, job["job_id"])


def test_an_expired_lease_puts_the_job_back_and_the_old_holder_is_refused(apis):
    order = submit(apis["submit"], 1)
    lost, other = register(apis["worker"]), register(apis["worker"])
    job = claim(apis["worker"], lost)
    assert job is not None
    again = wait_until(lambda: claim(apis["worker"], other), 15, "the job to come back after its lease")
    assert again["job_id"] == job["job_id"] and again["attempt"] == 2
    hb = apis["worker"]("POST", f"/api/jobs/{job['job_id']}/heartbeat", json={"worker_id": lost})
    assert hb.status_code == 409
    assert complete(apis["worker"], lost, job["job_id"]).status_code == 409
    assert complete(apis["worker"], other, job["job_id"]).json()["job"] == "succeeded"
    assert apis["submit"]("GET", f"/api/orders/{order['id']}").json()["status"] == "succeeded"


def test_heartbeats_keep_the_lease_and_record_progress_and_logs(apis):
    submit(apis["submit"], 1)
    wid = register(apis["worker"])
    job = claim(apis["worker"], wid)
    for step in range(6):  # 3 s of heartbeats, twice the lease
        reply = apis["worker"]("POST", f"/api/jobs/{job['job_id']}/heartbeat", json={
            "worker_id": wid, "events": [{"node_id": "still", "step": "blender_still", "status": "running",
                                          "fraction": step / 6}], "logs": [f"line {step}"]})
        assert reply.status_code == 200 and reply.json()["cancel"] is False
        time.sleep(0.5)
    detail = apis["admin"]("GET", f"/api/jobs/{job['job_id']}").json()
    assert detail["status"] == "running" and detail["worker_id"] == wid
    assert detail["logs"] == [f"line {i}" for i in range(6)]
    assert detail["runs"][-1]["nodes"][0]["fraction"] == pytest.approx(5 / 6)
    complete(apis["worker"], wid, job["job_id"])


def test_a_job_failing_on_three_workers_fails_for_good(apis):
    order = submit(apis["submit"], 1)
    workers = [register(apis["worker"]) for _ in range(3)]
    for index, wid in enumerate(workers):
        job = claim(apis["worker"], wid)
        assert job is not None and job["attempt"] == index + 1
        assert claim(apis["worker"], workers[0]) is None  # a worker that failed a job never gets it again
        reply = complete(apis["worker"], wid, job["job_id"], "failed", error=f"boom {index}").json()
        assert reply["job"] == ("failed" if index == 2 else "queued")
    status = apis["submit"]("GET", f"/api/orders/{order['id']}").json()
    assert status["status"] == "failed" and "failed 3 times on 3 worker(s)" in status["lines"][0]["job"]["error"]


def test_a_worker_failing_three_jobs_of_an_output_type_is_blocked_until_cleared(apis):
    wid = register(apis["worker"])
    submit(apis["submit"], 4, "turntable")
    for _ in range(3):
        job = claim(apis["worker"], wid)
        assert job is not None and job["output_type"] == "turntable"
        complete(apis["worker"], wid, job["job_id"], "failed", error="no codec")
    assert claim(apis["worker"], wid) is None  # blocked from turntable; other types still come
    submit(apis["submit"], 1, "still")
    still = claim(apis["worker"], wid)
    assert still["output_type"] == "still"
    workers = {w["id"]: w for w in apis["admin"]("GET", "/api/workers").json()}
    assert workers[wid]["blocked_output_types"] == ["turntable"]
    assert apis["admin"]("DELETE", f"/api/workers/{wid}/blocks").json()["cleared"] == 1
    turntable = claim(apis["worker"], wid)
    assert turntable["output_type"] == "turntable"
    for job in (still, turntable):
        complete(apis["worker"], wid, job["job_id"])


def test_hand_back_requeues_without_counting_as_a_failure(apis):
    submit(apis["submit"], 1)
    wid = register(apis["worker"])
    job = claim(apis["worker"], wid)
    assert apis["worker"]("POST", f"/api/jobs/{job['job_id']}/hand-back", json={"worker_id": wid}).status_code == 200
    again = claim(apis["worker"], wid)
    assert again["job_id"] == job["job_id"] and again["attempt"] == 2
    assert apis["admin"]("GET", f"/api/jobs/{job['job_id']}").json()["failed_workers"] == ""
    complete(apis["worker"], wid, again["job_id"])


def test_cancel_an_order_stops_queued_jobs_now_and_running_ones_at_their_heartbeat(apis):
    order = submit(apis["submit"], 2)
    wid = register(apis["worker"])
    running = claim(apis["worker"], wid)
    reply = apis["submit"]("POST", f"/api/orders/{order['id']}/cancel").json()
    assert reply["cancelled"] == 2 and reply["order"]["status"] == "running"
    beat = apis["worker"]("POST", f"/api/jobs/{running['job_id']}/heartbeat", json={"worker_id": wid}).json()
    assert beat["cancel"] is True
    complete(apis["worker"], wid, running["job_id"], "cancelled")
    status = apis["submit"]("GET", f"/api/orders/{order['id']}").json()
    assert status["status"] == "cancelled" and {ln["job"]["status"] for ln in status["lines"]} == {"cancelled"}


def test_a_job_finishing_after_its_cancel_was_acknowledged_ends_cancelled_and_publishes_nothing(apis):
    order = submit(apis["submit"], 1)
    wid = register(apis["worker"])
    running = claim(apis["worker"], wid)
    assert upload_asset(apis["worker"], wid, running["job_id"], b"PNG made before the cancel").status_code == 201
    assert apis["submit"]("POST", f"/api/orders/{order['id']}/cancel").json()["cancelled"] == 1
    complete(apis["worker"], wid, running["job_id"], "succeeded")  # finished before its next heartbeat
    status = apis["submit"]("GET", f"/api/orders/{order['id']}").json()
    assert status["status"] == "cancelled" and status["lines"][0]["job"]["status"] == "cancelled"
    assert status["lines"][0]["assets"] == []


def upload_asset(api: Api, wid: str, job_id: str, content: bytes, role: str = "primary_render") -> requests.Response:
    sha = hashlib.sha256(content).hexdigest()
    return api("POST", f"/api/jobs/{job_id}/assets", params={"worker_id": wid, "role": role, "name": "still.png",
                                                             "kind": "image", "primary": "true"},
               data=content, headers={"X-Sha256": sha})


def test_a_rerun_job_publishes_each_output_once(apis):
    order = submit(apis["submit"], 1)
    first, second = register(apis["worker"]), register(apis["worker"])
    job = claim(apis["worker"], first)
    assert upload_asset(apis["worker"], first, job["job_id"], b"PNG same").json()["duplicate"] is False
    assert apis["submit"]("GET", f"/api/orders/{order['id']}").json()["lines"][0]["assets"] == []  # not yet
    rerun = wait_until(lambda: claim(apis["worker"], second), 15, "the job to come back")
    assert upload_asset(apis["worker"], second, rerun["job_id"], b"PNG same").json()["duplicate"] is True
    assert upload_asset(apis["worker"], first, job["job_id"], b"PNG late").status_code == 409
    complete(apis["worker"], second, rerun["job_id"])
    assets = apis["submit"]("GET", f"/api/orders/{order['id']}").json()["lines"][0]["assets"]
    assert len(assets) == 1 and assets[0]["is_primary"] is True
    download = apis["submit"]("GET", f"/api/assets/{assets[0]['id']}")
    assert download.content == b"PNG same"
    assert apis["worker"]("GET", f"/api/assets/{assets[0]['id']}?worker_id={second}").status_code == 404


def test_upload_with_a_wrong_sha256_is_refused(apis):
    submit(apis["submit"], 1)
    wid = register(apis["worker"])
    job = claim(apis["worker"], wid)
    reply = apis["worker"]("POST", f"/api/jobs/{job['job_id']}/assets",
                           params={"worker_id": wid, "role": "primary_render"},
                           data=b"abc", headers={"X-Sha256": "0" * 64})
    assert reply.status_code == 422 and "sha256 mismatch" in reply.json()["detail"]
    complete(apis["worker"], wid, job["job_id"])


class Hook(BaseHTTPRequestHandler):
    received: list[tuple[bytes, str]] = []
    fail_first = 1

    def do_POST(self) -> None:  # noqa: N802
        body = self.rfile.read(int(self.headers["Content-Length"]))
        Hook.received.append((body, self.headers.get("X-Hartomat-Signature", "")))
        status = 500 if Hook.fail_first > 0 else 200
        Hook.fail_first -= 1
        self.send_response(status)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


def test_a_finished_order_posts_one_signed_webhook_with_retries(apis):
    hook = ThreadingHTTPServer(("127.0.0.1", 0), Hook)
    threading.Thread(target=hook.serve_forever, daemon=True).start()
    try:
        order = submit(apis["submit"], 1, webhook=f"http://127.0.0.1:{hook.server_port}/done")
        assert order["webhook"]["status"] == "pending"
        wid = register(apis["worker"])
        complete(apis["worker"], wid, claim(apis["worker"], wid)["job_id"])
        status = wait_until(lambda: (s := apis["submit"]("GET", f"/api/orders/{order['id']}").json())
                            ["webhook"]["status"] == "delivered" and s, 20, "webhook delivery")
    finally:
        hook.shutdown()
    assert status["webhook"]["attempts"] == 2 and len(Hook.received) == 2
    body, signature = Hook.received[-1]
    assert signature == "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    assert json.loads(body)["order"]["id"] == order["id"]


def test_an_unreachable_webhook_is_reported_failed_on_the_order(apis):
    order = submit(apis["submit"], 1, webhook="http://127.0.0.1:9/unreachable")
    wid = register(apis["worker"])
    complete(apis["worker"], wid, claim(apis["worker"], wid)["job_id"])
    status = wait_until(lambda: (s := apis["submit"]("GET", f"/api/orders/{order['id']}").json())
                        ["webhook"]["status"] == "failed" and s, 30, "webhook to give up")
    assert status["webhook"]["attempts"] == 5 and status["webhook"]["error"]


def test_a_restarted_server_keeps_orders_tokens_and_running_jobs(farm, apis, tmp_path: Path):
    server, _ = farm
    order = submit(apis["submit"], 2)
    wid = register(apis["worker"])
    job = claim(apis["worker"], wid)
    server.restart()
    for api in apis.values():
        api.server = server
    beat = apis["worker"]("POST", f"/api/jobs/{job['job_id']}/heartbeat", json={"worker_id": wid})
    assert beat.status_code == 200
    complete(apis["worker"], wid, job["job_id"])
    second = claim(apis["worker"], wid)
    assert second is not None and second["order_id"] == order["id"]
    complete(apis["worker"], wid, second["job_id"])
    assert apis["submit"]("GET", f"/api/orders/{order['id']}").json()["status"] == "succeeded"


def test_a_claimer_that_hung_up_while_waiting_takes_no_job(farm, apis):
    import http.client

    server, tokens = farm
    gone = register(apis["worker"])
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    conn.request("POST", f"/api/workers/{gone}/claim", body=json.dumps({"wait_s": 15}),
                 headers={"Authorization": f"Bearer {tokens['worker']}", "Content-Type": "application/json"})
    time.sleep(0.5)  # the claim is waiting inside the server
    conn.sock.close()  # the worker dies
    time.sleep(0.5)
    order = submit(apis["submit"], 1)
    other = register(apis["worker"])
    job = claim(apis["worker"], other, wait=5)
    assert job is not None and job["order_id"] == order["id"] and job["attempt"] == 1
    complete(apis["worker"], other, job["job_id"])


def test_a_report_can_take_the_next_job_in_the_same_request(apis):
    order = submit(apis["submit"], 2)
    wid = register(apis["worker"])
    first = claim(apis["worker"], wid)
    reply = complete(apis["worker"], wid, first["job_id"], next={"wait_s": 0}).json()
    assert reply["job"] == "succeeded" and reply["next_job"]["order_id"] == order["id"]
    last = complete(apis["worker"], wid, reply["next_job"]["job_id"], next={"wait_s": 0}).json()
    assert last["next_job"] is None
    assert apis["submit"]("GET", f"/api/orders/{order['id']}").json()["status"] == "succeeded"


def test_a_report_stands_when_the_next_job_it_would_take_cannot_be_handed_out(farm, apis):
    """The report and the next claim share one transaction; a next job whose frozen line is
    unreadable rolls back only the claim: the report is kept, no job comes with it, and the
    worker's own claim then names the fault."""
    server, _ = farm
    order = submit(apis["submit"], 2)
    wid = register(apis["worker"])
    first = claim(apis["worker"], wid)
    other = next(line for line in apis["submit"]("GET", f"/api/orders/{order['id']}").json()["lines"]
                 if line["job"]["id"] != first["job_id"])
    db = sqlite3.connect(server.data / "farm.sqlite", isolation_level=None)
    try:
        db.execute("PRAGMA foreign_keys=OFF")
        db.execute("UPDATE order_lines SET workflow_sha256 = 'gone' WHERE id = ?", (other["id"],))
        reply = complete(apis["worker"], wid, first["job_id"], next={"wait_s": 0})
        assert reply.status_code == 200 and reply.json()["job"] == "succeeded"
        assert reply.json()["next_job"] is None
        lines = apis["submit"]("GET", f"/api/orders/{order['id']}").json()["lines"]
        assert sorted(line["job"]["status"] for line in lines) == ["queued", "succeeded"]
        refused = apis["worker"]("POST", f"/api/workers/{wid}/claim", json={"wait_s": 0})
        assert refused.status_code == 410 and other["job"]["id"] in refused.json()["detail"]
        assert apis["submit"]("GET", f"/api/jobs/{other['job']['id']}").json()["status"] == "queued"
    finally:
        apis["submit"]("POST", f"/api/orders/{order['id']}/cancel")
        db.close()


def test_sign_off_hands_back_only_the_jobs_the_worker_still_holds(apis):
    submit(apis["submit"], 2)
    leaving, staying = register(apis["worker"]), register(apis["worker"])
    granted, kept = claim(apis["worker"], leaving), claim(apis["worker"], staying)
    reply = apis["worker"]("POST", f"/api/workers/{leaving}/sign-off")
    assert reply.status_code == 200 and reply.json() == {"handed_back": [granted["job_id"]]}
    assert apis["admin"]("GET", f"/api/jobs/{kept['job_id']}").json()["status"] == "running"
    again = claim(apis["worker"], staying)
    assert again["job_id"] == granted["job_id"] and again["attempt"] == 2
    assert apis["admin"]("GET", f"/api/jobs/{granted['job_id']}").json()["failed_workers"] == ""
    other = Api(apis["worker"].server, token(apis["worker"].server.data, "worker", "another-farm"))
    assert other("POST", f"/api/workers/{leaving}/sign-off").status_code == 404  # not its worker
    for job in (kept, again):
        complete(apis["worker"], staying, job["job_id"])


def test_a_worker_stopped_between_grant_and_reply_hands_the_job_back(apis, tmp_path):
    """The stop signal lands while the claim's reply is on its way: the server has granted the
    job, the worker never sees it. Before sign-off the job waited out its lease."""
    from server_bridge.client import FarmClient
    from server_bridge.worker import Worker, WorkerStop

    order = submit(apis["submit"], 1)
    server = apis["worker"].server
    client = FarmClient(server.url, apis["worker"].session.headers["Authorization"].split()[1])
    real_claim = client.claim

    def claim_then_stop(worker_id: str, wait_s: float = 20.0) -> dict[str, Any] | None:
        granted = real_claim(worker_id, wait_s)
        assert granted is not None and granted["order_id"] == order["id"]
        raise WorkerStop()

    client.claim = claim_then_stop  # type: ignore[method-assign]
    lines: list[str] = []
    worker = Worker(client, ["bpy", "ocp"], tmp_path, wait_s=0, log=lines.append)
    assert worker.run() == 0
    job_id = next(line.split(":")[0] for line in lines if "handed back" in line)
    assert apis["admin"]("GET", f"/api/jobs/{job_id}").json()["status"] == "queued"
    wid = register(apis["worker"])
    assert claim(apis["worker"], wid)["job_id"] == job_id
    complete(apis["worker"], wid, job_id)


def test_a_queued_job_runs_what_was_submitted_not_later_edits_of_its_output_type(apis):
    """Edits to the output type's overrides and mode, and to its workflow, between submission and
    claim change new orders only: the claim returns what the line froze at submission."""
    still = apis["submit"]("GET", "/api/output-types/still").json()
    document = apis["submit"]("GET", f"/api/workflows/{still['workflow_id']}").json()
    workflow_id = apis["admin"]("POST", "/api/workflows", json=document).json()["id"]
    spec = {"family": "still", "artifact_kind": still["artifact_kind"], "workflow_id": workflow_id,
            "overrides": {"blender_still": {"samples": 3}}, "mode": "graph"}
    assert apis["admin"]("PUT", "/api/output-types/frozen", json=spec).status_code == 200
    order = submit(apis["submit"], 1, output_type="frozen")

    edited = {**document, "name": "edited after submission"}
    assert apis["admin"]("PUT", f"/api/workflows/{workflow_id}", json=edited).status_code == 200
    spec_later = {**spec, "overrides": {"blender_still": {"samples": 7}}, "mode": "legacy",
                  "legacy_fallback": False}
    assert apis["admin"]("PUT", "/api/output-types/frozen", json=spec_later).status_code == 200

    wid = register(apis["worker"])
    job = claim(apis["worker"], wid)
    assert job is not None and job["order_id"] == order["id"]
    assert job["overrides"] == {"blender_still": {"samples": 3}}
    assert job["workflow"]["name"] == document["name"]
    assert job["mode"] == "graph" and job["legacy_fallback"] is True
    complete(apis["worker"], wid, job["job_id"])

    later = submit(apis["submit"], 1, output_type="frozen")
    job = claim(apis["worker"], wid)
    assert job is not None and job["order_id"] == later["id"]
    assert job["overrides"] == {"blender_still": {"samples": 7}}
    assert job["workflow"]["name"] == "edited after submission"
    assert job["mode"] == "legacy" and job["legacy_fallback"] is False
    complete(apis["worker"], wid, job["job_id"])
