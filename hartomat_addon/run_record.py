"""A run as the editor shows it: per node status, duration, attempts, log tail, outputs.

Built from the runtime's RunResult (local runs) or read from a run.json or a farm job's run, so
the inspection panel has one shape to draw.
"""

from __future__ import annotations

import re
from typing import Any

LOG_TAIL = 12
WARNING_PREFIXES = ("denoise:", "warning:")  # log lines the node itself shows, not only its log tail
PART_ROWS = 40


def part_rows(data: dict[str, Any]) -> list[str]:
    """What an output says per part, keyed by part key (never by name: names repeat): a CAD part
    list's names, a material map's materials, an STL set's files."""
    if isinstance(data.get("parts"), list):
        rows = [f"{p.get('key', '?')}: {p.get('name', '')} x{p.get('instances', 1)}" for p in data["parts"]]
    elif isinstance(data.get("assignments"), dict):
        rows = [f"{key}: {entry.get('name', '')} -> {entry.get('material', '')}"
                for key, entry in data["assignments"].items()]
    elif isinstance(data.get("files_by_part"), dict):
        rows = [f"{key}: {name}" for key, name in data["files_by_part"].items()]
    else:
        return []
    return rows[:PART_ROWS] + ([f"... {len(rows) - PART_ROWS} more"] if len(rows) > PART_ROWS else [])


TIMESTAMP = re.compile(r"^\d\d:\d\d:\d\d ")  # node logs stamp each line 'HH:MM:SS '


def log_tail(lines: list[str]) -> list[str]:
    """The last LOG_TAIL distinct lines: an importer that prints each line twice (Blender's glTF
    importer to both its log and stdout) shows each once, whatever their time stamps."""
    distinct: dict[str, str] = {}
    for line in map(str, lines):
        distinct.setdefault(TIMESTAMP.sub("", line), line)
    return list(distinct.values())[-LOG_TAIL:]


def log_warnings(lines: list[str]) -> list[str]:
    """Log lines the node itself shows (a still rendered without its denoiser, a warning)."""
    texts = dict.fromkeys(TIMESTAMP.sub("", str(line)) for line in lines)
    return [text for text in texts if text.startswith(WARNING_PREFIXES)]


def _node_record(node: dict[str, Any], logs: list[str] | None = None) -> dict[str, Any]:
    return {
        "step": node.get("step"),
        "status": node.get("status"),
        "duration_s": node.get("duration_s", node.get("duration")),
        "attempts": node.get("attempts", node.get("attempt")),
        "interpreter": node.get("interpreter"),
        "pid": node.get("pid"),
        "error": node.get("error"),
        "warnings": log_warnings(logs if logs is not None else node.get("log_tail", [])),
        "log_tail": log_tail(logs if logs is not None else node.get("log_tail", node.get("logs", []))),
        "outputs": [
            {**{k: o.get(k) for k in ("port", "kind", "role", "path", "files") if o.get(k) not in (None, [])},
             **({"parts": rows} if (rows := part_rows(o.get("data") or {})) else {})}
            for o in node.get("outputs", [])
        ],
    }


def from_summary(summary: dict[str, Any], logs: dict[str, list[str]] | None = None) -> dict[str, Any]:
    """A run.json summary (optionally with full per-node logs) as the editor's run record."""
    logs = logs or {}
    return {
        "run_id": summary.get("run_id", ""),
        "status": summary.get("status", ""),
        "mode": summary.get("mode", ""),
        "error": summary.get("error"),
        "fell_back": summary.get("fell_back", False),
        "nodes": {node_id: _node_record(node, logs.get(node_id))
                  for node_id, node in (summary.get("nodes") or {}).items()},
        "published": [{k: a.get(k) for k in ("role", "path", "kind", "primary")}
                      for a in summary.get("published") or []],
    }


def from_result(result: Any) -> dict[str, Any]:
    logs = {node_id: list(r.logs) for node_id, r in result.node_results.items()}
    return from_summary(result.summary(), logs)


def logs_by_node(lines: list[str]) -> dict[str, list[str]]:
    """A farm job's log lines ('[node_id] status message') grouped by node id."""
    grouped: dict[str, list[str]] = {}
    for line in lines:
        if line.startswith("[") and "]" in line:
            node_id, _, rest = line[1:].partition("]")
            grouped.setdefault(node_id, []).append(rest.strip())
    return grouped


def from_server(run: dict[str, Any], logs: list[str], published: list[dict[str, Any]]) -> dict[str, Any]:
    """A farm run (GET /api/jobs/{id}: `runs[]` and `logs`) as the editor's run record. A run that
    has not finished has no summary yet: its nodes come from the progress the worker reported."""
    summary = dict(run.get("summary") or {})
    if not summary.get("nodes"):
        summary["nodes"] = {n["node_id"]: {"step": n.get("step"), "status": n.get("status")}
                            for n in run.get("nodes") or []}
    summary.update(run_id=run.get("id", ""), status=run.get("status", ""), mode=run.get("mode", ""),
                   published=published)
    summary["error"] = run.get("error") or summary.get("error")
    grouped = logs_by_node(logs)
    return from_summary(summary, {node_id: grouped.get(node_id, []) for node_id in summary["nodes"]})


def error_message(node: dict[str, Any]) -> str:
    """A node record's error as one line of text (records hold a dict; older ones a string)."""
    error = node.get("error")
    if isinstance(error, dict):
        return str(error.get("message") or error.get("type") or "")
    return str(error or "")


def images(record: dict[str, Any]) -> list[str]:
    """Paths of image outputs (published first), for opening in an Image Editor."""
    paths = [a["path"] for a in record.get("published", []) if a.get("kind") == "image" and a.get("path")]
    for node in record.get("nodes", {}).values():
        paths += [o["path"] for o in node.get("outputs", []) if o.get("kind") == "image" and o.get("path")]
    return list(dict.fromkeys(paths))


def foreign_interpreters(record: dict[str, Any], here: str) -> dict[str, list[str]]:
    """Interpreter -> node ids, for nodes that ran outside this process's interpreter (the helper)."""
    found: dict[str, list[str]] = {}
    for node_id, node in record.get("nodes", {}).items():
        interpreter = node.get("interpreter")
        if interpreter and interpreter != here:
            found.setdefault(str(interpreter), []).append(node_id)
    return found
