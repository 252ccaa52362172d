"""engine.egress in-process, in a loopback-only network namespace: the host is resolved once per
attempt and the request goes to the address that was checked (a DNS answer that changes between
the check and the connection, as in DNS rebinding, reaches nothing)."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from netns_support import loopback_only

from engine.egress import EgressPolicy, parse_url, post_once, refusal_kind


@pytest.fixture
def listener() -> Iterator[tuple[int, list[str]]]:
    with loopback_only():
        hits: list[str] = []

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                hits.append(self.headers["Host"])
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        yield server.server_address[1], hits
        server.shutdown()
        server.server_close()


def test_a_rebinding_name_is_resolved_once_and_the_checked_address_is_used(listener, monkeypatch):
    port, hits = listener
    answers = iter(["93.184.216.34", "127.0.0.1", "127.0.0.1"])  # public when checked, loopback after
    asked: list[str] = []
    real = socket.getaddrinfo

    def rebinding(host: str, *args: Any, **kwargs: Any) -> Any:
        if host != "hooks.example.com":
            return real(host, *args, **kwargs)
        asked.append(host)
        address = next(answers)
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, port))]

    monkeypatch.setattr(socket, "getaddrinfo", rebinding)
    result = post_once(EgressPolicy.parse("public"), f"http://hooks.example.com:{port}/x", b"{}", {}, 3.0)
    assert not result.delivered and result.detail.startswith("93.184.216.34")  # no route here: not delivered
    assert asked == ["hooks.example.com"] and hits == []


def test_an_allowed_host_gets_its_own_host_header(listener):
    port, hits = listener
    result = post_once(EgressPolicy.parse("localhost"), f"http://localhost:{port}/x?y=1", b"{}", {}, 3.0)
    assert result.delivered and hits == [f"localhost:{port}"]


@pytest.mark.parametrize(("address", "kind"), [
    ("127.0.0.1", "loopback"), ("::ffff:10.0.0.1", "IPv4-mapped form of a private"),
    ("64:ff9b::a9fe:a9fe", "NAT64 form of a link-local"), ("2001:db8::1", "documentation"),
    ("::", "IPv4-compatible form of a this-network"), ("3000::1", None), ("8.8.8.8", None), ("4000::1", "reserved"),
])
def test_every_address_form_is_classified(address, kind):
    import ipaddress

    assert refusal_kind(ipaddress.ip_address(address)) == kind


def test_the_request_target_is_what_the_url_says():
    target = parse_url("HTTPS://Hooks.Example.com./a/%2e%2e/b?c=d")
    assert (target.scheme, target.host, target.port, target.path) == ("https", "hooks.example.com", 443,
                                                                      "/a/%2e%2e/b?c=d")
    assert parse_url("http://[2606:4700::1]:8080").host_header == "[2606:4700::1]:8080"
