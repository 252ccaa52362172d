"""Farm queue benchmark: claim throughput and latency, pickup latency, warm vs cold workers.

Starts a real `hartomat serve` on a free loopback port and drives it with worker clients
(no rendering): claim+complete cycles per second and claim latency with 1, 8 and 32 concurrent
workers (checking that no job is claimed twice), pickup latency (order submitted -> claimed by
an idle long-polling worker), and the per-job cost of a warm worker process against a fresh
Python+bpy process per job, on the probe workflow (pure nodes).

Usage: .venv/bin/python bench/farm_queue.py [--baseline REV] [--write]   (--write replaces `## Queue`, or with
--baseline the before/after section, in docs/performance.md)

`--baseline REV` instead compares this tree with git revision REV in one run: each side's server runs
from its own tree (REV checked out as a temporary git worktree, this .venv, PYTHONPATH at that tree),
and the two are measured alternately round by round (claim throughput at 32 workers, pickup latency),
printing before, after and after/before.
"""

from __future__ import annotations

import argparse  # noqa: E402
import multiprocessing as mp  # noqa: E402
import os  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import sys
import tempfile  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402
from functools import partial  # noqa: E402
from pathlib import Path
from typing import Any  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT))

from farm_support import CLI, FarmServer, token  # noqa: E402

from bench.perfdoc import machine, write_section  # noqa: E402
from server_bridge.client import FarmClient  # noqa: E402
from server_bridge.probe import PROBE_OUTPUT_TYPE, install_probe  # noqa: E402


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def cpu_seconds(pid: int) -> float:
    """User + system CPU time a process has used (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


BEFORE_AFTER = "Queue before/after (issue 16: routers, reply models, SQLite off the event loop)"


def tree_cli(tree: Path) -> list[str]:
    """`hartomat` run from the checkout `tree`: PYTHONPATH first and `-P` (no current directory
    on sys.path), so neither the bench's cwd nor the editable install shadows that tree."""
    return ["env", f"PYTHONPATH={tree}", sys.executable, "-P", "-m", "engine"]


def submit_jobs(client: FarmClient, count: int, output_type: str = "still") -> None:
    content = f"ISO-10303-21; bench {time.monotonic_ns()}".encode()
    path = Path(tempfile.mkdtemp()) / "bench.step"
    path.write_bytes(content)
    sha = client.upload_file(path)
    while count > 0:
        batch = min(count, 1000)
        lines = [{"output_type": output_type, "step_sha256": sha, "product": f"p{i}"} for i in range(batch)]
        client.submit_lines(lines)
        count -= batch


def _claimers(url: str, tok: str, threads: int, combined: bool, barrier: Any, out: Any) -> None:
    """One client process: `threads` workers each claiming and completing until the queue is
    empty; `combined` takes the next job with each report, as `hartomat worker` does."""
    results: list[tuple[str, float]] = []
    lock = threading.Lock()

    def loop() -> None:
        client = FarmClient(url, tok)
        wid = client.register("bench", ["bpy", "ocp"])["worker_id"]
        barrier.wait()
        start = time.perf_counter()
        job = client.claim(wid, 0)
        took = time.perf_counter() - start
        while job is not None:
            with lock:
                results.append((job["job_id"], took))
            start = time.perf_counter()
            if combined:
                job = client.complete(job["job_id"], wid, {"status": "succeeded"}, 0.0)["next_job"]
            else:
                client.complete(job["job_id"], wid, {"status": "succeeded"})
                start = time.perf_counter()
                job = client.claim(wid, 0)
            took = time.perf_counter() - start

    pool = [threading.Thread(target=loop) for _ in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    out.put(results)


def measure_claims(server: FarmServer, tokens: dict[str, str], workers: int, jobs: int,
                   combined: bool = True) -> dict[str, Any]:
    submit_jobs(FarmClient(server.url, tokens["submit"]), jobs)
    processes = min(workers, 4)
    per_process = [workers // processes + (i < workers % processes) for i in range(processes)]
    ctx = mp.get_context("fork")
    barrier, out = ctx.Barrier(workers + 1), ctx.Queue()
    procs = [ctx.Process(target=_claimers, args=(server.url, tokens["worker"], n, combined, barrier, out))
             for n in per_process]
    for proc in procs:
        proc.start()
    assert server.proc is not None
    barrier.wait()
    start, cpu_start = time.perf_counter(), cpu_seconds(server.proc.pid)
    results = [item for _ in procs for item in out.get()]
    elapsed = time.perf_counter() - start
    server_cpu = cpu_seconds(server.proc.pid) - cpu_start
    for proc in procs:
        proc.join()
    ids = [job_id for job_id, _ in results]
    latencies = [took for _, took in results]
    return {"workers": workers, "combined": combined, "jobs": len(ids), "double": len(ids) - len(set(ids)), "missing": jobs - len(set(ids)),
            "rate": len(ids) / elapsed, "server_cpu_ms": server_cpu * 1000 / max(1, len(ids)), "p50": percentile(latencies, 0.5), "p99": percentile(latencies, 0.99)}


def best_of(rounds: int, measure: Any) -> dict[str, Any]:
    """The round with the most cycles/s (the machine is shared: the best round is the least disturbed);
    double claims are summed over every round."""
    results = [measure() for _ in range(rounds)]
    best = max(results, key=lambda r: r["rate"])
    return {**best, "double": sum(r["double"] for r in results), "rounds": rounds,
            "worst_rate": min(r["rate"] for r in results)}


def measure_pickup(server: FarmServer, tokens: dict[str, str], repeats: int) -> dict[str, float]:
    worker = FarmClient(server.url, tokens["worker"])
    submitter = FarmClient(server.url, tokens["submit"])
    wid = worker.register("pickup", ["bpy", "ocp"])["worker_id"]
    latencies: list[float] = []
    claimed: dict[str, float] = {}

    def wait_for_job() -> None:
        job = worker.claim(wid, 20)
        claimed["at"] = time.perf_counter()
        worker.complete(job["job_id"], wid, {"status": "succeeded"})  # type: ignore[index]

    for _ in range(repeats):
        poller = threading.Thread(target=wait_for_job)
        poller.start()
        time.sleep(0.3)  # the worker is idle, waiting inside its long poll
        submitted = time.perf_counter()
        submit_jobs(submitter, 1)
        poller.join()
        latencies.append(claimed["at"] - submitted)
    return {"p50": percentile(latencies, 0.5), "p99": percentile(latencies, 0.99), "n": repeats, "all": latencies}


def measure_warm_vs_cold(server: FarmServer, tokens: dict[str, str], jobs: int, work: Path) -> dict[str, float]:
    """Per job: a warm worker process serving `jobs` probe jobs vs a fresh process per job."""
    from server_bridge.worker import Worker

    admin = FarmClient(server.url, tokens["admin"])
    install_probe(admin)
    submitter = FarmClient(server.url, tokens["submit"])
    cold: list[float] = []
    for index in range(jobs):
        submit_jobs(submitter, 1, PROBE_OUTPUT_TYPE)
        start = time.perf_counter()
        subprocess.run([*CLI, "worker", "--server", server.url, "--token", tokens["worker"], "--max-jobs", "1",
                        "--work-dir", str(work / f"cold{index}"), "--capabilities", "bpy,ocp"],
                       check=True, capture_output=True, timeout=300)
        cold.append(time.perf_counter() - start)
    worker = Worker(FarmClient(server.url, tokens["worker"]), ["bpy", "ocp"], work / "warm", max_jobs=jobs,
                    wait_s=0.5, idle_exit_s=0, log=lambda line: None)
    worker.warm_up()
    submit_jobs(submitter, jobs, PROBE_OUTPUT_TYPE)
    start = time.perf_counter()
    worker.run()
    warm = (time.perf_counter() - start) / jobs
    return {"cold": statistics.median(cold), "warm": warm, "ratio": warm / statistics.median(cold), "n": jobs}


def section(rows: list[dict[str, Any]], pickup: dict[str, float], warm: dict[str, float]) -> str:
    lines = [
        "## Queue", "",
        "Command: `.venv/bin/python bench/farm_queue.py --write` (a real `hartomat serve` on 127.0.0.1, SQLite WAL;",
        f"worker clients in up to 4 processes; no rendering; best of {rows[0]['rounds']} rounds per row, double "
        "claims counted over all rounds).", "",
        f"Machine: {machine()}; shared with other "
        "jobs, so treat small differences as noise. Clients and server share the 2 cores.", "",
        "Claim requests: *separate* = `POST .../claim` then `POST .../complete` per job; *with report* = the",
        "report also takes the next job (`complete` with `next`), as `hartomat worker` does when busy.", "",
        "| concurrent workers | claim | jobs | claim+complete cycles/s (best) | (worst round) | server CPU per cycle "
        "| claim p50 | claim p99 | double claims |",
        "|---:|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for row in rows:
        how = "with report" if row["combined"] else "separate"
        lines.append(f"| {row['workers']} | {how} | {row['jobs']} | {row['rate']:.0f} | {row['worst_rate']:.0f} | "
                     f"{row['server_cpu_ms']:.2f} ms | "
                     f"{row['p50'] * 1000:.1f} ms | "
                     f"{row['p99'] * 1000:.1f} ms | {row['double']} |")
    lines += [
        "",
        f"Pickup latency (order submitted -> claimed by an idle worker inside a 20 s long poll), {pickup['n']} orders: "
        f"p50 {pickup['p50'] * 1000:.1f} ms, p99 {pickup['p99'] * 1000:.1f} ms (Flamenco's idle workers poll every 20 s).",
        "",
        f"Per-job cost on the probe workflow (pure nodes), median of {warm['n']} jobs: a fresh "
        f"`hartomat worker --max-jobs 1` process (Python + bpy + engine imports, register, claim, run, report) "
        f"{warm['cold'] * 1000:.0f} ms; a warm worker process {warm['warm'] * 1000:.0f} ms per job: "
        f"warm/cold = {warm['ratio'] * 100:.1f}%.",
        "",
        "Targets: >= 500 cycles/s at 32 workers with zero double claims; pickup p50 < 0.5 s; warm per-job "
        "overhead < 10% of a cold start.",
        "",
        *verdicts(rows, pickup, warm),
    ]
    return "\n".join(lines)


def verdicts(rows: list[dict[str, Any]], pickup: dict[str, float], warm: dict[str, float]) -> list[str]:
    top = rows[-1]
    load = os.getloadavg()[0]
    throughput = ("met" if top["rate"] >= 500 and top["double"] == 0 else
                  f"not met on this machine ({top['rate']:.0f} cycles/s; zero double claims). The server spends "
                  f"{top['server_cpu_ms']:.2f} ms of CPU per cycle (HTTP parsing, FastAPI, SQLite, "
                  f"loopback sends), a ceiling of about {1000 / top['server_cpu_ms']:.0f} cycles/s on one "
                  f"dedicated core; here the 32 clients, the server and other jobs shared 2 cores "
                  f"(load average {load:.1f} at the end of the run)")
    return [
        f"- Throughput at 32 workers: {throughput}.",
        f"- Pickup p50 < 0.5 s: {'met' if pickup['p50'] < 0.5 else 'not met'} ({pickup['p50'] * 1000:.1f} ms).",
        f"- Warm overhead < 10% of cold: {'met' if warm['ratio'] < 0.10 else 'not met'} "
        f"({warm['ratio'] * 100:.1f}%).",
    ]


def compare(baseline: str, jobs: int, rounds: int, pickups: int) -> str:
    """Before (REV) and after (this tree) in one run, alternating: best claim throughput at 32
    workers (with report) over `rounds`, and pickup p50/p99 over `pickups` orders per side."""
    base = Path(tempfile.mkdtemp(prefix="hartomat-bench-base-")) / "tree"
    rev = subprocess.run(["git", "-C", str(ROOT), "rev-parse", baseline], capture_output=True, text=True,
                         check=True).stdout.strip()
    subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", str(base), rev], check=True,
                   capture_output=True)
    sides: dict[str, tuple[FarmServer, dict[str, str]]] = {}
    try:
        for label, tree in (("before", base), ("after", ROOT)):
            work = Path(tempfile.mkdtemp(prefix=f"hartomat-bench-queue-{label}-"))
            cli = tree_cli(tree)
            tokens = {role: token(work, role, cli=cli) for role in ("submit", "worker")}
            sides[label] = (FarmServer(work, cli=cli, cwd=tree).start(), tokens)
        claims: dict[str, list[dict[str, Any]]] = {label: [] for label in sides}
        picks: dict[str, list[float]] = {label: [] for label in sides}
        for index in range(rounds):
            order = list(sides) if index % 2 == 0 else list(reversed(sides))  # neither side always goes first
            for label in order:
                server, tokens = sides[label]
                claims[label].append(measure_claims(server, tokens, 32, jobs, True))
                picks[label] += measure_pickup(server, tokens, max(1, pickups // rounds))["all"]
                print(label, claims[label][-1], flush=True)
    finally:
        for server, _ in sides.values():
            server.stop()
        subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(base)], capture_output=True)
    return compare_table(baseline, rev, jobs, claims, picks)


CLAIM_FIGURES = ("rate", "server_cpu_ms", "p50", "p99")


def compare_table(baseline: str, rev: str, jobs: int, claims: dict[str, list[dict[str, Any]]],
                  picks: dict[str, list[float]]) -> str:
    """Medians over the rounds (one lucky or disturbed round moves a best-of by tens of percent
    on a shared machine), the spread of the rates beside them, and after/before as ratios."""
    rounds = len(claims["after"])
    row = {label: (*(statistics.median(r[key] for r in claims[label]) for key in CLAIM_FIGURES),
                   percentile(picks[label], 0.5), percentile(picks[label], 0.99)) for label in claims}
    lines = [f"Before: `{baseline}` = {rev[:12]}; after: this tree. {rounds} rounds per side, the order alternating "
             f"(before first, then after first): {jobs} claim+complete cycles by 32 workers (claim with report), "
             f"{len(picks['after'])} pickups per side (order submitted -> claimed by an idle long-polling worker). "
             "Claim figures are medians over the rounds.", "",
             "| | claim+complete cycles/s | (rounds: min-max) | server CPU per cycle | claim p50 | claim p99 "
             "| pickup p50 | pickup p99 |",
             "|---|---:|---:|---:|---:|---:|---:|---:|"]
    for label in claims:
        rate, cpu, c50, c99, p50, p99 = row[label]
        rates = [r["rate"] for r in claims[label]]
        lines.append(f"| {label} | {rate:.0f} | {min(rates):.0f}-{max(rates):.0f} | {cpu:.2f} ms | "
                     f"{c50 * 1000:.1f} ms | {c99 * 1000:.1f} ms | {p50 * 1000:.1f} ms | {p99 * 1000:.1f} ms |")
    ratios = [a / b if b else float("nan") for a, b in zip(row["after"], row["before"], strict=True)]
    lines.append("| after/before | " + " | ".join(f"{r:.2f}" for r in ratios[:1]) + " | | "
                 + " | ".join(f"{r:.2f}" for r in ratios[1:]) + " |")
    doubles = sum(r["double"] for rows in claims.values() for r in rows)
    lines += ["", f"Double claims over all rounds: {doubles}. Throughput: higher is better; CPU and latencies: "
              "lower.", "", *WHERE_IT_COMES_FROM]
    return "\n".join(lines)


WHERE_IT_COMES_FROM = [
    "Where the difference comes from (issue 16): *before*, every store call ran on the event loop; *after*, none "
    "does. A known token is admitted from the guard's cache, and a report with `next` does its store work and the "
    "next claim in one hop to the store thread (db.off_loop). That hop alone cost about 0.5 ms of server CPU per "
    "cycle on this 2-core machine (the store thread runs on the other core, beside the clients; with the server "
    "pinned to one core it cost 0.1 ms), so the cycle's own work was made cheaper to pay for it: the report and the "
    "next claim share one transaction (one commit instead of two; commits were about 40% of the cycle's store time), the "
    "order roll-up looks up the order's jobs by status instead of counting them all, a busy worker's `last_seen` "
    "is written at most every 5 s, the frozen workflow goes to the worker as the JSON text it was stored as "
    "(orjson.Fragment: no parse and re-encode of ~4 KB per claim), and the workers' routes are matched first. "
    "What the hop buys: a long transaction (a 1000-line order, a WAL checkpoint, another process holding the "
    "write lock) no longer stalls every other request and long poll.",
]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=2000, help="jobs per concurrency level")
    parser.add_argument("--rounds", type=int, default=3, help="rounds per concurrency level; the best is kept "
                        "(with --baseline: rounds per side, medians kept)")
    parser.add_argument("--pickups", type=int, default=30)
    parser.add_argument("--cold-jobs", type=int, default=5)
    parser.add_argument("--write", action="store_true", help="replace the ## Queue section of docs/performance.md "
                        "(with --baseline: the before/after section)")
    parser.add_argument("--baseline", metavar="REV", help="compare with this git revision in one run (before/after)")
    args = parser.parse_args()
    if args.baseline:
        text = "\n".join([
            f"## {BEFORE_AFTER}", "",
            f"Command: `.venv/bin/python bench/farm_queue.py --baseline {args.baseline} --jobs {args.jobs} "
            f"--rounds {args.rounds} --pickups {args.pickups}{' --write' if args.write else ''}` (a real `hartomat serve` "
            "per side on 127.0.0.1, each from its own tree; the same clients; no rendering).", "",
            f"Machine: {machine()}; the clients share its cores with the server, so rates move by "
            "tens of percent between runs; server CPU per cycle is the steadier figure.", "",
            compare(args.baseline, args.jobs, args.rounds, args.pickups)])
        print(text)
        if args.write:
            write_section(BEFORE_AFTER, text)
        return 0
    work = Path(tempfile.mkdtemp(prefix="hartomat-bench-queue-"))
    tokens = {role: token(work, role) for role in ("submit", "worker", "admin")}
    server = FarmServer(work).start()
    try:
        rows = [best_of(args.rounds, partial(measure_claims, server, tokens, n,
                                             args.jobs if n > 1 else args.jobs // 4, combined))
                for n, combined in ((32, False), (1, True), (8, True), (32, True))]
        for row in rows:
            print(row, flush=True)
        pickup = measure_pickup(server, tokens, args.pickups)
        print(pickup, flush=True)
        warm = measure_warm_vs_cold(server, tokens, args.cold_jobs, work)
        print(warm, flush=True)
    finally:
        server.stop()
    text = section(rows, pickup, warm)
    print(text)
    if args.write:
        write_section("Queue", text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
