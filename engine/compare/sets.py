"""`compare_output_sets`: two runs' outputs role by role, as shadow mode and golden tests need.

Missing roles (in the reference, not in the candidate) break the match; extra roles are listed
but do not, since a graph may publish more than the legacy pipeline did.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .by_kind import compare_paths
from .model import CompareInputError, ComparisonResult, Thresholds, Verdict, as_thresholds, result, worst

Outputs = dict[str, Path | str | list[Path] | list[str]]


def _failed(kind: str, message: str) -> ComparisonResult:
    return result(kind, "different", 0.0, "error", {}, [message])


def _compare_one(a: Path | str, b: Path | str, th: Thresholds, diff_dir: Path | None) -> ComparisonResult:
    try:
        return compare_paths(a, b, thresholds=th, diff_dir=diff_dir)
    except CompareInputError as exc:  # a broken output is a difference, not a crash of the run
        return _failed("error", str(exc)).model_copy(update={"a": str(a), "b": str(b)})


def _as_list(value: Path | str | list[Path] | list[str]) -> list[Path]:
    items = value if isinstance(value, list) else [value]
    return sorted((Path(v) for v in items), key=lambda p: p.name)


def compare_role(a: Path | str | list[Path] | list[str], b: Path | str | list[Path] | list[str],
                 th: Thresholds, diff_dir: Path | None = None) -> dict[str, Any]:
    """One role: a single file, or a set paired by file name (falling back to sorted order)."""
    items_a, items_b = _as_list(a), _as_list(b)
    notes = []
    if len(items_a) != len(items_b):
        notes.append(f"{len(items_a)} files against {len(items_b)}")
    by_name_b = {p.name: p for p in items_b}
    pairs = ([(p, by_name_b[p.name]) for p in items_a if p.name in by_name_b]
             if all(p.name in by_name_b for p in items_a) else list(zip(items_a, items_b, strict=False)))
    compared = [_compare_one(pa, pb, th, diff_dir) for pa, pb in pairs]
    verdicts: list[Verdict] = [c.verdict for c in compared] + (["different"] if notes else [])
    verdict = worst(verdicts)
    low = min(compared, key=lambda c: c.score, default=None)
    entry: dict[str, Any] = {
        "verdict": verdict, "match": verdict != "different", "kind": low.kind if low else "none",
        "score": 0.0 if notes or low is None else low.score, "headline": low.headline if low else "count",
        "notes": notes + [n for c in compared for n in c.notes][:50],
        "items": [c.model_dump(mode="json") for c in compared],
    }
    return entry


def compare_output_sets(a: Outputs, b: Outputs, thresholds: Thresholds | dict[str, Any] | None = None,
                        diff_dir: str | Path | None = None) -> dict[str, Any]:
    """Reference outputs `a` against candidate outputs `b`, keyed by role."""
    th = as_thresholds(thresholds)
    out_dir = Path(diff_dir) if diff_dir is not None else None
    roles = {role: compare_role(a[role], b[role], th, out_dir / role if out_dir else None)
             for role in sorted(set(a) & set(b))}
    missing, extra = sorted(set(a) - set(b)), sorted(set(b) - set(a))
    scored = [(entry["score"], role, entry) for role, entry in roles.items()]
    scored += [(0.0, role, {"headline": "missing"}) for role in missing]
    worst_entry = min(scored, key=lambda item: item[0], default=None)
    verdict = worst([r["verdict"] for r in roles.values()] + (["different"] if missing else []))
    return {
        "match": verdict != "different",
        "verdict": verdict,
        "roles": roles,
        "missing_roles": missing,
        "extra_roles": extra,
        "worst": None if worst_entry is None else
        {"role": worst_entry[1], "metric": worst_entry[2]["headline"], "score": worst_entry[0]},
    }
