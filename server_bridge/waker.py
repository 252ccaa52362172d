"""Wakes long-polling claimers when a job may have become claimable (submitted or requeued).

Each wake replaces the current event, so a waiter that took the event before trying to claim
never misses a wake that happened in between.
"""

from __future__ import annotations

import asyncio
import contextlib


class Waker:
    def __init__(self) -> None:
        self._event = asyncio.Event()

    def current(self) -> asyncio.Event:
        return self._event

    def wake(self) -> None:
        event, self._event = self._event, asyncio.Event()
        event.set()

    async def wait(self, event: asyncio.Event, timeout: float) -> bool:
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(event.wait(), timeout)
        return event.is_set()
