"""Bad input never blocks a worker (issue 30, finding 4): a real `hartomat serve` on 127.0.0.1 and one
real worker process (bpy + OCP).

Orders whose input is at fault (a truncated, random or empty STEP file, an override naming a
template that does not exist) fail at once, on their first attempt, with the engine's input error,
and do not count toward the worker's block from the output type; another tenant's good order of
the same output type, queued behind them, then finishes on the same worker.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any

import pytest
from farm_support import FarmServer, derive_output_type, token, wait_until, worker_pool

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]

TINY = {"still": {"resolution_x": 64, "resolution_y": 64, "samples": 1}, "thumbnails": {"sizes": [32]}}


@pytest.fixture()
def farm(tmp_path: Path):
    tokens = {name: token(tmp_path, role, name=name) for name, role in
              (("tenant_a", "submit"), ("tenant_b", "submit"), ("worker", "worker"), ("admin", "admin"))}
    server = FarmServer(tmp_path, lease_s=10).start()
    reply = derive_output_type(server, tokens["admin"], "tiny", "still", "image", TINY)
    assert reply.status_code == 200, reply.text
    yield server, tokens
    server.stop()


def submit(server: FarmServer, tok: str, content: bytes, overrides: dict[str, Any] | None = None) -> str:
    sha = hashlib.sha256(content).hexdigest()
    stored = server.call("POST", "/api/files", tok, data=content, headers={"X-Sha256": sha, "X-Filename": "p.step"})
    assert stored.status_code == 201, stored.text
    reply = server.call("POST", "/api/orders", tok, json={"lines": [
        {"output_type": "tiny", "step_sha256": sha, "overrides": overrides or {}}]})
    assert reply.status_code == 201, reply.text
    order_id: str = reply.json()["id"]
    return order_id


def test_four_broken_orders_from_one_tenant_do_not_block_the_only_worker(farm, tmp_path, single_part_step):
    server, tokens = farm
    good = single_part_step.read_bytes()
    broken = {
        "truncated STEP": good[: len(good) // 2],
        "random bytes": os.urandom(4096),
        "empty file": b"",
        "unknown template": good + b"\n",  # a readable STEP (other bytes), with a template that does not exist
    }
    bad_orders = {why: submit(server, tokens["tenant_a"], content,
                              {"template": {"template": "no-such-template"}} if why == "unknown template" else None)
                  for why, content in broken.items()}
    good_order = submit(server, tokens["tenant_b"], good)
    (tmp_path / "workers").mkdir()
    with worker_pool(server, tokens["worker"], tmp_path / "workers", "--no-farm-cache") as start:
        start("only")
        done = wait_until(lambda: (s := server.call("GET", f"/api/orders/{good_order}", tokens["tenant_b"]).json())
                          ["finished_at"] and s, 300, "the other tenant's good order to finish")
        # fair share may hand the good order out between the bad ones: wait for those to settle too
        wait_until(lambda: all(server.call("GET", f"/api/orders/{o}", tokens["tenant_a"]).json()["finished_at"]
                               for o in bad_orders.values()), 300, "the broken orders to settle")
    assert done["status"] == "succeeded", done
    assert {a["role"] for a in done["lines"][0]["assets"]} == {"primary_render", "thumbnail"}
    for why, order_id in bad_orders.items():
        order = server.call("GET", f"/api/orders/{order_id}", tokens["tenant_a"]).json()
        job = order["lines"][0]["job"]
        assert order["status"] == "failed" and job["status"] == "failed", (why, order)
        assert job["attempts"] == 1, (why, job)  # failed at once: not retried on the same input
        assert job["error"].startswith("input error: "), (why, job["error"])
    expected = {"truncated STEP": "truncated", "random bytes": "not a STEP file", "empty file": "empty",
                "unknown template": "no template 'no-such-template'"}
    for why, says in expected.items():
        error = server.call("GET", f"/api/orders/{bad_orders[why]}", tokens["tenant_a"]).json()["lines"][0]["job"]["error"]
        assert says in error, (why, error)
    workers = server.call("GET", "/api/workers", tokens["admin"]).json()
    assert [(w["name"], w["blocked_output_types"], w["failures"]) for w in workers] == [("only", [], {})]
