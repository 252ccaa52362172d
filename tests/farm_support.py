"""Real farm processes for tests: a `hartomat serve` on a free loopback port, tokens, workers.

Everything runs as subprocesses of the project's own CLI, the way an operator starts them.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests

CLI = [sys.executable, "-m", "engine"]


def token(data: Path, role: str, name: str = "", cli: list[str] = CLI) -> str:
    out = subprocess.run([*cli, "token", "create", "--role", role, "--data", str(data), "--name", name or role],
                         capture_output=True, text=True, check=True, timeout=60)
    return out.stdout.strip()


@dataclass
class FarmServer:
    data: Path
    lease_s: float = 30.0
    max_upload: int | None = None
    port: int = 0
    test_mode: bool = False  # mounts the fault switch (server_bridge/faults.py)
    prefix: list[str] = field(default_factory=list)  # runs the server under this command (e.g. unshare)
    cwd: Path | None = None  # where `python -m engine` runs (another checkout, for a before/after bench)
    env: dict[str, str] = field(default_factory=dict)
    cli: list[str] = field(default_factory=lambda: list(CLI))  # the `hartomat` command that serves
    proc: subprocess.Popen[str] | None = None
    url: str = ""

    def start(self) -> FarmServer:
        cmd = [*self.prefix, *self.cli, "serve", "--port", str(self.port), "--data", str(self.data),
               "--lease", str(self.lease_s)]
        if self.max_upload:
            cmd += ["--max-upload", str(self.max_upload)]
        if self.test_mode:
            cmd.append("--test-mode")
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                     env={**os.environ, **self.env}, cwd=self.cwd)
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        assert "listening on" in line, f"server did not start: {line}{self.proc.stdout.read()}"
        self.url = line.split("listening on ")[1].split()[0]
        self.port = int(self.url.rsplit(":", 1)[1])
        wait_until(lambda: requests.get(f"{self.url}/health", timeout=2).ok, 20, "server health")
        return self

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)

    def restart(self) -> None:
        self.stop()
        self.start()

    def call(self, method: str, path: str, tok: str | None, **kwargs: Any) -> requests.Response:
        headers = kwargs.pop("headers", {})
        if tok:
            headers["Authorization"] = f"Bearer {tok}"
        return requests.request(method, f"{self.url}{path}", headers=headers, timeout=60, **kwargs)


def derive_output_type(server: FarmServer, tok: str, name: str, base: str, kind: str,
                       overrides: dict[str, Any]) -> requests.Response:
    """PUT output type `name`: the preset output type `base`'s workflow with `overrides`."""
    preset = server.call("GET", f"/api/output-types/{base}", tok).json()
    return server.call("PUT", f"/api/output-types/{name}", tok, json={
        "family": base, "artifact_kind": kind, "workflow_id": preset["workflow_id"], "overrides": overrides})


def wait_until(predicate: Any, timeout: float, what: str, interval: float = 0.1) -> Any:
    """Poll `predicate` until it returns something truthy; fail naming `what` after `timeout`."""
    deadline = time.monotonic() + timeout
    last_error: Exception | None = None
    while time.monotonic() < deadline:
        try:
            value = predicate()
            if value:
                return value
        except (requests.RequestException, KeyError, IndexError) as exc:
            last_error = exc
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what} (last error: {last_error})")


def start_worker(server: FarmServer, tok: str, work: Path, name: str, *extra: str) -> subprocess.Popen[str]:
    log = open(work.parent / f"{name}.log", "w")  # noqa: SIM115  (kept open for the process' life)
    return subprocess.Popen([*CLI, "worker", "--server", server.url, "--token", tok, "--work-dir", str(work),
                             "--name", name, "--wait", "2", *extra], stdout=log, stderr=subprocess.STDOUT, text=True)


@contextmanager
def worker_pool(server: FarmServer, tok: str, folder: Path,
                *always: str) -> Iterator[Callable[..., subprocess.Popen[str]]]:
    """`start(name, *extra)` starts a worker (work dir and log under `folder`, options `always`
    then `extra`); all stop at exit."""
    procs: dict[str, subprocess.Popen[str]] = {}

    def start(name: str, *extra: str) -> subprocess.Popen[str]:
        procs[name] = start_worker(server, tok, folder / name, name, *always, *extra)
        return procs[name]

    try:
        yield start
    finally:
        for proc in procs.values():
            stop_process(proc)


def farm_cli(server: FarmServer, tok: str, *args: str, timeout: float = 400) -> subprocess.CompletedProcess[str]:
    """`hartomat ARGS --server URL --token TOK`, its output captured."""
    return subprocess.run([*CLI, *args, "--server", server.url, "--token", tok], capture_output=True, text=True,
                          timeout=timeout)


def stop_process(proc: subprocess.Popen[str]) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


def for_preset(overrides: dict[str, dict[str, Any]], preset: str) -> dict[str, dict[str, Any]]:
    """The step-keyed overrides a preset's graph has nodes for (the server refuses a key naming
    no node of the graph)."""
    from engine.legacy.presets import preset_workflow

    steps = {node.step for node in preset_workflow(preset).nodes}
    return {key: value for key, value in overrides.items() if key in steps}
