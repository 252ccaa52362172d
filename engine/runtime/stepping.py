"""Stepped work: a generator advanced one turn per `next()` by a caller whose thread draws a UI,
or driven to its end by any other caller. The runtime's run, graph and node all step this way, so
a node waiting on its host (a render job in Blender's editor) never blocks the UI."""

from __future__ import annotations

import inspect
from collections.abc import Generator
from typing import Any, TypeVar

from .capture import ROUTER, NodeLog

T = TypeVar("T")


def drive(steps: Generator[None, None, T]) -> T:
    """Run a stepped generator to its end on this thread; its return value."""
    while True:
        try:
            next(steps)
        except StopIteration as done:
            return done.value  # type: ignore[no-any-return]


def executor_turns(raw: Any, log: NodeLog) -> Generator[None, None, Any]:
    """An executor's result; when it handed back its generator (`NodeCall.stepwise`), one turn
    per step, each with the node's output routed into its log as the first call had."""
    if not inspect.isgenerator(raw):
        return raw
    while True:
        with ROUTER.installed(), ROUTER.node(log):
            try:
                next(raw)
            except StopIteration as done:
                return done.value
        yield
