"""Workers outlive the server's trouble: 5xx, 429 and 503 with Retry-After on register, claim,
heartbeat and complete, and a server killed in the middle of a long poll, are waited out; a worker
exits only on 401/403 or a signal. Against a real `hartomat serve --test-mode` (its fault switch
makes every API request answer an error for a while) and real `hartomat worker` processes."""

from __future__ import annotations

import hashlib
import signal
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from farm_support import FarmServer, start_worker, stop_process, token, wait_until

from server_bridge.client import FarmClient, FarmError, backoff_delay
from server_bridge.probe import PROBE_OUTPUT_TYPE, install_probe, probe_workflow

pytestmark = pytest.mark.timeout(300)

@pytest.fixture()
def farm(tmp_path: Path):
    data = tmp_path / "farm"
    tokens = {role: token(data, role) for role in ("submit", "worker", "admin")}
    server = FarmServer(data, lease_s=10, test_mode=True).start()
    install_probe(FarmClient(server.url, tokens["admin"]))  # a job of pure nodes, no capabilities
    yield server, tokens
    server.stop(signal.SIGKILL)


def fault(server: FarmServer, tok: str, seconds: float, status: int = 503, retry_after: int | None = 1) -> None:
    reply = server.call("POST", "/api/test/fault", tok, json={"status": status, "seconds": seconds,
                                                             "retry_after": retry_after})
    assert reply.status_code == 200, reply.text


def submit_quick(server: FarmServer, tok: str, label: str) -> str:
    content = f"ISO-10303-21; {label} {time.monotonic_ns()}".encode()
    sha = hashlib.sha256(content).hexdigest()
    assert server.call("POST", "/api/files", tok, data=content, headers={"X-Sha256": sha}).status_code == 201
    reply = server.call("POST", "/api/orders", tok, json={"lines": [{"output_type": PROBE_OUTPUT_TYPE, "step_sha256": sha}]})
    assert reply.status_code == 201, reply.text
    order_id: str = reply.json()["id"]
    return order_id


def finished(server: FarmServer, tok: str, order_id: str) -> dict[str, Any]:
    return wait_until(lambda: (o := server.call("GET", f"/api/orders/{order_id}", tok).json())["finished_at"] and o,
                      120, f"order {order_id} to finish")


def log_of(work: Path, name: str) -> str:
    return (work.parent / f"{name}.log").read_text()


def test_an_idle_worker_outlives_5xx_on_register_and_claim(farm, tmp_path: Path):
    server, tokens = farm
    fault(server, tokens["admin"], 3, status=500, retry_after=None)  # the data disk full, say
    worker = start_worker(server, tokens["worker"], tmp_path / "w", "w", "--capabilities", "")
    try:
        wait_until(lambda: "registered as" in log_of(tmp_path / "w", "w"), 60, "the worker to register")
        assert "server trouble" in log_of(tmp_path / "w", "w")
        fault(server, tokens["admin"], 3, status=503, retry_after=1)  # while it long-polls
        time.sleep(4)
        fault(server, tokens["admin"], 2, status=429, retry_after=1)
        time.sleep(3)
        assert worker.poll() is None, log_of(tmp_path / "w", "w")
        done = finished(server, tokens["submit"], submit_quick(server, tokens["submit"], "after trouble"))
        assert done["status"] == "succeeded", done
    finally:
        stop_process(worker)
    assert worker.returncode == 0


class SlowHook(BaseHTTPRequestHandler):
    """A webhook that takes 2 s to answer: the job is busy in its notify node meanwhile."""

    called = threading.Event()

    def do_POST(self) -> None:  # noqa: N802 - http.server's naming
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        SlowHook.called.set()
        time.sleep(2)
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


def test_a_busy_worker_keeps_its_log_lines_through_503s_and_reports_after_them(farm, tmp_path: Path, monkeypatch):
    server, tokens = farm
    hook = ThreadingHTTPServer(("127.0.0.1", 0), SlowHook)
    threading.Thread(target=hook.serve_forever, daemon=True).start()
    monkeypatch.setenv("HARTOMAT_WEBHOOK_ALLOW", "127.0.0.1")  # the worker's own config allows it
    probe = probe_workflow()
    document = {**probe, "nodes": [*probe["nodes"], {
        "id": "notify", "step": "notify", "params": {"webhook_url": f"http://127.0.0.1:{hook.server_port}/"}}]}
    saved = server.call("POST", "/api/workflows", tokens["admin"], json=document).json()
    assert server.call("PUT", f"/api/output-types/{PROBE_OUTPUT_TYPE}", tokens["admin"], json={
        "family": "still", "artifact_kind": "step_file", "workflow_id": saved["id"]}).status_code == 200
    worker = start_worker(server, tokens["worker"], tmp_path / "w", "w", "--capabilities", "")
    try:
        order_id = submit_quick(server, tokens["submit"], "busy")
        assert SlowHook.called.wait(60), log_of(tmp_path / "w", "w")
        fault(server, tokens["admin"], 4, status=503, retry_after=1)  # heartbeats and the report meet it
        done = finished(server, tokens["submit"], order_id)
        job = server.call("GET", f"/api/jobs/{done['lines'][0]['job']['id']}", tokens["submit"]).json()
    finally:
        stop_process(worker)
        hook.shutdown()
    assert done["status"] == "succeeded", done
    assert job["attempts"] == 1, job
    lines = "\n".join(str(line) for line in job["logs"])
    assert lines.endswith("[notify] succeeded"), lines  # sent after the 503s, not dropped
    assert "heartbeat for" in log_of(tmp_path / "w", "w")
    assert worker.returncode == 0


def test_a_worker_exits_when_its_token_is_refused_or_revoked(farm, tmp_path: Path):
    server, tokens = farm
    garbage = start_worker(server, "not-a-token", tmp_path / "g", "g", "--capabilities", "")
    assert garbage.wait(60) == 1
    assert "refused this worker's token" in log_of(tmp_path / "g", "g")
    revocable = token(server.data, "worker", "revocable")
    worker = start_worker(server, revocable, tmp_path / "r", "r", "--capabilities", "")
    try:
        wait_until(lambda: "registered as" in log_of(tmp_path / "r", "r"), 60, "the worker to register")
        reply = server.call("POST", "/api/tokens/revocable/revoke", tokens["admin"])
        assert reply.status_code == 200, reply.text
        assert worker.wait(30) == 1  # at its next claim, not after a retry window
    finally:
        stop_process(worker)
    assert "refused this worker's token" in log_of(tmp_path / "r", "r")


def test_the_retry_window_counts_from_the_first_failure_not_from_the_long_polls_start(farm):
    """A 10 s window and a 20 s long poll: the server dies 12 s into the poll and is back a few
    seconds later; the claim waits it out (a window counted from the poll's start had ended)."""
    server, tokens = farm
    client = FarmClient(server.url, tokens["worker"], retry_s=10.0)
    worker_id = client.register("window", [])["worker_id"]
    outcome: dict[str, Any] = {}

    def poll() -> None:
        try:
            outcome["job"] = client.claim(worker_id, wait_s=20)
        except FarmError as exc:
            outcome["error"] = exc

    thread = threading.Thread(target=poll)
    thread.start()
    time.sleep(12)
    server.stop(signal.SIGKILL)
    server.start()
    thread.join(60)
    assert "error" not in outcome, outcome
    assert "job" in outcome


def test_backoff_grows_to_its_cap_with_jitter_and_honours_retry_after():
    delays = [backoff_delay(n) for n in range(12)]
    assert 0.1 <= delays[0] <= 0.2 and max(delays) <= 5.0 and delays[-1] >= 2.5
    assert len({round(backoff_delay(8), 6) for _ in range(20)}) > 1  # jittered
    assert backoff_delay(0, retry_after=3) >= 3 and backoff_delay(0, retry_after=10_000) <= 60


def test_a_cli_client_without_a_window_fails_at_once(farm):
    server, tokens = farm
    fault(server, tokens["admin"], 5)
    started = time.monotonic()
    with pytest.raises(FarmError) as caught:
        FarmClient(server.url, tokens["submit"]).order("ord-missing")
    assert caught.value.status == 503 and caught.value.retry_after == 1
    assert time.monotonic() - started < 2
    fault(server, tokens["admin"], 0)
