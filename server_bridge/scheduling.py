"""Steering an order while it waits or runs: its priority, and pausing or resuming it (or one line).

Jobs carry their order's priority and a paused flag themselves (set here, inherited by part and
assemble jobs), so the claim reads one index (jobstate.claim_next). A paused job stays queued and
is not handed out; a running one finishes. A settled order or line cannot be steered (409).
"""

from __future__ import annotations

import sqlite3
from typing import Any

from engine.model.vocabulary import FINISHED_ORDER_STATUSES, TERMINAL_JOB_STATUSES, JobKind

from .auth import Principal
from .db import Store, now
from .orders import OrderError, roll_up


def set_priority(store: Store, order_id: str, priority: int) -> None:
    """A new priority for the order and every job of it (waiting ones are reordered at once)."""
    with store.tx() as c:
        _unsettled_order(c, order_id, "have its priority changed")
        c.execute("UPDATE orders SET priority = ? WHERE id = ?", (priority, order_id))
        c.execute("UPDATE jobs SET priority = ? WHERE order_id = ?", (priority, order_id))


def pause(store: Store, who: Principal, order_id: str, line_id: str | None = None) -> None:
    """Stop handing out the order's (or one line's) queued jobs; running ones finish."""
    t = now()
    with store.tx() as c:
        _unsettled_order(c, order_id, "be paused")
        if line_id is None:
            c.execute("UPDATE orders SET paused_by = ?, paused_at = ? WHERE id = ?", (who.name or who.token_id, t, order_id))
            c.execute("UPDATE jobs SET paused = 1 WHERE order_id = ?", (order_id,))
        else:
            _unsettled_line(c, order_id, line_id, "be paused")
            c.execute("UPDATE order_lines SET paused_by = ?, paused_at = ? WHERE id = ?",
                      (who.name or who.token_id, t, line_id))
            c.execute("UPDATE jobs SET paused = 1 WHERE order_line_id = ?", (line_id,))
        roll_up(c, order_id)


def resume(store: Store, order_id: str, line_id: str | None = None) -> None:
    """Hand the order's (or line's) queued jobs out again; a line paused on its own stays paused
    when its order resumes, and a line resumed inside a paused order waits for the order."""
    with store.tx() as c:
        order = _unsettled_order(c, order_id, "be resumed")
        if line_id is None:
            if not order["paused_by"]:
                raise OrderError(f"order {order_id!r} is not paused", 409)
            c.execute("UPDATE orders SET paused_by = NULL, paused_at = NULL WHERE id = ?", (order_id,))
            c.execute("UPDATE jobs SET paused = (SELECT l.paused_by IS NOT NULL FROM order_lines l "
                      "WHERE l.id = jobs.order_line_id) WHERE order_id = ?", (order_id,))
        else:
            line = _unsettled_line(c, order_id, line_id, "be resumed")
            if not line["paused_by"]:
                raise OrderError(f"line {line_id!r} of order {order_id!r} is not paused", 409)
            c.execute("UPDATE order_lines SET paused_by = NULL, paused_at = NULL WHERE id = ?", (line_id,))
            c.execute("UPDATE jobs SET paused = ? WHERE order_line_id = ?", (int(bool(order["paused_by"])), line_id))
        roll_up(c, order_id)


def _unsettled_order(c: sqlite3.Connection, order_id: str, verb: str) -> Any:
    order = c.execute("SELECT * FROM orders WHERE id = ?", (order_id,)).fetchone()
    if order is None:
        raise OrderError(f"order {order_id!r} does not exist", 404)
    if order["status"] in FINISHED_ORDER_STATUSES:
        raise OrderError(f"order {order_id!r} is {order['status']}: only a waiting or running order can {verb}", 409)
    return order


def _unsettled_line(c: sqlite3.Connection, order_id: str, line_id: str, verb: str) -> Any:
    line = c.execute("SELECT * FROM order_lines WHERE id = ? AND order_id = ?", (line_id, order_id)).fetchone()
    if line is None:
        raise OrderError(f"order {order_id!r} has no line {line_id!r}", 404)
    job = c.execute("SELECT status FROM jobs WHERE order_line_id = ? AND kind IN (?, ?)",
                    (line_id, JobKind.LINE, JobKind.ASSEMBLE)).fetchone()
    if job is not None and job["status"] in TERMINAL_JOB_STATUSES:
        raise OrderError(f"line {line_id!r} is {job['status']}: only a waiting or running line can {verb}", 409)
    return line
