"""Summaries of shadow runs: of the last N, how many matched, and the worst metric seen."""

from __future__ import annotations

from typing import Any

from .db import Store, loads


def _matched(report: dict[str, Any]) -> bool:
    if "matched" in report:
        return bool(report["matched"])
    verdict = str(report.get("verdict", report.get("status", ""))).lower()
    return verdict in ("match", "matched", "identical", "pass", "ok")


def _metrics(report: dict[str, Any]) -> list[tuple[str, str, float]]:
    """(role, metric, value) for every numeric metric in a shadow report, whatever its nesting."""
    found: list[tuple[str, str, float]] = []
    roles = report.get("roles") or report.get("outputs") or {}
    if isinstance(roles, dict):
        for role, entry in roles.items():
            metrics = entry.get("metrics", {}) if isinstance(entry, dict) else {}
            for name, value in metrics.items():
                if isinstance(value, (int, float)) and not isinstance(value, bool):
                    found.append((str(role), str(name), float(value)))
    return found


def parity_summary(store: Store, output_type: str, last: int) -> dict[str, Any]:
    rows = store.all(
        "SELECT r.id, r.job_id, r.parity, r.finished_at FROM runs r JOIN jobs j ON j.id = r.job_id "
        "WHERE j.output_type = ? AND r.mode = 'shadow' AND r.parity IS NOT NULL "
        "ORDER BY r.finished_at DESC LIMIT ?", output_type, last)
    runs, matched = [], 0
    worst: dict[str, Any] | None = None
    for row in rows:
        report = loads(row["parity"], {})
        ok = _matched(report)
        matched += ok
        runs.append({"run_id": row["id"], "job_id": row["job_id"], "matched": ok, "finished_at": row["finished_at"]})
        for role, name, value in _metrics(report):
            lower_is_worse = name.lower() in ("psnr", "ssim")
            if worst is None or worst["metric"] != name or (value < worst["value"]) == lower_is_worse:
                if worst is None or worst["metric"] == name or not ok:
                    worst = {"run_id": row["id"], "role": role, "metric": name, "value": value}
    return {"output_type": output_type, "runs": len(rows), "matched": matched,
            "mismatched": len(rows) - matched, "worst": worst, "details": runs}
