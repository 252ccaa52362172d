"""Stopping a running render: what Escape (or Ctrl-C in a Blender executable) does, from a thread.

`bpy.ops.render.render` blocks until Cycles is done; Blender stops it early only when its global
break flag (`G.is_break`) is set, and no Python API sets that flag. Headless, in the bpy module,
nothing ever does, so a cancelled job used to render on for minutes. This module finds the flag
in Blender's `Global` struct (found by its first member, the pointer `bpy.data.as_pointer()`
returns, and checked against the layout of the versions listed in BREAK_OFFSETS: the recent-files
list before it, `background` after it) and sets it from a watcher thread while a render runs.
Where the layout does not check out, nothing is written and cancel stays cooperative (between
frames). Cycles reads the flag between its work steps (headless, seconds apart).
"""

from __future__ import annotations

import ctypes
import os
import struct
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

POLL_S = 0.2
# offset of `is_break` in Blender's `struct Global` (BKE_global.hh): Main *main, Main *pr_main,
# the FILE_MAX paths (two in 4.3, three in 5.0), ListBase recent_files, then is_break, background
BREAK_OFFSETS = {(5, 0): 8 + 8 + 3 * 1024 + 16, (4, 3): 8 + 8 + 2 * 1024 + 16}
_FOUND: dict[str, int | None] = {}


def break_flag(bpy: Any) -> int | None:
    """The address of Blender's `G.is_break`, or None where it cannot be found with certainty."""
    if "flag" not in _FOUND:
        _FOUND["flag"] = _find(bpy)
    return _FOUND["flag"]


def _find(bpy: Any) -> int | None:
    offset = BREAK_OFFSETS.get(tuple(bpy.app.version[:2]))
    if offset is None or not bpy.app.background:
        return None
    needle = struct.pack("<Q", bpy.data.as_pointer())
    found = [base + at for base, data in _blender_data() for at in _aligned(data, needle)
             if _layout_holds(data, at, offset)]
    return found[0] + offset if len(found) == 1 else None


def _blender_data() -> Iterator[tuple[int, bytes]]:
    """Writable memory of the Blender binary (the bpy module, or the executable) and the .bss
    mapped right after it."""
    binaries = {os.path.realpath("/proc/self/exe")}
    previous_end, previous_mine = -1, False
    with open("/proc/self/maps") as maps:
        for line in maps:
            parts = line.split()
            path = parts[5] if len(parts) >= 6 else ""
            low, high = (int(x, 16) for x in parts[0].split("-"))
            mine = path.endswith("/bpy/__init__.so") or path in binaries
            bss = not path and previous_mine and low == previous_end
            if parts[1].startswith("rw") and (mine or bss):
                yield low, ctypes.string_at(low, high - low)
            previous_end, previous_mine = high, mine


def _aligned(data: bytes, needle: bytes) -> Iterator[int]:
    at = data.find(needle)
    while at >= 0:
        if at % 8 == 0:
            yield at
        at = data.find(needle, at + 1)


def _layout_holds(data: bytes, at: int, offset: int) -> bool:
    """The bytes around the candidate `is_break` look like Global's: an empty or filled ListBase
    before it, is_break false, background true."""
    if at + offset + 2 > len(data):
        return False
    first, last = struct.unpack_from("<QQ", data, at + offset - 16)
    return (first == 0) == (last == 0) and data[at + offset] == 0 and data[at + offset + 1] == 1


@contextmanager
def interruptible(bpy: Any, stop: Callable[[], bool]) -> Iterator[Callable[[], bool]]:
    """While the block renders, a thread polls `stop` and sets Blender's break flag when it says
    so; yields whether it did. The flag is cleared again afterwards, for the next render."""
    flag = break_flag(bpy)
    fired = threading.Event()
    if flag is None:
        yield fired.is_set
        return
    done = threading.Event()

    def watch() -> None:
        while not done.wait(POLL_S):
            if stop():
                fired.set()
                ctypes.c_bool.from_address(flag).value = True
                return

    watcher = threading.Thread(target=watch, name="hartomat-render-break", daemon=True)
    watcher.start()
    try:
        yield fired.is_set
    finally:
        done.set()
        watcher.join()
        ctypes.c_bool.from_address(flag).value = False
