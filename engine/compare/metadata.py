"""JSON metadata comparison, key by key, with volatile keys (paths, times, ids) left out."""

from __future__ import annotations

import fnmatch
import json
import math
from pathlib import Path
from typing import Any

from .model import CompareInputError, ComparisonResult, Thresholds, Verdict, result


def load_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError, RecursionError) as exc:
        raise CompareInputError(f"{path}: not valid JSON: {exc}") from None


def flatten(value: Any, prefix: str = "") -> dict[str, Any]:
    """{"a": {"b": [1]}} -> {"a.b[0]": 1}: every leaf under its full key path."""
    if isinstance(value, dict) and value:
        out: dict[str, Any] = {}
        for key, item in value.items():
            out.update(flatten(item, f"{prefix}.{key}" if prefix else str(key)))
        return out
    if isinstance(value, list) and value:
        out = {}
        for index, item in enumerate(value):
            out.update(flatten(item, f"{prefix}[{index}]"))
        return out
    return {prefix: value}


def _last_key(path: str) -> str:
    return path.rsplit(".", 1)[-1].split("[", 1)[0]


def _close(x: Any, y: Any, tolerance: float) -> bool:
    numbers = (int, float)
    if isinstance(x, numbers) and isinstance(y, numbers) and not isinstance(x, bool) and not isinstance(y, bool):
        return math.isclose(x, y, rel_tol=tolerance, abs_tol=tolerance)
    return False


def compare_values(a: Any, b: Any, th: Thresholds) -> tuple[Verdict, dict[str, Any], list[str]]:
    """Verdict and per-key differences of two decoded JSON values."""
    ignored = th.json_ignore_keys
    fa, fb = flatten(a), flatten(b)
    keep = [k for k in sorted(set(fa) | set(fb)) if not any(fnmatch.fnmatch(_last_key(k), p) for p in ignored)]
    missing = [k for k in keep if k not in fb]
    extra = [k for k in keep if k not in fa]
    both = [k for k in keep if k in fa and k in fb and fa[k] != fb[k]]
    changed = {k: [fa[k], fb[k]] for k in both if not _close(fa[k], fb[k], th.json_numeric_tolerance)}
    near = [k for k in both if k not in changed]
    metrics = {"keys_compared": len(keep), "missing_keys": missing, "extra_keys": extra, "changed": changed,
               "within_tolerance": near}
    notes = [f"{k}: {v[0]!r} -> {v[1]!r}" for k, v in list(changed.items())[:20]]
    notes += [f"missing key {k}" for k in missing[:20]] + [f"extra key {k}" for k in extra[:20]]
    verdict: Verdict = "different" if notes else "similar" if near else "identical"
    return verdict, metrics, notes


def compare_json(a: Path, b: Path, th: Thresholds, diff_dir: Path | None = None) -> ComparisonResult:
    verdict, metrics, notes = compare_values(load_json(a), load_json(b), th)
    bad = len(metrics["missing_keys"]) + len(metrics["extra_keys"]) + len(metrics["changed"])
    score = 1.0 - bad / max(metrics["keys_compared"], 1)
    return result("json", verdict, score, "keys_equal", metrics, notes)
