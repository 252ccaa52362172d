"""Schemathesis against a real `hartomat serve` on 127.0.0.1: every operation, with the token of
each role that may call it, 25 generated requests per operation and phase, every check on (server
errors, status codes, content types, headers and bodies against /openapi.json, auth, Allow, ...).

One pass per role (operations are tagged with the roles that may call them); the admin's pass
leaves token revocation to a last pass of its own, since the stateful phase would otherwise revoke
the tokens the other passes use. tests/schemathesis.toml lists the operations whose 422 for a
schema-valid request is deliberate (unknown names, refused workflows, sha256 mismatches).
All of it runs in a network namespace with only loopback (tests/netns_support.py).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from farm_support import FarmServer, token
from netns_support import loopback_only

ST = Path(sys.executable).with_name("st")
CONFIG = Path(__file__).with_name("schemathesis.toml")
REVOKE = "POST /api/tokens/{token_id}/revoke"
PASSES = [("admin", ["--include-tag", "admin", "--exclude-name", REVOKE]),
          ("submit", ["--include-tag", "submit"]),
          ("worker", ["--include-tag", "worker"]),
          ("admin", ["--include-name", REVOKE])]


@pytest.fixture(scope="module")
def farm(tmp_path_factory: pytest.TempPathFactory):
    """The server and schemathesis in a loopback-only network namespace: a generated order's
    webhook (a cancelled order finishes) can reach nothing outside."""
    with loopback_only():
        yield from _farm(tmp_path_factory)


def _farm(tmp_path_factory: pytest.TempPathFactory):
    data = tmp_path_factory.mktemp("farm-schemathesis")
    tokens = {role: token(data, role) for role in ("admin", "submit", "worker")}
    # The reply schemas let schemathesis link register -> claim, so it long-polls with real worker
    # ids: a short cap on the wait keeps each poll inside its response-time check (10 s).
    server = FarmServer(data, max_upload=256 * 1024, env={"HARTOMAT_MAX_WAIT_S": "2"}).start()
    yield server, tokens
    server.stop()


@pytest.mark.slow
@pytest.mark.timeout(900)
@pytest.mark.parametrize("role, selection", PASSES, ids=["admin", "submit", "worker", "admin-revoke"])
def test_schemathesis_finds_no_server_error_and_no_spec_mismatch(farm, tmp_path, role, selection):
    server, tokens = farm
    done = subprocess.run(
        [str(ST), "--config-file", str(CONFIG), "--no-color", "run", f"{server.url}/openapi.json",
         "--header", f"Authorization: Bearer {tokens[role]}", *selection, "--checks", "all",
         "--max-examples", "25", "--workers", "1", "--seed", "1311", "--generation-database", "none",
         "--request-timeout", "30", "--report-dir", str(tmp_path)],
        capture_output=True, text=True, timeout=840, cwd=tmp_path)
    report = done.stdout + done.stderr
    assert done.returncode == 0, report[-6000:]
    assert " passed" in report and "Authentication failed" not in report, report[-3000:]
    assert server.proc is not None and server.proc.poll() is None
