"""The graph runtime: plan and run a workflow for one order line.

    from engine.runtime import run_workflow, plan_workflow, RunOptions, RunResult, ProgressEvent
    result = run_workflow(workflow, order_line, RunOptions(out_dir=Path("out")))
    plan = plan_workflow(workflow, order_line, RunOptions())   # dry run, no side effects
    steps = run_steps(workflow, order_line, RunOptions(ui_thread=True))  # next() per UI tick

See modes.py (legacy / graph / shadow), planning.py (order, settings, keys), scheduler.py
(scheduling and on-fail policies), runner.py (attempts, cache, recording).
"""

from __future__ import annotations

from pathlib import Path

from ..model.context import OrderLine
from ..model.workflow import Workflow
from .modes import plan as _plan
from .modes import run_steps, run_workflow
from .options import NodeResult, OutputRef, ProgressEvent, RunOptions, RunResult
from .planning import Plan, PlanError, PlannedNode


def plan_workflow(workflow: Workflow | str | Path, order_line: OrderLine, options: RunOptions | None = None) -> Plan:
    """The dry run: order, resolved settings, cache hits and capabilities; no side effects."""
    return _plan(workflow, order_line, options)


__all__ = [
    "NodeResult", "OutputRef", "Plan", "PlanError", "PlannedNode", "ProgressEvent", "RunOptions", "RunResult",
    "plan_workflow", "run_steps", "run_workflow",
]
