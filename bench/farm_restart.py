"""Farm restart benchmark: how long after a server restart every idle worker is claiming again.

Starts a real `hartomat serve` on a free loopback port and idle `hartomat worker` processes
(long-polling, no capabilities, so they only claim), SIGKILLs the server, keeps it down for a
while, starts it again on the same port, and measures from the moment it answers /health until
each worker's next claim reaches it (the server stamps `last_seen` on every claim). Workers back
off exponentially (0.2 s doubling, capped at 5 s, with jitter), so the figure is bounded by the
cap whatever the outage.

Usage: .venv/bin/python bench/farm_restart.py [--workers N] [--write]
(--write replaces `## Farm restart` in docs/performance.md)
"""

from __future__ import annotations

import argparse
import signal
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT))

from farm_support import FarmServer, start_worker, stop_process, token, wait_until  # noqa: E402

from bench.perfdoc import machine, write_section  # noqa: E402

OUTAGES_S = (2.0, 2.0, 2.0, 10.0, 30.0)


def workers_seen(server: FarmServer, admin: str) -> dict[str, float]:
    listed: list[dict[str, Any]] = server.call("GET", "/api/workers", admin).json()
    return {w["name"]: float(w["last_seen"]) for w in listed}


def one_restart(server: FarmServer, admin: str, names: list[str], outage_s: float) -> list[float]:
    """Seconds from the restarted server's first /health answer to each worker's first claim."""
    server.stop(signal.SIGKILL)
    time.sleep(outage_s)
    server.start()  # returns once /health answers
    ready = time.time()
    def all_back() -> dict[str, float] | None:
        seen = workers_seen(server, admin)
        return seen if all(seen.get(n, 0) >= ready for n in names) else None

    seen = wait_until(all_back, 120, "every worker to claim again", interval=0.02)
    return sorted(seen[n] - ready for n in names)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--write", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="hartomat-bench-restart-") as tmp:
        data = Path(tmp) / "farm"
        worker_token, admin = token(data, "worker"), token(data, "admin")
        server = FarmServer(data).start()
        names = [f"idle{i}" for i in range(args.workers)]
        procs = [start_worker(server, worker_token, Path(tmp) / n, n, "--capabilities", "") for n in names]
        try:
            wait_until(lambda: len(workers_seen(server, admin)) == len(names), 120, "workers to register")
            time.sleep(1)
            rows = []
            for outage in OUTAGES_S:
                delays = one_restart(server, admin, names, outage)
                alive = sum(p.poll() is None for p in procs)
                rows.append((outage, delays, alive))
                print(f"down {outage:4.0f} s: all {len(names)} idle workers claiming again after "
                      f"{delays[-1]:.2f} s (first {delays[0]:.2f} s); {alive}/{len(procs)} alive", flush=True)
        finally:
            for proc in procs:
                stop_process(proc)
            server.stop()
    worst = [d[-1] for _, d, _ in rows]
    text = "\n".join([
        "## Farm restart",
        "",
        f"`.venv/bin/python bench/farm_restart.py --workers {args.workers} --write`; {machine()}; the machine was "
        "shared with other jobs while this ran. A real `hartomat serve` with idle `hartomat worker` processes "
        "long-polling on 127.0.0.1; the server is SIGKILLed, kept down, and started again on the same port. "
        "Time from the restarted server's first `/health` answer until every idle worker has claimed again "
        "(workers retry with exponential backoff from 0.2 s, capped at 5 s, with jitter; none exits):",
        "",
        "| server down | all workers claiming again after | first worker | workers alive |",
        "|---|---|---|---|",
        *[f"| {outage:.0f} s | {delays[-1]:.2f} s | {delays[0]:.2f} s | {alive}/{args.workers} |"
          for outage, delays, alive in rows],
        "",
        f"Median over the runs: {statistics.median(worst):.2f} s; worst {max(worst):.2f} s (bounded by the 5 s "
        "backoff cap plus jitter, whatever the outage).",
        "",
    ])
    print(text)
    if args.write:
        write_section("Farm restart", text)


if __name__ == "__main__":
    main()
