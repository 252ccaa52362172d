"""Request guard benchmark: what a large JSON body without a token costs the server.

Starts a real `hartomat serve` on a free loopback port and sends it JSON bodies with no token:
one of 50 MB, four of 50 MB at once while /health is polled, then one of 200 MB (in that
order, since the peak memory only grows). Reports the
seconds until the 401 (the client streams the whole body either way), the server's resident
memory before and at its peak (VmHWM), and the slowest /health answer during the four bodies.
With `--baseline REV` the same runs go against that git revision too (exported to a temp
folder), so before and after are measured in one run on the same loaded machine.

Usage: .venv/bin/python bench/farm_guard.py [--baseline REV] [--write]
       (--write replaces `## Request guard` in docs/performance.md)
"""

from __future__ import annotations

import argparse
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT))

import requests  # noqa: E402
from farm_support import FarmServer  # noqa: E402

from bench.perfdoc import machine, write_section  # noqa: E402

MB = 1024 * 1024


def memory_mb(pid: int, field: str) -> float:
    status = Path(f"/proc/{pid}/status").read_text().splitlines()
    return int(next(line for line in status if line.startswith(field)).split()[1]) / 1024


def post_without_token(port: int, size: int) -> tuple[float, str]:
    """Stream a `size`-byte JSON body with no token; (seconds until the answer, status line)."""
    start = time.perf_counter()
    with socket.create_connection(("127.0.0.1", port), timeout=120) as sock:
        sock.sendall(f"POST /api/orders HTTP/1.1\r\nHost: farm\r\nContent-Type: application/json\r\n"
                     f"Content-Length: {size}\r\n\r\n".encode())
        chunk = b" " * MB
        sock.sendall(b"[")
        for _ in range((size - 2) // MB):
            sock.sendall(chunk)
        sock.sendall(b" " * ((size - 2) % MB) + b"]")
        status = sock.recv(65536).decode("latin-1").split("\r\n", 1)[0]
    return time.perf_counter() - start, status


def health_during(server: FarmServer, work: list[threading.Thread]) -> float:
    """Slowest /health answer (seconds) while the `work` threads run."""
    slowest = 0.0
    for thread in work:
        thread.start()
    while any(thread.is_alive() for thread in work):
        start = time.perf_counter()
        requests.get(f"{server.url}/health", timeout=120)
        slowest = max(slowest, time.perf_counter() - start)
        time.sleep(0.02)
    for thread in work:
        thread.join()
    return slowest


def measure(label: str, cwd: Path | None) -> dict[str, Any]:
    data = Path(tempfile.mkdtemp(prefix="hartomat-bench-guard-"))
    server = FarmServer(data, cwd=cwd).start()
    assert server.proc is not None
    pid = server.proc.pid
    try:
        row: dict[str, Any] = {"label": label, "rss_start": memory_mb(pid, "VmRSS")}
        row["s50"], status = post_without_token(server.port, 50 * MB)
        row["peak50"] = memory_mb(pid, "VmHWM")
        results: list[tuple[float, str]] = []
        four = [threading.Thread(target=lambda: results.append(post_without_token(server.port, 50 * MB)))
                for _ in range(4)]
        row["health4"] = health_during(server, four)
        row["peak4"] = memory_mb(pid, "VmHWM")
        row["s200"], status200 = post_without_token(server.port, 200 * MB)
        row["peak200"] = memory_mb(pid, "VmHWM")
        row["status"] = {status, status200, *(s for _, s in results)}
        return row
    finally:
        server.stop()


def export(rev: str) -> Path:
    tree = Path(tempfile.mkdtemp(prefix="hartomat-baseline-"))
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", rev], capture_output=True, check=True).stdout
    subprocess.run(["tar", "-x", "-C", str(tree)], input=archive, check=True)
    return tree


def report(rows: list[dict[str, Any]], baseline: str | None) -> str:
    lines = [
        "## Request guard",
        "",
        f"Command: `.venv/bin/python bench/farm_guard.py{' --baseline ' + baseline if baseline else ''} --write` "
        "(a real `hartomat serve` on 127.0.0.1; JSON bodies with no token, streamed whole by the client; "
        "memory from /proc: VmRSS at start, VmHWM = peak).",
        "",
        f"Machine: {machine()}; shared with other jobs (five helpers on 2 cores), so treat small "
        "differences as noise.",
        "",
        "| server | answers | 50 MB: s to answer | peak RSS | 4 × 50 MB at once: slowest /health | peak RSS "
        "| 200 MB: s to answer | peak RSS |",
        "|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        lines.append(f"| {r['label']} | {', '.join(sorted(r['status']))} | {r['s50']:.2f} | "
                     f"{r['peak50']:.0f} MB (start {r['rss_start']:.0f}) | {r['health4'] * 1000:.0f} ms | "
                     f"{r['peak4']:.0f} MB | {r['s200']:.2f} | {r['peak200']:.0f} MB |")
    lines += ["", "The guard answers 401 from the headers and the server drops the rest of the body unread, "
              "so memory stays at its start value; the seconds are the client's own time to stream the body."]
    return "\n".join(lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline", help="also measure this git revision (e.g. the commit before the guard)")
    parser.add_argument("--write", action="store_true", help="replace ## Request guard in docs/performance.md")
    args = parser.parse_args()
    rows = [measure(f"baseline {args.baseline}", export(args.baseline))] if args.baseline else []
    rows.append(measure("this tree", None))
    text = report(rows, args.baseline)
    print(text)
    if args.write:
        write_section("Request guard", text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
