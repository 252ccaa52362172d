"""Per-node log capture: call.log lines, Python logging records and stdout/stderr of the node.

Only records from the thread running the node are kept, so a node's log holds its own lines.
"""

from __future__ import annotations

import contextlib
import io
import logging
import threading
import time
from collections.abc import Iterator


class NodeLog:
    def __init__(self) -> None:
        self.lines: list[str] = []

    def write(self, line: str) -> None:
        self.lines.append(f"{time.strftime('%H:%M:%S')} {line}")


class _ThreadHandler(logging.Handler):
    def __init__(self, log: NodeLog) -> None:
        super().__init__(logging.INFO)
        self.log = log
        self.thread = threading.get_ident()

    def emit(self, record: logging.LogRecord) -> None:
        if record.thread == self.thread:
            self.log.write(f"[{record.levelname.lower()}] {record.name}: {record.getMessage()}")


class _LineWriter(io.TextIOBase):
    """A stdout stand-in that turns written text into log lines."""

    def __init__(self, log: NodeLog, prefix: str) -> None:
        self.log, self.prefix, self.pending = log, prefix, ""

    def write(self, text: str) -> int:
        self.pending += text
        *lines, self.pending = self.pending.split("\n")
        for line in lines:
            self.log.write(f"{self.prefix}{line}")
        return len(text)

    def flush(self) -> None:
        if self.pending:
            self.log.write(f"{self.prefix}{self.pending}")
            self.pending = ""


@contextlib.contextmanager
def captured(log: NodeLog, streams: bool = True) -> Iterator[None]:
    """Route logging (and, on the main thread, stdout/stderr) into `log` while a node runs."""
    handler = _ThreadHandler(log)
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        if streams:
            out, err = _LineWriter(log, ""), _LineWriter(log, "[stderr] ")
            with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
                try:
                    yield
                finally:
                    out.flush()
                    err.flush()
        else:
            yield
    finally:
        root.removeHandler(handler)
