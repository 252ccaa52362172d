"""Several STEP files in one command (`hartomat convert`/`render A.step B.step ...`): one
process, so Python, the engine and OCP start once for the whole batch. Each file gets its own
output folder, a progress line on stderr, and a failure of its own that does not stop the
batch; the exit status is the number of files that failed (0: all done)."""

from __future__ import annotations

import re
import sys
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

MAX_STATUS = 125  # exit statuses above this mean other things to a shell


def folder_names(steps: list[Path]) -> list[str]:
    """One output folder name per file: its stem, numbered where two files share one."""
    names: list[str] = []
    for step in steps:
        stem = re.sub(r"[^A-Za-z0-9._-]+", "_", step.stem) or "part"
        name, n = stem, 1
        while name in names:
            n += 1
            name = f"{stem}-{n}"
        names.append(name)
    return names


def run_batch(steps: list[Path], each: Callable[[Path, str], str], what: str,
              stream: Any = None) -> list[dict[str, Any]]:
    """`each(step, folder name)` for every file in turn, returning a line that says what it
    made; a file that fails is reported with its error and the batch goes on. Returns one record
    per file: step, ok, what it said or the error, seconds."""
    stream = stream or sys.stderr
    records = []
    for index, (step, name) in enumerate(zip(steps, folder_names(steps), strict=True), start=1):
        started = time.perf_counter()
        try:
            said, ok = each(step, name), True
        except Exception as exc:  # noqa: BLE001 - one file's failure is its own, the batch goes on
            said, ok = _error_line(exc), False
        seconds = time.perf_counter() - started
        verdict = "done" if ok else "FAILED"
        print(f"hartomat {what}: [{index}/{len(steps)}] {step}: {verdict} in {seconds:.2f} s: {said}",
              file=stream, flush=True)
        records.append({"step": str(step), "ok": ok, "result" if ok else "error": said, "seconds": seconds})
    failed = sum(not r["ok"] for r in records)
    print(f"hartomat {what}: {len(records) - failed} of {len(records)} file(s) done, {failed} failed",
          file=stream, flush=True)
    return records


def exit_status(records: list[dict[str, Any]]) -> int:
    return min(MAX_STATUS, sum(not r["ok"] for r in records))


def _error_line(exc: BaseException) -> str:
    from ..errors import HartomatError

    if isinstance(exc, HartomatError | FileNotFoundError):
        return str(exc)
    where = traceback.extract_tb(exc.__traceback__)[-1:]
    at = f" (at {where[0].filename}:{where[0].lineno})" if where else ""
    return f"{type(exc).__name__}: {exc}{at}"
