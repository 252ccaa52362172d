"""Why a queued job waits: a capability or tag it needs that no live worker offers, or every
worker that could run it blocked from its output type. `hartomat status` shows it, so a job never
waits in silence."""

from __future__ import annotations

from typing import Any

from .catalog import CAPABILITY_BITS
from .db import Store, loads, now

LIVE_S = 120.0  # a polling worker is seen at least every long poll (at most 60 s): twice that is live


def capability_names(mask: int) -> list[str]:
    return [name for name, bit in CAPABILITY_BITS.items() if mask & bit]


def live_workers(store: Store) -> list[dict[str, Any]]:
    """Workers seen within LIVE_S: their capability mask, tags and the output types they are blocked from."""
    rows = store.all("SELECT id, caps, tags FROM workers WHERE last_seen >= ?", now() - LIVE_S)
    blocked: dict[str, set[str]] = {}
    for streak in store.all("SELECT worker_id, output_type FROM worker_streaks WHERE blocked = 1"):
        blocked.setdefault(streak["worker_id"], set()).add(streak["output_type"])
    return [{"caps": row["caps"], "tags": set(loads(row["tags"], [])), "blocked": blocked.get(row["id"], set())}
            for row in rows]


def waiting_reason(needed: int, output_type: str, workers: list[dict[str, Any]],
                   tags: list[str] | None = None) -> str | None:
    """What keeps a queued job needing capabilities `needed` and `tags` from every live worker;
    None when a live worker can take it."""
    if not workers:
        return "waiting: no live worker"
    wanted = set(tags or ())
    if wanted:
        tagged = [w for w in workers if wanted <= w["tags"]]
        if not tagged:
            lacking = sorted(wanted - set().union(*(w["tags"] for w in workers)))
            if lacking:
                return f"waiting: needs tag(s) {', '.join(lacking)}; no live worker has {_them(lacking)}"
            return f"waiting: needs tags {', '.join(sorted(wanted))}; no live worker has all of them"
        workers = tagged
    capable = [w for w in workers if needed & ~w["caps"] == 0]
    if not capable:
        offered = 0
        for worker in workers:
            offered |= worker["caps"]
        lacking = capability_names(needed & ~offered)
        if lacking:
            return f"waiting: needs {', '.join(lacking)}; no live {_with(wanted)}worker has {_them(lacking)}"
        return f"waiting: needs {', '.join(capability_names(needed))}; no live {_with(wanted)}worker has all of them"
    if all(output_type in w["blocked"] for w in capable):
        return (f"waiting: every live worker that could run it is blocked from output type '{output_type}' "
                "(hartomat farm unblock WORKER)")
    return None


def _them(names: list[str]) -> str:
    return "it" if len(names) == 1 else "them"


def _with(tags: set[str]) -> str:
    return f"{'+'.join(sorted(tags))}-tagged " if tags else ""
