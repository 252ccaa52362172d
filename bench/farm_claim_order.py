"""What the claim's ordering costs as tenants grow: store time per claim+complete, in process.

The claim (server_bridge.jobstate.claim_next) reads the tenants with waiting jobs, one index seek
each, and each tenant's best job (priority, then age): its cost grows with the number of tenants
that have jobs waiting, not with the number of jobs. This bench fills a fresh store with JOBS
probe jobs spread over 1, 10 and 100 tenants (one order each) and times `queue.claim` followed by
`queue.complete` for every job, on one thread, no HTTP (bench/farm_queue.py has the whole path).

Usage: .venv/bin/python bench/farm_claim_order.py [--jobs 2000]
"""

from __future__ import annotations

import argparse
import hashlib
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from server_bridge import orders, queue  # noqa: E402
from server_bridge.auth import Principal  # noqa: E402
from server_bridge.catalog import save_output_type, save_workflow  # noqa: E402
from server_bridge.db import Store  # noqa: E402
from server_bridge.probe import PROBE_OUTPUT_TYPE, probe_workflow  # noqa: E402


def fill(store: Store, jobs: int, tenants: int) -> None:
    saved = save_workflow(store, probe_workflow(), "wf-probe")
    save_output_type(store, {"name": PROBE_OUTPUT_TYPE, "family": "still", "artifact_kind": "step_file",
                             "workflow_id": saved["id"], "mode": "graph"}, "bench")
    sha = hashlib.sha256(b"bench").hexdigest()
    with store.tx() as c:
        c.execute("INSERT INTO files VALUES (?, 5, 'bench.step', 0)", (sha,))
    for tenant in range(tenants):
        who = Principal(f"tok-{tenant:03d}", f"tenant-{tenant}", "submit")
        lines = [{"output_type": PROBE_OUTPUT_TYPE, "step_sha256": sha, "product": f"p{i}"}
                 for i in range(jobs // tenants)]
        orders.create_order(store, who, lines, None)


def measure(jobs: int, tenants: int) -> dict[str, float]:
    store = Store(Path(tempfile.mkdtemp(prefix="hartomat-bench-claim-")) / "farm.sqlite")
    fill(store, jobs, tenants)
    worker = queue.own_worker(store, Principal("w", "w", "worker"),
                              queue.register_worker(store, Principal("w", "w", "worker"), "bench", [])["worker_id"])
    claims, done = [], 0
    while True:
        start = time.perf_counter()
        job = queue.claim(store, worker, 30.0)
        claims.append(time.perf_counter() - start)
        if job is None:
            break
        queue.complete(store, worker["id"], job["job_id"], {"status": "succeeded"})
        done += 1
    claims.sort()
    return {"tenants": tenants, "jobs": done, "claim_p50_ms": claims[len(claims) // 2] * 1000,
            "claim_p99_ms": claims[int(len(claims) * 0.99)] * 1000}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=2000)
    args = parser.parse_args()
    print("| tenants with jobs waiting | jobs | claim p50 | claim p99 |\n|---:|---:|---:|---:|")
    for tenants in (1, 10, 100):
        row = measure(args.jobs, tenants)
        print(f"| {row['tenants']} | {row['jobs']} | {row['claim_p50_ms']:.3f} ms | {row['claim_p99_ms']:.3f} ms |",
              flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
