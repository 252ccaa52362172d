"""Whether a process the test started (or had started) is still running."""

from __future__ import annotations

import os
from pathlib import Path


def process_alive(pid: int) -> bool:
    """Running, not a zombie waiting for its parent to reap it."""
    try:
        os.kill(pid, 0)
        status = Path(f"/proc/{pid}/status").read_text()
    except (ProcessLookupError, FileNotFoundError):
        return False
    return "zombie" not in status


def family(pid: int) -> list[int]:
    """`pid` and every process below it (a worker and its CAD processes, say)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (FileNotFoundError, ProcessLookupError, IndexError, ValueError):
                continue
            children.setdefault(parent, []).append(int(entry.name))
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        todo.extend(children.get(current, []))
    return found


def cpu_ticks(pids: list[int]) -> int:
    """User + system CPU of these processes so far, in clock ticks (1/100 s here); gone ones count 0."""
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except (FileNotFoundError, ProcessLookupError):
            continue
        total += int(fields[11]) + int(fields[12])
    return total


def idle_cpu_share(pid: int, seconds: float) -> float:
    """The share of one core that `pid` and its descendants use over `seconds` (0.01 = 1%)."""
    import time

    pids = family(pid)
    before, started = cpu_ticks(pids), time.monotonic()
    time.sleep(seconds)
    used = cpu_ticks(pids) - before
    return used / os.sysconf("SC_CLK_TCK") / (time.monotonic() - started)
