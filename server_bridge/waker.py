"""Wakes long-polling claimers when a job may have become claimable (submitted or requeued).

Each wake replaces the current event, so a waiter that took the event before trying to claim
never misses a wake that happened in between. Waiters live on the event loop; wakes come from
routes in the threadpool too, so a wake from another thread is handed to the loop
(asyncio.Event is not thread-safe).
"""

from __future__ import annotations

import asyncio
import contextlib
import threading


class Waker:
    def __init__(self) -> None:
        self._event = asyncio.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._loop_thread: int | None = None

    def bind(self, loop: asyncio.AbstractEventLoop) -> None:
        """The loop the waiters run on (the server's, set at start-up)."""
        self._loop, self._loop_thread = loop, threading.get_ident()

    def current(self) -> asyncio.Event:
        return self._event

    def wake(self) -> None:
        if self._loop is not None and threading.get_ident() != self._loop_thread:
            with contextlib.suppress(RuntimeError):  # the loop closed: nobody is waiting
                self._loop.call_soon_threadsafe(self._wake)
            return
        self._wake()

    def _wake(self) -> None:
        event, self._event = self._event, asyncio.Event()
        event.set()

    async def wait(self, event: asyncio.Event, timeout: float) -> bool:
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(event.wait(), timeout)
        return event.is_set()
