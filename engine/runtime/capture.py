"""Per-node log capture: call.log lines, Python logging records and stdout/stderr of the node.

One router is installed for a whole run (replacing sys.stdout/sys.stderr with thin proxies and
adding one logging handler); each node then only sets its log as its thread's current log.
Text written by a thread with no current node goes where it always went.
"""

from __future__ import annotations

import contextlib
import logging
import sys
import threading
import time
from collections.abc import Iterator
from typing import Any, TextIO


class NodeLog:
    """The log lines of one node attempt, with partial stdout lines held until complete."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self._pending: dict[str, str] = {}

    def write(self, line: str) -> None:
        self.lines.append(f"{time.strftime('%H:%M:%S')} {line}")

    def feed(self, text: str, prefix: str) -> None:
        *complete, self._pending[prefix] = (self._pending.get(prefix, "") + text).split("\n")
        for line in complete:
            self.write(prefix + line)

    def flush(self) -> None:
        for prefix, rest in self._pending.items():
            if rest:
                self.write(prefix + rest)
        self._pending.clear()


class _StreamProxy:
    """Stands in for sys.stdout/sys.stderr: text goes to the writing thread's node log, if any."""

    def __init__(self, router: LogRouter, original: TextIO, prefix: str) -> None:
        self._router, self._original, self._prefix = router, original, prefix

    def write(self, text: str) -> int:
        log = self._router.current()
        if log is None:
            return self._original.write(text)
        log.feed(text, self._prefix)
        return len(text)

    def flush(self) -> None:
        if self._router.current() is None:
            self._original.flush()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._original, name)


class _RoutingHandler(logging.Handler):
    def __init__(self, router: LogRouter) -> None:
        super().__init__(logging.INFO)
        self.router = router

    def emit(self, record: logging.LogRecord) -> None:
        log = self.router.current()
        if log is not None:
            log.write(f"[{record.levelname.lower()}] {record.name}: {record.getMessage()}")


class LogRouter:
    def __init__(self) -> None:
        self._local = threading.local()
        self._lock = threading.Lock()
        self._depth = 0
        self._saved: tuple[Any, Any, int] | None = None
        self._handler = _RoutingHandler(self)

    def current(self) -> NodeLog | None:
        return getattr(self._local, "log", None)

    @contextlib.contextmanager
    def installed(self) -> Iterator[None]:
        """Route output for the duration of a run; nested runs share one installation."""
        with self._lock:
            if self._depth == 0:
                root = logging.getLogger()
                self._saved = (sys.stdout, sys.stderr, root.level)
                sys.stdout = _StreamProxy(self, sys.stdout, "")  # type: ignore[assignment]
                sys.stderr = _StreamProxy(self, sys.stderr, "[stderr] ")  # type: ignore[assignment]
                if not root.handlers and root.level > logging.INFO:
                    root.setLevel(logging.INFO)  # nobody else listens: let nodes' info records through
                root.addHandler(self._handler)
            self._depth += 1
        try:
            yield
        finally:
            with self._lock:
                self._depth -= 1
                if self._depth == 0 and self._saved is not None:
                    sys.stdout, sys.stderr, level = self._saved
                    logging.getLogger().removeHandler(self._handler)
                    logging.getLogger().setLevel(level)

    @contextlib.contextmanager
    def node(self, log: NodeLog) -> Iterator[None]:
        """Make `log` this thread's current node log while the node runs."""
        with self._routed_to(log):
            try:
                yield
            finally:
                log.flush()

    def outside(self) -> contextlib.AbstractContextManager[None]:
        """Let the run's own observers (progress callbacks) print where they always did, even
        when a node's call.progress calls them from inside that node."""
        return self._routed_to(None)

    @contextlib.contextmanager
    def _routed_to(self, log: NodeLog | None) -> Iterator[None]:
        previous = self.current()
        self._local.log = log
        try:
            yield
        finally:
            self._local.log = previous

ROUTER = LogRouter()
