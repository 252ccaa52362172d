"""Warm processes for `execution="process"` nodes (OCP holds the GIL for seconds, and bpy must
not be forked), that may outlive one run: a farm worker keeps one pool for its whole life, so
every job's CAD nodes find `import OCP` and the engine already paid for.

Each member is one spawned process serving attempts one at a time over a pipe. A member that
dies under an attempt (killed, crashed) is dropped and the attempt's future fails with
`ProcessLost`, so the caller can run it again in a fresh one; `kill(future)` stops only the
member running that attempt (a timeout, a cancel); a member whose memory grew past the bound
retires after its attempt. An idle pool is processes blocked on a pipe: no CPU.
"""

from __future__ import annotations

import os
import threading
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path
from typing import Any

POLL_S = 0.1
# what a member imports before its first attempt (missing ones are skipped: a worker without OCP)
WARM_MODULES = ("engine.runtime.calls", "engine.nodes", "OCP")


class ProcessLost(RuntimeError):
    """The pool process running an attempt ended before it answered."""

    def __init__(self, pid: int, exitcode: int | None) -> None:
        how = f"signal {-exitcode}" if exitcode is not None and exitcode < 0 else f"exit code {exitcode}"
        super().__init__(f"pool process {pid} ended ({how}) while running the attempt")
        self.pid, self.exitcode = pid, exitcode


@dataclass
class _Member:
    process: Any  # multiprocessing.Process (spawn)
    conn: Any  # the parent's end of the pipe

    @property
    def pid(self) -> int:
        return int(self.process.pid)


def member_main(conn: Any, parent_pid: int, warm: tuple[str, ...]) -> None:
    """A member's life: import what attempts need, then run payloads until told to stop."""
    import importlib
    import signal

    from .calls import execute_payload, exit_with_parent

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is for the worker, which stops us itself
    exit_with_parent(parent_pid)
    for module in warm:
        try:
            importlib.import_module(module)
        except ImportError:
            pass
    while True:
        try:
            payload = conn.recv()
        except (EOFError, OSError):
            return
        if payload is None:
            return
        conn.send(execute_payload(payload))


def rss_mb(pid: int) -> float | None:
    """Resident memory of a process in MiB (Linux /proc), None where unknown."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except (OSError, ValueError):
        return None
    return None


class ProcessPool:
    """Up to `size` warm members; `submit(payload)` returns a Future of execute_payload's dict."""

    def __init__(self, size: int, max_rss_mb: float | None = None, warm: tuple[str, ...] = WARM_MODULES,
                 log: Any = None) -> None:
        self.size = max(1, size)
        self.max_rss_mb = max_rss_mb
        self.warm = warm
        self.log = log or (lambda line: None)
        self._idle: list[_Member] = []
        self._running: dict[int, _Member] = {}  # id(future) -> member
        self._slots = threading.BoundedSemaphore(self.size)
        self._lock = threading.Lock()
        self._closed = False
        self._kept_full = False
        self.started = 0  # members spawned so far (replacements included)

    def start(self) -> ProcessPool:
        """Spawn every member now (they import in the background), so the first job is warm too;
        from then on a member that is lost or retired is replaced at once, not on next use."""
        self._kept_full = True
        self._fill()
        return self

    def _fill(self) -> None:
        with self._lock:
            while not self._closed and len(self._idle) + len(self._running) < self.size:
                self._idle.append(self._spawn())

    def pids(self) -> list[int]:
        with self._lock:
            return [m.pid for m in (*self._idle, *self._running.values())]

    def submit(self, payload: dict[str, Any]) -> Future[dict[str, Any]]:
        if self._closed:
            raise RuntimeError("the process pool is closed")
        future: Future[dict[str, Any]] = Future()
        threading.Thread(target=self._serve, args=(payload, future), name="hartomat-pool-call", daemon=True).start()
        return future

    def kill(self, future: Future[Any]) -> None:
        """Stop the member running `future`'s attempt (past its timeout, or cancelled); the pool
        starts a fresh one when next needed."""
        future.cancel()  # still waiting for a free member: it never starts
        with self._lock:
            member = self._running.get(id(future))
        if member is not None:
            member.process.kill()

    def close(self) -> None:
        """Stop every member: idle ones at once, busy ones are killed."""
        self._closed = True
        with self._lock:
            members, self._idle = [*self._idle, *self._running.values()], []
        for member in members:
            self._retire(member)

    # --- inside -------------------------------------------------------------------------------
    def _spawn(self) -> _Member:
        import multiprocessing

        context = multiprocessing.get_context("spawn")
        parent_end, child_end = context.Pipe()
        process = context.Process(target=member_main, args=(child_end, os.getpid(), self.warm),
                                  name="hartomat-cad", daemon=True)
        process.start()
        child_end.close()
        self.started += 1
        return _Member(process, parent_end)

    def _take(self, future: Future[Any]) -> _Member:
        with self._lock:
            while self._idle:
                member = self._idle.pop()
                if member.process.is_alive():
                    break
                self._drop(member)
            else:
                member = self._spawn()
            self._running[id(future)] = member
            return member

    def _serve(self, payload: dict[str, Any], future: Future[dict[str, Any]]) -> None:
        with self._slots:
            if not future.set_running_or_notify_cancel():
                return
            member, usable = self._take(future), False
            try:
                future.set_result(self._call(member, payload))
                usable = True
            except ProcessLost as exc:
                self._drop(member)
                future.set_exception(exc)
            except BaseException as exc:  # noqa: BLE001 - the pipe broke some other way
                self._retire(member)
                future.set_exception(exc)
            finally:
                with self._lock:
                    self._running.pop(id(future), None)
            if usable:
                self._give_back(member)
        if self._kept_full:
            self._fill()

    def _call(self, member: _Member, payload: dict[str, Any]) -> dict[str, Any]:
        try:
            member.conn.send(payload)
            while not member.conn.poll(POLL_S):
                if not member.process.is_alive():
                    break
            else:
                result: dict[str, Any] = member.conn.recv()
                return result
        except (EOFError, OSError):
            pass
        member.process.join(5)
        raise ProcessLost(member.pid, member.process.exitcode)

    def _give_back(self, member: _Member) -> None:
        used = rss_mb(member.pid) if self.max_rss_mb else None
        if used is not None and self.max_rss_mb is not None and used > self.max_rss_mb:
            self.log(f"pool process {member.pid} uses {used:.0f} MiB, past the bound of "
                     f"{self.max_rss_mb:.0f} MiB: replaced")
            self._retire(member)
            return
        with self._lock:
            if not self._closed:
                self._idle.append(member)
                return
        self._retire(member)

    def _retire(self, member: _Member) -> None:
        try:
            member.conn.send(None)
        except (OSError, ValueError):
            pass
        member.process.join(2)
        if member.process.is_alive():
            member.process.kill()
            member.process.join(5)
        self._drop(member)

    @staticmethod
    def _drop(member: _Member) -> None:
        member.conn.close()
