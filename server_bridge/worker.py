"""The farm worker loop: register, long-poll for jobs, run each with the engine runtime,
heartbeat progress, upload outputs, report. One warm process serves many jobs.

SIGTERM (or Ctrl-C) lets the current job finish, then exits; a second one cancels the job and
hands it back to the queue.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import sys
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from engine.filenames import UnsafeName, inside, plain_name
from engine.model.vocabulary import TERMINAL_JOB_STATUSES, Capability, JobKind, JobStatus, Mode, NodeStatus

from . import provenance
from .client import FarmClient, FarmError
from .publisher import RemotePublisher

Runner = Callable[["JobContext"], dict[str, Any]]
BEAT_LOG_LINES = 1000  # log lines per heartbeat (the server takes up to 5000)
MAX_BUFFERED_LINES = 20000  # log lines kept while the server is unreachable
REFUSED = (401, 403)  # the token is revoked or wrong: the only server answers a worker exits on


class WorkerStop(Exception):
    """Raised by the stop signal handler while the worker is idle, to end its long poll now."""


@dataclass
class JobContext:
    """One claimed job as the runner sees it."""

    job: dict[str, Any]
    step_path: Path
    workdir: Path
    cache_dir: Path
    store_path: Path
    publisher: RemotePublisher
    progress: Callable[[Any], None]
    cancel: Callable[[], bool]
    log: Callable[[str], None]
    path_roots: dict[str, list[Path]] = field(default_factory=dict)
    overrides: dict[str, dict[str, Any]] = field(default_factory=dict)
    farm_cache: bool = True  # ask the farm-wide artifact cache before running a cacheable node
    pool: Any = None  # the worker's warm CAD processes (engine.runtime.process_pool), lent to every run


@dataclass
class _Beat:
    """Progress and log lines waiting for the next heartbeat, and what the server answered."""

    events: dict[str, dict[str, Any]] = field(default_factory=dict)
    logs: list[str] = field(default_factory=list)
    cancel: bool = False
    lost: bool = False
    lock: threading.Lock = field(default_factory=threading.Lock)

    def take(self) -> tuple[list[dict[str, Any]], list[str]]:
        """What to send now: every node's latest event and up to BEAT_LOG_LINES log lines."""
        with self.lock:
            events, logs = list(self.events.values()), self.logs[:BEAT_LOG_LINES]
            self.events, self.logs = {}, self.logs[BEAT_LOG_LINES:]
        return events, logs

    def put_back(self, events: list[dict[str, Any]], logs: list[str]) -> None:
        """Keep what a failed heartbeat could not send, for the next one (newer events win); past
        MAX_BUFFERED_LINES the oldest lines give way, and one line says how many."""
        with self.lock:
            self.events = {**{e["node_id"]: e for e in events}, **self.events}
            merged = logs + self.logs
            if len(merged) > MAX_BUFFERED_LINES:
                dropped = len(merged) - MAX_BUFFERED_LINES + 1
                merged = [f"({dropped} log lines dropped while the server was unreachable)",
                          *merged[dropped:]]
            self.logs = merged

    @property
    def pending(self) -> bool:
        with self.lock:
            return bool(self.events or self.logs)


def run_with_runtime(ctx: JobContext) -> dict[str, Any]:
    """The default runner: engine.runtime.run_workflow in the output type's mode. A prep job
    runs what feeds a split node (its outputs go to the farm cache); a part job runs its target
    node (taking what feeds it from the farm cache) and hands the outputs on; an assemble job
    builds the split node's outputs from the parts and runs the rest of the graph."""
    from engine.egress import EgressPolicy
    from engine.legacy.presets import PRESETS
    from engine.model.context import OrderLine
    from engine.model.overrides import merge_overrides
    from engine.model.workflow import parse_workflow_document
    from engine.runtime import PlanError, RunOptions, run_workflow

    from .parts import PartsUnusable, fetch_parts, given_outputs, upload_parts
    from .remote_cache import RemoteCache

    job = ctx.job
    kind = job.get("kind", JobKind.LINE)
    workflow = parse_workflow_document(job["workflow"], f"job {job['job_id']} workflow")
    overrides = job["overrides"]
    targets, given = None, {}
    if kind in (JobKind.PART, JobKind.PREP):
        overrides = merge_overrides(overrides, job["part"].get("overrides") or {})
        targets = frozenset(job["part"]["targets"])
    elif kind == JobKind.ASSEMBLE:
        try:
            files = fetch_parts(ctx.publisher.client, job, ctx.publisher.worker_id, ctx.workdir / "parts")
        except PartsUnusable as exc:
            ctx.log(f"parts to run again: {', '.join(exc.jobs)} ({exc})")
            return {"status": JobStatus.FAILED, "error": f"parts unusable: {exc}", "rerun_parts": exc.jobs}
        given = given_outputs(job, workflow, files, ctx.workdir / "assemble", ctx.log,
                              merge_overrides(overrides, ctx.overrides))
    order_line = OrderLine(id=job["order_line_id"], order_id=job["order_id"], product=job["product"],
                           step_path=str(ctx.step_path), output_type=job["output_type"], overrides=overrides)
    options = RunOptions(out_dir=ctx.workdir / "run", mode=Mode(job["mode"]), cache_dir=ctx.cache_dir,
                         overrides=ctx.overrides,
                         store_path=ctx.store_path, progress=ctx.progress, cancel=ctx.cancel,
                         publisher=ctx.publisher, legacy_config=PRESETS.get(job["family"]),
                         fallback=bool(job.get("legacy_fallback", True)) and kind == JobKind.LINE,
                         path_roots=ctx.path_roots, egress=EgressPolicy.from_env(), targets=targets, given=given,
                         pool=ctx.pool,
                         remote_cache=RemoteCache(ctx.publisher.client, ctx.workdir / "farm-cache",
                                                  ctx.publisher.worker_id, ctx.log)
                         if ctx.farm_cache else None)
    try:
        result = run_workflow(workflow, order_line, options)
    except PlanError as exc:  # invalid settings, a path refused: the order's input, on every worker, unless
        # this worker's own --set takes part (then the worker's config may be at fault: it counts)
        return {"status": JobStatus.FAILED, "error": str(exc), "input_error": not ctx.overrides}
    status = result.status if result.status in TERMINAL_JOB_STATUSES else JobStatus.FAILED
    summary = _json_safe(result.summary())
    if kind == JobKind.PART and status == JobStatus.SUCCEEDED:
        outputs = summary["nodes"][job["part"]["node_id"]]["outputs"]
        count = upload_parts(ctx.publisher.client, job, ctx.publisher.worker_id, outputs)
        ctx.log(f"handed {count} file(s) of {job['part']['label']} to the assemble job")
    return {"status": status, "error": result.error, "fell_back": result.fell_back, "input_error": result.input_error,
            "summary": summary, "parity": _json_safe(result.parity) if result.parity else None}


def job_cpu(own_s: float, summary: Any) -> float:
    """A job's CPU seconds: this process's over the job, plus what its nodes used in other
    processes (the pool, a helper), which this process's clock does not see."""
    groups = [summary.get(g) or {} for g in ("nodes", "legacy_nodes")] if isinstance(summary, dict) else []
    others = sum(n.get("cpu") or 0.0 for nodes in groups for n in nodes.values()
                 if n.get("pid") not in (None, os.getpid()))
    return round(max(0.0, own_s) + others, 4)
def claim_workdir(work_root: Path, job: dict[str, Any]) -> Path:
    """The job's folder inside this worker's work folder. Every name of the claim that becomes a
    path here (job, run, the workflow's node ids, a part's node) must be a plain file name:
    a worker writes only inside its work folder, whatever the server says."""
    for node in job.get("workflow", {}).get("nodes", []):
        plain_name(node.get("id"), "claim: workflow node id")
    part_node = (job.get("part") or {}).get("node_id")
    if part_node is not None:
        plain_name(part_node, "claim: part node id")
    return inside(work_root, "jobs", str(job["job_id"]), str(job["run_id"]), what="claim: job or run id")


def _json_safe(value: Any) -> Any:
    import json

    return json.loads(json.dumps(value, default=str))


class Worker:
    def __init__(self, client: FarmClient, capabilities: list[str], work_root: Path, name: str = "",
                 runner: Runner = run_with_runtime, wait_s: float = 20.0, max_jobs: int | None = None,
                 idle_exit_s: float | None = None, log: Callable[[str], None] | None = None,
                 libraries: dict[str, list[Path]] | None = None,
                 overrides: dict[str, dict[str, Any]] | None = None, farm_cache: bool = True,
                 tags: list[str] | None = None,
                 cad_processes: int = 2, cad_max_rss_mb: float | None = 4096.0) -> None:
        self.client = client
        self.pulse_client = client.clone()  # heartbeats come from their own thread
        self.capabilities = sorted(capabilities)
        self.tags = sorted(set(tags or []))  # the operator's labels; jobs may require some
        self.work_root = Path(work_root)
        # the only folders a job's path settings may name: scratch, and the configured libraries
        self.path_roots = {"scratch": [self.work_root], **(libraries or {})}
        self.overrides = overrides or {}  # the worker's own settings: operator trust, win over the order's
        self.name = name or f"{socket.gethostname()}-{os.getpid()}"
        self.runner = runner
        self.farm_cache = farm_cache
        self.cad_processes, self.cad_max_rss_mb = cad_processes, cad_max_rss_mb
        self.pool: Any = None  # started by warm_up where CAD nodes run in processes
        self.wait_s = wait_s
        self.max_jobs = max_jobs
        self.idle_exit_s = idle_exit_s
        # the stream as it is now: during an inline node, sys.stdout is routed into that node's
        # log, and a stop signal's handler runs right there, in the main thread
        out = sys.stdout
        self.print = log or (lambda line: print(f"hartomat worker: {line}", file=out, flush=True))
        self.worker_id = ""
        for each in (self.client, self.pulse_client):
            each.on_retry = self._on_retry
            each.give_up = lambda: self.abandon  # a second stop signal ends any wait for the server
        self.lease_s = 30.0
        self.stopping = False
        self.abandon = False
        self.busy = False
        self.jobs_done = 0

    # --- lifecycle ---------------------------------------------------------------------------
    def install_signal_handlers(self) -> None:
        def on_term(signum: int, frame: Any) -> None:
            if self.stopping:
                self.abandon = True
                self.print("second stop signal: cancelling the current job and handing it back")
            else:
                self.stopping = True
                if not self.busy:  # waiting for a job: stop waiting (the server skips gone claimers)
                    raise WorkerStop()
                self.print("stop signal: finishing the current job, then exiting")
        signal.signal(signal.SIGTERM, on_term)
        signal.signal(signal.SIGINT, on_term)

    def warm_up(self) -> None:
        """Pay the expensive imports once, so every job after the first starts warm."""
        if Capability.BPY in self.capabilities:
            import bpy

            from engine.render.blender.scene import forbid_scripts

            forbid_scripts(bpy)  # no template's driver or text script runs on this worker
        import engine.runtime  # noqa: F401
        from engine.model.capabilities import inside_blender_executable

        if Capability.OCP in self.capabilities and self.cad_processes > 0 and not inside_blender_executable():
            from engine.runtime.process_pool import ProcessPool

            # CAD nodes run in these processes for the worker's whole life, OCP imported once
            self.pool = ProcessPool(self.cad_processes, self.cad_max_rss_mb, log=self.print).start()
            self.print(f"CAD processes {', '.join(map(str, self.pool.pids()))} warming up")

    def close(self) -> None:
        """Stop the warm CAD processes."""
        if self.pool is not None:
            self.pool.close()
            self.pool = None

    def run(self) -> int:
        """Serve jobs until a stop signal (0) or until the server refuses the token (1); server
        trouble in between (down, restarting, 5xx, 429) is waited out."""
        try:
            self._register()
            self._loop()
        except WorkerStop:
            pass
        except FarmError as exc:
            if exc.status not in REFUSED:
                raise
            self.print(f"the server refused this worker's token: {exc}; stopping")
            return 1
        finally:
            self.close()
        self._sign_off()
        self.print(f"stopping after {self.jobs_done} job(s)")
        return 0

    def _register(self) -> None:
        registered = self.client.register(self.name, self.capabilities, self.tags)
        self.worker_id, self.lease_s = registered["worker_id"], float(registered.get("lease_s", 30.0))
        tagged = f", tags {', '.join(self.tags)}" if self.tags else ""
        self.print(f"registered as {self.worker_id} with {', '.join(self.capabilities) or 'no capabilities'}"
                   f"{tagged} at {self.client.server}")

    def _on_retry(self, exc: FarmError, delay: float, attempt: int) -> None:
        if attempt == 0 or attempt % 10 == 0:  # the start of a spell of trouble, then now and then
            self.print(f"server trouble ({exc}); retrying in {delay:.1f} s (attempt {attempt + 1})")

    def _claim(self) -> dict[str, Any] | None:
        try:
            return self.client.claim(self.worker_id, self.wait_s)
        except FarmError as exc:
            if exc.status != 404:
                raise
            self.print(f"the server does not know {self.worker_id} any more; registering again")
            self._register()
            return None

    def _sign_off(self) -> None:
        """Return any job the server granted that this worker never saw (a stop signal between the
        claim's grant and its reply); best effort: a gone server reaps it when its lease ends."""
        try:
            returned = self.client.sign_off(self.worker_id)
        except FarmError as exc:
            self.print(f"could not sign off: {exc}")
            return
        for job_id in returned:
            self.print(f"{job_id}: granted as this worker stopped; handed back to the queue")

    def _loop(self) -> None:
        idle_since = time.monotonic()
        job: dict[str, Any] | None = None
        while not self.stopping and (self.max_jobs is None or self.jobs_done < self.max_jobs):
            if job is None:
                job = self._claim()
                self.busy = job is not None
                if job is None:
                    if self.idle_exit_s is not None and time.monotonic() - idle_since > self.idle_exit_s:
                        return
                    continue
            more = self.max_jobs is None or self.jobs_done + 1 < self.max_jobs
            job = self.run_job(job, claim_next=more)
            self.jobs_done += 1
            self.busy = job is not None
            idle_since = time.monotonic()
        if job is not None:  # taken along with the last report, then told to stop
            self._give_up(job["job_id"], _Beat())

    # --- one job -----------------------------------------------------------------------------
    def run_job(self, job: dict[str, Any], claim_next: bool = False) -> dict[str, Any] | None:
        """Run one job and report it; with `claim_next`, the report also takes the next job
        waiting in the queue (one round trip instead of two), which is returned."""
        job_id = job["job_id"]
        try:
            workdir = claim_workdir(self.work_root, job)
        except UnsafeName as exc:  # nothing of this job is written: not even its folder
            self.print(f"{job_id}: refused: {exc}")
            return self._report(job_id, {"status": JobStatus.FAILED, "error": f"claim refused: {exc}"},
                                claim_next and not self.stopping)
        workdir.mkdir(parents=True, exist_ok=True)
        beat = _Beat()

        def log(line: str) -> None:
            with beat.lock:
                beat.logs.append(line)

        def progress(event: Any) -> None:
            record = {"node_id": event.node_id, "step": event.step, "status": event.status,
                      "fraction": event.fraction, "message": event.message}
            with beat.lock:
                beat.events[event.node_id] = record
                if event.status != NodeStatus.RUNNING or event.message:
                    beat.logs.append(f"[{event.node_id}] {event.status} {event.message}".rstrip())

        stop = threading.Event()
        pulse = threading.Thread(target=self._heartbeats, args=(job_id, beat, stop), daemon=True)
        pulse.start()
        self.print(f"running {job_id} ({job['output_type']}, {job['mode']}, attempt {job['attempt']})")
        from engine.runtime.calls import process_cpu

        cpu = process_cpu()
        try:
            report = self._execute(job, workdir, beat, log, progress)
            report["cpu_s"] = job_cpu(process_cpu() - cpu, report.get("summary"))
        finally:
            stop.set()
            pulse.join()
        try:
            if self.abandon or beat.lost:
                self._give_up(job_id, beat)
                return None
            self._flush(job_id, beat, final=True)
            if beat.lost:
                self._give_up(job_id, beat)
                return None
            return self._report(job_id, report, claim_next and not self.stopping)
        finally:
            shutil.rmtree(workdir, ignore_errors=True)

    def _execute(self, job: dict[str, Any], workdir: Path, beat: _Beat, log: Callable[[str], None],
                 progress: Callable[[Any], None]) -> dict[str, Any]:
        try:
            step_path = self.client.download_step(job, self.worker_id, workdir / "input")
            record = provenance.for_job(job, self.worker_id, self.name, self.overrides)
            publisher = RemotePublisher(self.client, job["job_id"], self.worker_id, job["order_line_id"], log,
                                        record, workdir / "stamped")
            ctx = JobContext(job=job, step_path=step_path, workdir=workdir, cache_dir=self.work_root / "cache",
                             store_path=self.work_root / "runs.sqlite", publisher=publisher, progress=progress,
                             cancel=lambda: beat.cancel or beat.lost or self.abandon, log=log,
                             path_roots=self.path_roots, overrides=self.overrides, farm_cache=self.farm_cache,
                             pool=self.pool)
            return self.runner(ctx)
        except Exception as exc:  # the job fails; the worker lives on for the next one
            log(traceback.format_exc(limit=8))
            return {"status": JobStatus.FAILED, "error": f"{type(exc).__name__}: {exc}"}

    def _heartbeats(self, job_id: str, beat: _Beat, stop: threading.Event) -> None:
        interval = max(0.2, min(1.0, self.lease_s / 3))
        failing = False
        while not stop.wait(interval):
            try:
                self._flush(job_id, beat)
                if failing:
                    self.print(f"heartbeats for {job_id} go through again")
                failing = False
            except FarmError as exc:  # kept for the next beat; a refused token ends the job
                if exc.status in REFUSED:
                    beat.lost = True
                    return
                if not failing:
                    self.print(f"heartbeat for {job_id} failed ({exc}); its lines are kept for the next")
                failing = True

    def _flush(self, job_id: str, beat: _Beat, final: bool = False) -> None:
        """Send buffered progress and log lines with a heartbeat. A beat that fails keeps its
        lines for the next; the `final` flush before the report retries until all are sent."""
        while True:
            events, logs = beat.take()
            try:
                reply = (self.client.heartbeat(job_id, self.worker_id, events, logs) if final else
                         self.pulse_client.heartbeat(job_id, self.worker_id, events, logs, once=True))
                beat.cancel = beat.cancel or bool(reply.get("cancel"))
            except FarmError as exc:
                if exc.status == 409:  # the lease was lost: someone else runs the job now
                    beat.lost = True
                    return
                beat.put_back(events, logs)
                if final and exc.status not in REFUSED:
                    self.print(f"{job_id}: could not send its last progress and log lines: {exc}")
                    return
                raise
            if not (final and beat.pending):
                return

    def _report(self, job_id: str, report: dict[str, Any], claim_next: bool) -> dict[str, Any] | None:
        try:
            result = self.client.complete(job_id, self.worker_id, report, 0.0 if claim_next else None)
        except FarmError as exc:
            if exc.status in REFUSED:
                raise
            self.print(f"{job_id}: could not report {report['status']}: {exc}")
            return None
        self.print(f"{job_id}: {report['status']} -> job {result['job']}")
        next_job: dict[str, Any] | None = result.get("next_job")
        return next_job

    def _give_up(self, job_id: str, beat: _Beat) -> None:
        if beat.lost:
            self.print(f"{job_id}: lease lost; dropping the job")
            return
        try:
            self.client.hand_back(job_id, self.worker_id)
            self.print(f"{job_id}: handed back to the queue")
        except FarmError as exc:
            self.print(f"{job_id}: could not hand back: {exc}")
