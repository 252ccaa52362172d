"""Results drawn on nodes: validation problems (red header + text) and run statuses (colours).

Only operators call these, never `update()` callbacks.
"""

from __future__ import annotations

import json
from typing import Any

from .engine_link import vocabulary
from .nodes import is_hartomat_node
from .tree import json_prop

ERROR_COLOUR = (0.65, 0.12, 0.12)
WARNING_COLOUR = (0.60, 0.45, 0.10)
NodeStatus = vocabulary.NodeStatus
STATUS_COLOURS = {
    NodeStatus.SUCCEEDED: (0.16, 0.45, 0.20), NodeStatus.CACHED: (0.20, 0.38, 0.45), NodeStatus.FAILED: ERROR_COLOUR,
    NodeStatus.RUNNING: (0.55, 0.50, 0.15), NodeStatus.SKIPPED: (0.30, 0.30, 0.30),
    NodeStatus.CANCELLED: (0.40, 0.30, 0.20), NodeStatus.PENDING: (0.25, 0.25, 0.30),
}


def hartomat_nodes(tree: Any) -> dict[str, Any]:
    return {n.hm_id: n for n in tree.nodes if is_hartomat_node(n)}


def _paint(node: Any, colour: tuple[float, float, float] | None) -> None:
    node.use_custom_color = colour is not None
    if colour is not None:
        node.color = colour


def problems_by_node(problems: list[dict[str, Any]], edges: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    """Problems keyed by node id; an edge problem with no node lands on the edge's target."""
    grouped: dict[str, list[dict[str, Any]]] = {}
    for problem in problems:
        node_id = problem.get("node_id")
        index = problem.get("edge_index")
        if not node_id and index is not None and 0 <= index < len(edges):
            node_id = edges[index]["target"]
        grouped.setdefault(node_id or "", []).append(problem)
    return grouped


def show_problems(tree: Any, problems: list[dict[str, Any]], edges: list[dict[str, Any]]) -> None:
    """Each problem on its node (red header for errors), all of them in the tree's report."""
    grouped = problems_by_node(problems, edges)
    for node_id, node in hartomat_nodes(tree).items():
        mine = grouped.get(node_id, [])
        node.hm_problems = json.dumps(mine) if mine else ""
        severities = {p.get("severity", "error") for p in mine}
        # a node with no problem keeps its run colour: its text still says how the run went
        _paint(node, ERROR_COLOUR if "error" in severities else WARNING_COLOUR if mine
               else STATUS_COLOURS.get(node.hm_status))
    tree.hm_report = json.dumps(problems)
    tree.hm_validated = True


def clear_marks(tree: Any) -> None:
    for node in hartomat_nodes(tree).values():
        node.hm_problems = node.hm_status = node.hm_run = ""
        _paint(node, None)
    tree.hm_report = tree.hm_run = ""
    tree.hm_validated = tree.hm_run_stale = False


def clear_run(tree: Any) -> None:
    """Forget the run shown (a new one starts); validation marks stay."""
    for node in hartomat_nodes(tree).values():
        node.hm_status = node.hm_run = ""
        _paint(node, ERROR_COLOUR if node.hm_problems else None)
    tree.hm_run = ""
    tree.hm_run_stale = False


def show_node_status(node: Any, status: str, record: dict[str, Any] | None = None) -> None:
    node.hm_status = status
    if record is not None:
        node.hm_run = json.dumps(record, default=str)
    _paint(node, STATUS_COLOURS.get(status))


def show_run(tree: Any, run: dict[str, Any]) -> None:
    """A run's node records (status, duration, attempts, log tail, outputs) onto the nodes."""
    records = run.get("nodes", {})
    for node_id, node in hartomat_nodes(tree).items():
        record = records.get(node_id)
        if record is None:
            node.hm_status, node.hm_run = "", ""
            _paint(node, None)
        else:
            show_node_status(node, str(record.get("status", "")), record)
    tree.hm_run = json.dumps(run, default=str)
    tree.hm_run_state = str(run.get("status", ""))
    tree.hm_run_stale = False


def tree_problems(tree: Any) -> list[dict[str, Any]]:
    return list(json_prop(tree, "hm_report", []))
