"""Summaries of shadow runs: of the last N, how many matched, and the worst comparison seen.

A shadow run's parity record is the runtime's (engine.compare.compare_output_sets plus the
graph's status): `match`, `verdict`, per-role entries and `worst` {role, metric, score}, where
a lower score is a worse match; a record with `error` could not be compared and counts as a
mismatch.
"""

from __future__ import annotations

from typing import Any

from engine.model.vocabulary import Mode

from .db import Store, loads


def _matched(report: dict[str, Any]) -> bool:
    return bool(report.get("match", report.get("matched", False))) and not report.get("error")


def parity_summary(store: Store, output_type: str, last: int) -> dict[str, Any]:
    rows = store.all(
        "SELECT r.id, r.job_id, r.parity, r.finished_at FROM runs r JOIN jobs j ON j.id = r.job_id "
        "WHERE j.output_type = ? AND r.mode = ? AND r.parity IS NOT NULL "
        "ORDER BY r.finished_at DESC LIMIT ?", output_type, Mode.SHADOW, last)
    details: list[dict[str, Any]] = []
    worst: dict[str, Any] | None = None
    for row in rows:
        report = loads(row["parity"], {})
        entry = {"run_id": row["id"], "job_id": row["job_id"], "matched": _matched(report),
                 "verdict": report.get("verdict"), "graph_status": report.get("graph_status"),
                 "error": report.get("error"), "worst": report.get("worst"), "finished_at": row["finished_at"]}
        details.append(entry)
        candidate = report.get("worst")
        if isinstance(candidate, dict) and isinstance(candidate.get("score"), (int, float)):
            if worst is None or candidate["score"] < worst["score"]:
                worst = {"run_id": row["id"], **candidate}
    matched = sum(entry["matched"] for entry in details)
    return {"output_type": output_type, "runs": len(details), "matched": matched,
            "mismatched": len(details) - matched, "worst": worst, "details": details}
