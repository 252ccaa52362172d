"""The farm store and job state machine without a server: schema migrations, WAL, the
guarded transitions (an illegal or raced status change matches no row) and the order roll-up."""

from __future__ import annotations

from collections import Counter
from itertools import combinations_with_replacement
from pathlib import Path

import pytest

from engine.model.vocabulary import FINISHED_ORDER_STATUSES
from server_bridge import jobstate, queue
from server_bridge.auth import Principal
from server_bridge.db import MIGRATIONS, SCHEMA_V1, Store, apply_migration, loads, now
from server_bridge.orders import roll_up


def test_a_new_store_is_migrated_to_the_latest_version_in_wal_mode(tmp_path: Path):
    store = Store(tmp_path / "farm.sqlite")
    assert store.one("PRAGMA user_version")[0] == len(MIGRATIONS)
    assert store.one("PRAGMA journal_mode")[0] == "wal"
    store.close()
    again = Store(tmp_path / "farm.sqlite")  # reopening applies nothing twice
    assert again.migrate() == len(MIGRATIONS)
    again.close()


def test_lines_of_orders_stored_before_lines_were_frozen_are_frozen_by_the_migration(tmp_path: Path):
    """A farm file from before frozen lines: its queued line gets the output type's overrides
    merged with its own, the fallback flag and the workflow document, as its claim would have."""
    import sqlite3

    path = tmp_path / "farm.sqlite"
    conn = sqlite3.connect(path, isolation_level=None)
    apply_migration(conn, SCHEMA_V1)
    t = now()
    conn.execute("INSERT INTO workflows VALUES ('wf', 'w', 'still', '{\"name\": \"w\"}', ?, ?)", (t, t))
    conn.execute("INSERT INTO output_types (name, family, artifact_kind, workflow_id, overrides, mode, "
                 "legacy_fallback, created_at) VALUES ('still', 'still', 'image', 'wf', ?, 'graph', 0, ?)",
                 ('{"render": {"samples": 3, "engine": "CYCLES"}}', t))
    conn.execute("INSERT INTO orders (id, status, submitted_by, created_at) VALUES ('o', 'queued', 't', ?)", (t,))
    conn.execute("INSERT INTO order_lines VALUES ('l', 'o', 0, 'p', NULL, 'still', '{\"render\": {\"samples\": 5}}')")
    conn.execute("PRAGMA user_version = 1")
    conn.close()

    store = Store(path)
    line = store.one("SELECT l.*, d.document FROM order_lines l JOIN workflow_documents d "
                     "ON d.sha256 = l.workflow_sha256 WHERE l.id = 'l'")
    assert line is not None and loads(line["document"]) == {"name": "w"}
    assert loads(line["run_overrides"]) == {"render": {"samples": 5, "engine": "CYCLES"}}
    assert line["family"] == "still" and line["legacy_fallback"] == 0
    store.close()


def add_job(store: Store, job_id: str, status: str = "queued", caps: int = 0) -> None:
    t = now()
    with store.tx() as c:
        c.execute("INSERT OR IGNORE INTO orders (id, status, submitted_by, created_at) VALUES ('o', 'queued', 't', ?)",
                  (t,))
        c.execute("INSERT OR IGNORE INTO order_lines (id, order_id, position, product, step_sha256, output_type) "
                  "VALUES ('l', 'o', 0, 'p', NULL, 'still')")
        c.execute("INSERT INTO jobs (id, order_id, order_line_id, output_type, mode, caps, status, created_at, "
                  "updated_at) VALUES (?, 'o', 'l', 'still', 'graph', ?, ?, ?, ?)", (job_id, caps, status, t, t))


def status(store: Store, job_id: str) -> str:
    return str(store.one("SELECT status FROM jobs WHERE id = ?", job_id)["status"])


@pytest.mark.parametrize("start, target, allowed", [
    ("queued", "running", True), ("queued", "succeeded", False), ("queued", "cancelled", True),
    ("running", "queued", True), ("running", "succeeded", True), ("running", "failed", True),
    ("succeeded", "running", False), ("succeeded", "queued", False), ("failed", "queued", False),
    ("cancelled", "running", False),
])
def test_only_the_listed_transitions_happen(tmp_path: Path, start: str, target: str, allowed: bool):
    store = Store(tmp_path / "farm.sqlite")
    add_job(store, "j", start)
    with store.tx() as c:
        moved = jobstate.move(c, "j", target)
    assert moved is allowed and status(store, "j") == (target if allowed else start)


def test_a_move_guarded_by_the_holder_fails_for_anyone_else(tmp_path: Path):
    store = Store(tmp_path / "farm.sqlite")
    add_job(store, "j")
    with store.tx() as c:
        job = jobstate.claim_next(c, "w1", 3, "run-1", 30)
        assert job is not None and job["worker_id"] == "w1"
        assert jobstate.claim_next(c, "w2", 3, "run-2", 30) is None  # nothing left to claim
        assert not jobstate.move(c, "j", "succeeded", held_by="w2")
        assert jobstate.move(c, "j", "succeeded", held_by="w1")


def test_claims_respect_capabilities_and_past_failures(tmp_path: Path):
    store = Store(tmp_path / "farm.sqlite")
    add_job(store, "needs-ocp", caps=2)
    add_job(store, "plain", caps=0)
    with store.tx() as c:
        c.execute("UPDATE jobs SET failed_workers = '|w1|' WHERE id = 'plain'")
        assert jobstate.claim_next(c, "w1", 1, "r", 30) is None  # no ocp, and failed 'plain' before
        assert jobstate.claim_next(c, "w2", 1, "r", 30)["id"] == "plain"
        assert jobstate.claim_next(c, "w3", 3, "r", 30)["id"] == "needs-ocp"


def test_an_unknown_status_or_field_is_a_programming_error(tmp_path: Path):
    store = Store(tmp_path / "farm.sqlite")
    add_job(store, "j")
    with store.tx() as c, pytest.raises(jobstate.TransitionError):
        jobstate.move(c, "j", "done")
    with store.tx() as c, pytest.raises(jobstate.TransitionError):
        jobstate.move(c, "j", "running", status="succeeded")


def test_a_lone_worker_may_retry_a_job_it_failed_once_no_one_else_took_it(tmp_path: Path):
    store = Store(tmp_path / "farm.sqlite")
    add_job(store, "j")
    with store.tx() as c:
        c.execute("UPDATE jobs SET failed_workers = '|w1|', updated_at = ? WHERE id = 'j'", (now() - 120,))
        assert jobstate.claim_next(c, "w1", 3, "r", 30, retry_after_s=600) is None
        assert jobstate.claim_next(c, "w1", 3, "r", 30, retry_after_s=60)["id"] == "j"


KINDS_AND_STATUSES = [(status, kind) for status in ("queued", "running", "succeeded", "failed", "cancelled")
                      for kind in ("line", "part", "assemble")]


def counted_order_status(jobs: tuple[tuple[str, str], ...]) -> str:
    """The order status by counting every job, as the roll-up once did (the reference)."""
    statuses = Counter(status for status, _ in jobs)
    if statuses["queued"] or statuses["running"]:
        return "queued" if statuses["queued"] == len(jobs) else "running"
    lines = Counter(status for status, kind in jobs if kind in ("line", "assemble"))
    total = sum(lines.values())
    return ("failed" if lines["failed"] else "cancelled" if lines.get("cancelled") == total else
            "succeeded" if lines.get("succeeded") == total else "partial")


def test_the_order_roll_up_by_lookups_agrees_with_counting_every_job(tmp_path: Path):
    """roll_up decides an unsettled order from a few index lookups; for every mix of up to three
    jobs (status and kind) it must say what counting them all says, and finish the order once."""
    store = Store(tmp_path / "farm.sqlite")
    mixes = [mix for size in (1, 2, 3) for mix in combinations_with_replacement(KINDS_AND_STATUSES, size)]
    for index, mix in enumerate(mixes):
        order_id, t = f"o{index}", now()
        with store.tx() as c:
            c.execute("INSERT INTO orders (id, status, submitted_by, created_at) VALUES (?, 'unset', 't', ?)",
                      (order_id, t))
            c.execute("INSERT INTO order_lines (id, order_id, position, product, output_type) "
                      "VALUES (?, ?, 0, 'p', 'still')", (f"l{index}", order_id))
            c.executemany("INSERT INTO jobs (id, order_id, order_line_id, output_type, mode, status, kind, "
                          "created_at, updated_at) VALUES (?, ?, ?, 'still', 'graph', ?, ?, ?, ?)",
                          [(f"j{index}-{n}", order_id, f"l{index}", status, kind, t, t)
                           for n, (status, kind) in enumerate(mix)])
            finished = roll_up(c, order_id)
            again = roll_up(c, order_id)
        row = store.one("SELECT status, finished_at FROM orders WHERE id = ?", order_id)
        expected = counted_order_status(mix)
        assert row["status"] == expected, mix
        assert finished is (expected in FINISHED_ORDER_STATUSES) and again is False, mix
        assert (row["finished_at"] is not None) is finished, mix


def test_a_busy_worker_writes_last_seen_at_most_every_few_seconds(tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch):
    store = Store(tmp_path / "farm.sqlite")
    principal = Principal("tok", "w", "worker")
    worker = queue.own_worker(store, principal, queue.register_worker(store, principal, "w", [])["worker_id"])

    def seen_after_claim() -> float:
        with store.tx() as c:
            c.execute("UPDATE workers SET last_seen = 0 WHERE id = ?", (worker["id"],))
        assert queue.claim(store, worker, 30) is None  # nothing queued: the poll still counts
        return float(store.one("SELECT last_seen FROM workers WHERE id = ?", worker["id"])["last_seen"])

    assert seen_after_claim() > 0
    assert seen_after_claim() == 0  # polled again at once: not written again
    later = now() + queue.SEEN_EVERY_S + 1
    monkeypatch.setattr(queue, "now", lambda: later)
    assert seen_after_claim() == later
