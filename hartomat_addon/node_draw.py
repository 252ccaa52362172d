"""Drawing inside nodes and the settings sidebar: problems, run status, grouped settings."""

from __future__ import annotations

import textwrap
from typing import Any

from .engine_link import engine_module, vocabulary
from .run_record import error_message
from .tree import json_prop

CHAR_PX = 6.5  # average label character width at UI scale 1, for wrapping long messages


def wrap_width(pixels: float) -> int:
    return max(16, int(pixels / CHAR_PX) - 4)


def wrapped(layout: Any, text: str, width: int, icon: str = "NONE", max_lines: int = 0) -> None:
    """Labels cannot wrap: split the text into lines that fit, the icon on the first; with
    `max_lines`, the rest is cut with '…' (the whole text is in the sidebar)."""
    lines = textwrap.wrap(text, width) or [""]
    if max_lines and len(lines) > max_lines:
        lines = [*lines[:max_lines - 1], lines[max_lines - 1][:max(1, width - 1)] + "…"]
    for index, line in enumerate(lines):
        layout.label(text=line, icon=icon if index == 0 or icon == "NONE" else "BLANK1")


NODE_TEXT_LINES = 2  # an error or warning drawn on a node: more would run into the node below


def problem_text(problem: dict[str, Any], with_node: bool = False) -> str:
    """'field: message', the field or port left out where the message names it already."""
    message = str(problem.get("message", ""))
    keys = ("node_id", "port", "field") if with_node else ("port", "field")
    where = [str(problem[k]) for k in keys if problem.get(k) and f"'{problem[k]}'" not in message]
    return f"{', '.join(where)}: {message}" if where else message


def draw_problems(node: Any, layout: Any, width: int) -> None:
    for problem in json_prop(node, "hm_problems", []):
        icon = "ERROR" if problem.get("severity") == "error" else "INFO"
        wrapped(layout.column(align=True), problem_text(problem), width, icon)


def run_summary(record: dict[str, Any]) -> str:
    parts = [record.get("status", "")]
    if record.get("duration_s") is not None:
        parts.append(f"{record['duration_s']:.2f} s")
    if record.get("attempts"):
        parts.append(f"{record['attempts']} attempt{'s' if record['attempts'] != 1 else ''}")
    return ", ".join(p for p in parts if p)


def draw_node_body(node: Any, layout: Any) -> None:
    layout.label(text=f"id: {node.hm_id}")
    record = json_prop(node, "hm_run", {})
    width = wrap_width(node.width - 30)
    if record:
        stale = " (before the last edit)" if getattr(node.id_data, "hm_run_stale", False) else ""
        layout.label(text=run_summary(record) + stale, icon="TIME")
        if record.get("status") == vocabulary.NodeStatus.RUNNING and record.get("message"):
            wrapped(layout.column(align=True), record["message"], width, "RENDER_STILL", NODE_TEXT_LINES)
        if record.get("interpreter") and record["interpreter"] != host_interpreter():
            layout.label(text=f"ran in helper: {record['interpreter']}", icon="CONSOLE")
        for warning in record.get("warnings", []):
            wrapped(layout.column(align=True), warning, width, "ERROR", NODE_TEXT_LINES)
        if record.get("status") == vocabulary.NodeStatus.FAILED and error_message(record):
            column = layout.column(align=True)
            column.alert = True
            wrapped(column, error_message(record), width, "ERROR", NODE_TEXT_LINES)
    draw_problems(node, layout, width)


def host_interpreter() -> str:
    return str(engine_module("model.capabilities").host_interpreter())


def _field_problem(node: Any, field: str) -> str | None:
    for problem in json_prop(node, "hm_problems", []):
        if problem.get("field") and problem["field"].split(".")[0] == field:
            return str(problem.get("message", ""))
    return None


def draw_settings(node: Any, layout: Any, width: int = 40) -> None:
    """The node's settings grouped by the schema's field groups, errors beside their field."""
    specs = {spec.field: spec for spec in node.field_specs}
    raw = json_prop(node, "hm_raw", {})
    operator = {name.split(".")[0] for name in node.definition.operator_settings()}
    for group in node.definition.field_groups():
        box = layout.box()
        box.label(text=group["label"])
        column = box.column()
        for field in group["fields"]:
            spec = specs[field]
            row = column.row()
            problem = _field_problem(node, field)
            row.alert = problem is not None
            row.prop(node, spec.prop)
            if field in operator:  # set by the output type's admin or the worker config, never an order
                row.label(text="", icon="LOCKED")
            if field in raw:
                column.label(text=f"imported value {raw[field]!r} kept until edited", icon="INFO")
            if problem:
                wrapped(column, problem, width, "ERROR")
