"""The gate in front of the farm API (server_bridge/guard.py, errors.py, jsonbody.py, faults.py),
against real `hartomat serve` processes: tokens checked before bodies are read, bodies capped,
NaN refused, one error shape, storage trouble answered 503/507, and the test-mode fault switch."""

from __future__ import annotations

import pytest
from farm_support import FarmServer, token, wait_until

ROLES = ("submit", "worker", "admin")


@pytest.fixture(scope="module")
def farm(tmp_path_factory: pytest.TempPathFactory):
    data = tmp_path_factory.mktemp("farm-guard")
    tokens = {role: token(data, role) for role in ROLES}
    server = FarmServer(data, test_mode=True).start()
    yield server, tokens
    server.stop()


def test_the_fault_switch_answers_503_for_the_seconds_asked_then_clears(farm):
    server, tokens = farm
    assert server.call("GET", "/api/orders", tokens["submit"]).status_code == 200
    reply = server.call("POST", "/api/test/fault", tokens["admin"], json={"status": 503, "seconds": 1.5})
    assert reply.status_code == 200 and reply.json()["status"] == 503, reply.text
    faulted = server.call("GET", "/api/orders", tokens["submit"])
    assert faulted.status_code == 503 and faulted.headers["Retry-After"] == "1"
    assert "fault injected" in faulted.json()["detail"] and faulted.json()["problems"] == []
    assert server.call("POST", "/api/workers/register", None, json={}).status_code == 503  # before the token
    assert server.call("GET", "/health", None).status_code == 200
    assert server.call("GET", "/api/test/fault", tokens["admin"]).json()["status"] == 503
    wait_until(lambda: server.call("GET", "/api/orders", tokens["submit"]).status_code == 200, 10, "fault expiry")
    server.call("POST", "/api/test/fault", tokens["admin"], json={"status": 500, "seconds": 60, "retry_after": None})
    reply = server.call("GET", "/api/orders", tokens["submit"])
    assert reply.status_code == 500 and "Retry-After" not in reply.headers
    assert server.call("POST", "/api/test/fault", tokens["admin"], json={"seconds": 0}).json()["status"] is None
    assert server.call("GET", "/api/orders", tokens["submit"]).status_code == 200


def test_the_fault_switch_is_for_admins_only(farm):
    server, tokens = farm
    for role in ("submit", "worker"):
        assert server.call("POST", "/api/test/fault", tokens[role], json={"seconds": 5}).status_code == 403
    assert server.call("POST", "/api/test/fault", tokens["admin"], json={"seconds": -1}).status_code == 422
    assert server.call("GET", "/api/orders", tokens["submit"]).status_code == 200


def test_a_server_not_in_test_mode_has_no_fault_switch(tmp_path):
    admin = token(tmp_path, "admin")
    server = FarmServer(tmp_path).start()
    try:
        reply = server.call("POST", "/api/test/fault", admin, json={"seconds": 30})
        assert reply.status_code == 404
        assert reply.json() == {"detail": "Not Found", "problems": []}
        assert server.call("GET", "/api/workers", admin).status_code == 200
        assert "/api/test/fault" not in server.call("GET", "/openapi.json", None).json()["paths"]
    finally:
        server.stop()
