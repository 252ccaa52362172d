"""Order webhooks against a real `hartomat serve`, all in a loopback-only network namespace.

One URL rule: URLs that URL parsers read differently, numeric and embedded-IPv4 spellings of
loopback and malformed URLs get a 422 and reach nobody. One delivery: what a submitter sees does
not tell a closed port from an open one; a receiver that drips its reply holds back nobody else's
webhook and is cut at the deadline; a delivery interrupted by a killed server is delivered again
with the same delivery id.
"""

from __future__ import annotations

import hashlib
import signal
import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from farm_support import FarmServer, token, wait_until
from netns_support import loopback_only

from engine.egress import DELIVERY_HEADER, NOT_DELIVERED


class Receiver:
    """A webhook receiver on 127.0.0.1: answers `code`, records every request; `hold` keeps the
    next request waiting until `release` is set."""

    def __init__(self, code: int = 200) -> None:
        self.code, self.requests = code, []
        self.hold, self.release = False, threading.Event()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.requests.append((dict(self.headers), body, self.path))
                if receiver.hold:
                    receiver.hold = False
                    receiver.release.wait(60)
                self.send_response(receiver.code)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def close(self) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()


class Dripper:
    """A receiver that reads the request, then sends its reply one byte per second (the probe's
    slow receiver); records how many bytes each connection took before the sender hung up."""

    REPLY = b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"

    def __init__(self) -> None:
        self.sent: list[int] = []
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}/slow"
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._drip, args=(conn,), daemon=True).start()

    @staticmethod
    def _hung_up(conn: socket.socket) -> bool:
        try:
            return conn.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT) == b""
        except BlockingIOError:
            return False

    def _drip(self, conn: socket.socket) -> None:
        conn.recv(65536)
        count = 0
        try:
            for byte in self.REPLY:
                conn.sendall(bytes([byte]))
                count += 1
                time.sleep(1.0)
                if self._hung_up(conn):
                    break
        except OSError:
            pass
        finally:
            self.sent.append(count)
            conn.close()


@pytest.fixture(scope="module")
def netns() -> Iterator[None]:
    with loopback_only():
        yield


def _farm(factory: pytest.TempPathFactory, name: str, allow: str, **env: str) -> tuple[FarmServer, dict[str, str]]:
    data = factory.mktemp(name)
    tokens = {role: token(data, role) for role in ("submit", "worker", "admin")}
    server = FarmServer(data, lease_s=5, env={"HARTOMAT_WEBHOOK_ALLOW": allow, "HARTOMAT_WEBHOOK_BACKOFF_S": "0.1",
                                              "HARTOMAT_WEBHOOK_SECRET": "s3cret", **env}).start()
    return server, tokens


@pytest.fixture(scope="module")
def public_farm(netns, tmp_path_factory) -> Iterator[tuple[FarmServer, dict[str, str]]]:
    server, tokens = _farm(tmp_path_factory, "webhooks-public", "public")
    yield server, tokens
    server.stop()


@pytest.fixture(scope="module")
def receiver(netns) -> Iterator[Receiver]:
    made = Receiver()
    yield made
    made.close()


def _upload(server: FarmServer, tok: str, content: bytes) -> str:
    sha = hashlib.sha256(content).hexdigest()
    reply = server.call("POST", "/api/files", tok, data=content, headers={"X-Sha256": sha, "X-Filename": "p.step"})
    assert reply.status_code == 201, reply.text
    return sha


def _order(server: FarmServer, tokens: dict[str, str], webhook: str) -> Any:
    sha = _upload(server, tokens["submit"], f"ISO-10303-21; {webhook}".encode())
    return server.call("POST", "/api/orders", tokens["submit"], json={
        "lines": [{"output_type": "still", "step_sha256": sha}], "webhook_url": webhook})


def _finish(server: FarmServer, tokens: dict[str, str], webhook: str) -> str:
    """Submit an order with this webhook and have a worker complete its job; the order id."""
    reply = _order(server, tokens, webhook)
    assert reply.status_code == 201, reply.text
    worker = server.call("POST", "/api/workers/register", tokens["worker"],
                         json={"capabilities": ["bpy", "ocp"]}).json()["worker_id"]
    job = server.call("POST", f"/api/workers/{worker}/claim", tokens["worker"], json={"wait_s": 5}).json()
    server.call("POST", f"/api/jobs/{job['job_id']}/complete", tokens["worker"],
                json={"worker_id": worker, "status": "succeeded"})
    return str(reply.json()["id"])


def _webhook(server: FarmServer, tokens: dict[str, str], order_id: str) -> dict[str, Any]:
    hook: dict[str, Any] = server.call("GET", f"/api/orders/{order_id}", tokens["submit"]).json()["webhook"]
    return hook


def _settled(server: FarmServer, tokens: dict[str, str], order_id: str, timeout: float = 60) -> dict[str, Any]:
    result: dict[str, Any] = wait_until(lambda: (h := _webhook(server, tokens, order_id))["status"] in
                                        ("delivered", "failed") and h, timeout, f"webhook of {order_id} settled")
    return result


# --- one URL rule ------------------------------------------------------------------------------------
DISGUISED = ["http://127.0.0.1:{port}\\@1.1.1.1/x", "http://%31%32%37.0.0.1:{port}/x",
             "http://%6c%6f%63%61%6c%68%6f%73%74:{port}/x", "http://[::7f00:1]:{port}/x",
             "http://[::ffff:0:7f00:1]:{port}/x", "http://[64:ff9b::7f00:1]:{port}/x",
             "http://[::ffff:127.0.0.1]:{port}/x", "http://127.1:{port}/x", "http://2130706433:{port}/x",
             "http://0x7f.0.0.1:{port}/x", "http://0177.0.0.1:{port}/x", "http://user@127.0.0.1:{port}/x",
             "http://1.1.1.1@127.0.0.1:{port}/x", "http://localhost.:{port}/x", "http://lo\u0441alhost:{port}/x",
             "http://192.0.2.7/x", "http://[2001:db8::1]/x", "http://100.64.0.1/x", "http://[fc00::1]/x",
             "http://[2002:7f00:1::1]/x", "http://240.0.0.1/x"]


@pytest.mark.parametrize("url", DISGUISED)
def test_disguised_or_ambiguous_webhook_urls_are_refused_and_reach_nobody(public_farm, receiver, url):
    server, tokens = public_farm
    before = len(receiver.requests)
    port = receiver.server.server_address[1]
    reply = _order(server, tokens, url.format(port=port))
    assert reply.status_code == 422, reply.text
    assert reply.json()["detail"].startswith("webhook_url: "), reply.text
    assert len(receiver.requests) == before


@pytest.mark.parametrize("url", ["http://[::1", "https://[x", "http://[127.0.0.1]/", "http://a]b/", "http://a b/",
                                 "http://host:99999/", "http://[fe80::1%25lo]/", "https://", "http://example.com/#f"])
def test_malformed_webhook_urls_get_422_naming_the_field(public_farm, url):
    server, tokens = public_farm
    reply = _order(server, tokens, url)
    assert reply.status_code == 422, reply.text
    assert "webhook_url" in reply.text


def test_a_closed_port_and_an_answering_receiver_read_the_same_to_the_submitter(netns, tmp_path_factory):
    server, tokens = _farm(tmp_path_factory, "webhooks-ports", "127.0.0.1", HARTOMAT_WEBHOOK_ATTEMPTS="2",
                           HARTOMAT_WEBHOOK_SECRET="")
    unauthorised = Receiver(code=401)
    try:
        answered = _settled(server, tokens, _finish(server, tokens, f"{unauthorised.url}/hook"))
        closed = _settled(server, tokens, _finish(server, tokens, "http://127.0.0.1:9/hook"))
    finally:
        unauthorised.close()
        server.stop()
    assert len(unauthorised.requests) == 2  # a 4xx is retried like anything else
    assert all("X-Hartomat-Signature" not in headers for headers, _, _ in unauthorised.requests)  # no secret
    assert {k: v for k, v in answered.items() if k != "url"} == {k: v for k, v in closed.items() if k != "url"} \
        == {"status": "failed", "attempts": 2, "error": NOT_DELIVERED}


# --- webhooks that cannot stall each other -----------------------------------------------------------
def test_a_dripping_receiver_holds_back_no_other_webhook_and_is_cut_at_the_deadline(netns, tmp_path_factory):
    server, tokens = _farm(tmp_path_factory, "webhooks-slow", "127.0.0.1", HARTOMAT_WEBHOOK_ATTEMPTS="2",
                           HARTOMAT_WEBHOOK_DEADLINE_S="4")
    dripper, fast = Dripper(), Receiver()
    try:
        slow_order = _finish(server, tokens, dripper.url)
        wait_until(lambda: _webhook(server, tokens, slow_order)["attempts"] == 1, 20, "the slow delivery to start")
        fast_order = _finish(server, tokens, f"{fast.url}/fast")
        fast_hook = _settled(server, tokens, fast_order)
        slow_then = _webhook(server, tokens, slow_order)
        slow_hook = _settled(server, tokens, slow_order)
        wait_until(lambda: len(dripper.sent) == 2, 20, "the dripping receiver to see both hang-ups")
    finally:
        dripper.sock.close()
        fast.close()
        server.stop()
    assert fast_hook["status"] == "delivered" and fast_hook["attempts"] == 1
    assert slow_then["status"] == "pending"  # the other tenant's webhook went while this one dripped
    assert slow_hook == {**slow_hook, "status": "failed", "attempts": 2, "error": NOT_DELIVERED}
    assert all(count < len(Dripper.REPLY) for count in dripper.sent), dripper.sent  # cut before the reply ended


def test_a_delivery_cut_by_a_killed_server_comes_again_with_the_same_delivery_id(netns, tmp_path_factory):
    server, tokens = _farm(tmp_path_factory, "webhooks-restart", "127.0.0.1")
    held = Receiver()
    held.hold = True
    try:
        order_id = _finish(server, tokens, f"{held.url}/done")
        wait_until(lambda: held.requests, 20, "the first delivery to arrive")
        server.stop(signal.SIGKILL)  # mid-delivery: the receiver got the body, the server never its reply
        held.release.set()
        server.start()
        hook = _settled(server, tokens, order_id)
    finally:
        held.close()
        server.stop()
    assert hook["status"] == "delivered" and hook["attempts"] == 2
    ids = [headers[DELIVERY_HEADER] for headers, _, _ in held.requests]
    assert len(ids) == 2 and ids[0] == ids[1] and ids[0].startswith("whd-")
    assert all("X-Hartomat-Signature" in headers for headers, _, _ in held.requests)


def test_the_tests_run_where_only_loopback_exists(netns):
    with pytest.raises(OSError):
        socket.create_connection(("1.1.1.1", 80), timeout=2)
    assert Path("/proc/thread-self/ns/net").exists()
