"""Headless Chromium driven over the DevTools protocol on a pipe, with the standard library only.

Why not `chromium --screenshot`: a page that failed still gives a white PNG and exit 0, and it
cannot wait for the first WebGL frame. Why not playwright: the engine also runs vendored inside
Blender, where there is no node_modules. `--remote-debugging-pipe` gives us the protocol on file
descriptors 3 (commands in) and 4 (replies out), NUL-separated JSON.
"""

from __future__ import annotations

import base64
import json
import os
import queue
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import HartomatError
from ..model.capabilities import BROWSERS

BROWSER_ENV = "HARTOMAT_CHROMIUM"
FLAGS = (
    "--headless", "--no-sandbox", "--enable-unsafe-swiftshader", "--remote-debugging-pipe",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--no-first-run", "--no-default-browser-check", "--hide-scrollbars", "--mute-audio",
    "--password-store=basic",
)
# A healthy start answers in under a second, even on a loaded 2-core machine. Rarely, Chromium
# starts but never answers (seen once on CI); it is then killed and started again.
START_TIMEOUT = 20.0
START_ATTEMPTS = 3


class BrowserError(HartomatError):
    """Chromium could not be started or driven, or the page reported errors."""


class BrowserTimeout(BrowserError):
    """Chromium is running but did not answer a command in time."""


def find_browser() -> str | None:
    """The Chromium to use: $HARTOMAT_CHROMIUM if set (even when it does not exist), else PATH."""
    configured = os.environ.get(BROWSER_ENV)
    if configured is not None:
        path = shutil.which(configured) or configured
        return path if os.path.isfile(path) and os.access(path, os.X_OK) else None
    for name in BROWSERS:
        found = shutil.which(name)
        if found:
            return found
    return None


@dataclass
class PageReport:
    """What the page said while it rendered: its state object and any console errors."""

    state: dict[str, Any] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)


class DevToolsPipe:
    """A minimal DevTools client: numbered commands, replies matched by id, events collected."""

    def __init__(self, write_fd: int, read_fd: int) -> None:
        self._writer = os.fdopen(write_fd, "wb", buffering=0)
        self._reader = os.fdopen(read_fd, "rb", buffering=0)
        self._replies: queue.Queue[dict[str, Any] | None] = queue.Queue()
        self.events: list[dict[str, Any]] = []
        self._next_id = 0
        threading.Thread(target=self._read_loop, daemon=True).start()

    def _read_loop(self) -> None:
        buffer = b""
        while chunk := self._reader.read(1 << 16):
            buffer += chunk
            *messages, buffer = buffer.split(b"\0")
            for raw in messages:
                message = json.loads(raw)
                if "id" in message:
                    self._replies.put(message)
                else:
                    self.events.append(message)
        self._replies.put(None)

    def call(self, method: str, params: dict[str, Any] | None = None, session: str | None = None,
             timeout: float = 30.0) -> dict[str, Any]:
        self._next_id += 1
        message: dict[str, Any] = {"id": self._next_id, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        try:
            self._writer.write(json.dumps(message).encode() + b"\0")
        except OSError:  # Chromium exited before reading: a broken pipe, same as a closed one
            raise BrowserError(f"Chromium closed its DevTools pipe before {method}") from None
        deadline = time.monotonic() + timeout
        while True:
            try:
                reply = self._replies.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                raise BrowserTimeout(f"Chromium did not answer {method} within {timeout:.0f} s") from None
            if reply is None:
                raise BrowserError(f"Chromium closed its DevTools pipe during {method}")
            if reply.get("id") == self._next_id:
                if "error" in reply:
                    raise BrowserError(f"Chromium refused {method}: {reply['error'].get('message')}")
                return dict(reply.get("result", {}))

    def close(self) -> None:
        self._writer.close()


def _high_fd(fd: int) -> int:
    """A copy of `fd` numbered 10 or more, so the 3/4 redirections cannot clobber it.

    Such numbers need bash: dash takes single-digit fds only.
    """
    import fcntl

    high = fcntl.fcntl(fd, fcntl.F_DUPFD, 10)
    os.close(fd)
    return high


def _start(browser: str, argv_tail: list[str], log: Path) -> tuple[subprocess.Popen[bytes], DevToolsPipe]:
    """Chromium with its DevTools pipe on fds 3 and 4; stderr to `log` (a pipe could fill up)."""
    to_browser_r, to_browser_w = (_high_fd(fd) for fd in os.pipe())
    from_browser_r, from_browser_w = (_high_fd(fd) for fd in os.pipe())
    shell = f'exec "$@" 3<&{to_browser_r} 4>&{from_browser_w} {to_browser_r}<&- {from_browser_w}>&-'
    argv = [shutil.which("bash") or "/bin/bash", "-c", shell, "bash", browser, *argv_tail]
    try:
        with log.open("wb") as stderr:
            process = subprocess.Popen(argv, pass_fds=(to_browser_r, from_browser_w), stdin=subprocess.DEVNULL,
                                       stdout=subprocess.DEVNULL, stderr=stderr, start_new_session=True)
    except OSError as exc:
        os.close(to_browser_w)
        os.close(from_browser_r)
        raise BrowserError(f"cannot start Chromium {browser}: {exc}") from exc
    finally:
        os.close(to_browser_r)
        os.close(from_browser_w)
    return process, DevToolsPipe(to_browser_w, from_browser_r)


def _log_tail(log: Path) -> str:
    lines = log.read_text(errors="replace").strip().splitlines() if log.is_file() else []
    return f" (Chromium said: {lines[-1][-300:]})" if lines else ""


@contextmanager
def launch(browser: str, width: int, height: int,
           log: Callable[[str], None] | None = None) -> Iterator[DevToolsPipe]:
    """Starts Chromium with a fresh profile and yields its DevTools pipe once it answers; always
    cleans up. A failure while driving it is re-raised with the last line Chromium wrote to stderr."""
    root = Path(tempfile.mkdtemp(prefix="hartomat-chromium-"))
    try:
        argv_tail = [f"--window-size={width},{height}", "about:blank"]
        process, pipe, log_file = _start_answering(browser, argv_tail, root, log)
        failure: BrowserError | None = None
        try:
            yield pipe
        except BrowserError as exc:
            failure = exc
        finally:
            _shutdown(process, pipe)
        if failure is not None:
            raise BrowserError(f"{failure}{_log_tail(log_file)}") from failure
    finally:
        shutil.rmtree(root, ignore_errors=True)


def _start_answering(browser: str, argv_tail: list[str], root: Path, log: Callable[[str], None] | None,
                     ) -> tuple[subprocess.Popen[bytes], DevToolsPipe, Path]:
    """Starts Chromium until a start answers `Browser.getVersion`; a start that hangs is killed.
    Each start gets its own profile and stderr log under `root`, so a killed one leaves no lock behind."""
    for attempt in range(1, START_ATTEMPTS + 1):
        log_file = root / f"start-{attempt}.log"
        profile = f"--user-data-dir={root / f'profile-{attempt}'}"
        process, pipe = _start(browser, [*FLAGS, profile, *argv_tail], log_file)
        try:
            pipe.call("Browser.getVersion", timeout=START_TIMEOUT)
        except BrowserTimeout:
            _kill(process, pipe)
            if log is not None:
                log(f"Chromium did not answer within {START_TIMEOUT:.0f} s of starting "
                    f"(start {attempt} of {START_ATTEMPTS}); killed it")
            continue
        except BrowserError as exc:
            _shutdown(process, pipe)
            raise BrowserError(f"{exc}{_log_tail(log_file)}") from exc
        return process, pipe, log_file
    raise BrowserTimeout(f"Chromium did not answer within {START_TIMEOUT:.0f} s of starting, "
                         f"{START_ATTEMPTS} starts in a row{_log_tail(log_file)}")


def _kill(process: subprocess.Popen[bytes], pipe: DevToolsPipe) -> None:
    """Kills Chromium and its helper processes (its own process group)."""
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    process.wait()
    try:
        pipe.close()
    except OSError:
        pass


def _shutdown(process: subprocess.Popen[bytes], pipe: DevToolsPipe) -> None:
    try:
        pipe.call("Browser.close", timeout=5)
    except (BrowserError, OSError):
        pass
    try:
        pipe.close()
    except OSError:
        pass
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        _kill(process, pipe)


def _event_errors(events: list[dict[str, Any]]) -> list[str]:
    """Console errors, uncaught exceptions and error log entries the page produced."""
    errors = []
    for event in events:
        params = event.get("params", {})
        if event.get("method") == "Runtime.consoleAPICalled" and params.get("type") == "error":
            errors.append(" ".join(str(a.get("value", a.get("description", ""))) for a in params.get("args", [])))
        elif event.get("method") == "Runtime.exceptionThrown":
            details = params.get("exceptionDetails", {})
            errors.append(details.get("exception", {}).get("description") or details.get("text", "exception"))
        elif event.get("method") == "Log.entryAdded" and params.get("entry", {}).get("level") == "error":
            errors.append(params["entry"].get("text", "error"))
    return errors


def _wait_for_page(pipe: DevToolsPipe, session: str, timeout: float) -> dict[str, Any]:
    """Polls the page's window.__hartomat until it is ready or reports errors."""
    deadline = time.monotonic() + timeout
    expression = "JSON.stringify(window.__hartomat || null)"
    while time.monotonic() < deadline:
        result = pipe.call("Runtime.evaluate", {"expression": expression, "returnByValue": True}, session)
        state = json.loads(result.get("result", {}).get("value") or "null")
        if state and (state.get("ready") or state.get("errors")):
            return dict(state)
        time.sleep(0.05)
    raise BrowserError(f"the viewer page did not draw its first frame within {timeout:.0f} s")


def _page_target(pipe: DevToolsPipe) -> str:
    """The tab Chromium opened on about:blank (a new one costs a renderer process), else a new tab."""
    for info in pipe.call("Target.getTargets").get("targetInfos", []):
        if info.get("type") == "page":
            return str(info["targetId"])
    return str(pipe.call("Target.createTarget", {"url": "about:blank"})["targetId"])


def snapshot(browser: str, page: Path, png: Path, width: int, height: int, timeout: float = 90.0,
             log: Callable[[str], None] | None = None) -> PageReport:
    """Opens `page` at a fixed viewport, waits for its first frame and writes a PNG of it."""
    with launch(browser, width, height, log) as pipe:
        target = _page_target(pipe)
        session = pipe.call("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        for method in ("Runtime.enable", "Log.enable", "Page.enable"):
            pipe.call(method, session=session)
        pipe.call("Emulation.setDeviceMetricsOverride",
                  {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False}, session)
        pipe.call("Page.navigate", {"url": page.resolve().as_uri()}, session)
        state = _wait_for_page(pipe, session, timeout)
        report = PageReport(state=state, errors=[*state.get("errors", []), *_event_errors(pipe.events)])
        if state.get("ready"):
            shot = pipe.call("Page.captureScreenshot", {"format": "png"}, session, timeout=timeout)
            png.write_bytes(base64.b64decode(shot["data"]))
        return report
