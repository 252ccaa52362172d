"""`hartomat run GRAPH.json`: run a saved graph for one order line (or print its plan)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from ..errors import HartomatError
from ..model.context import OrderLine
from ..model.overrides import parse_sets
from ..model.vocabulary import Mode, NodeStatus
from ..model.workflow import load_workflow
from ..runtime import ProgressEvent, RunOptions, plan_workflow, run_workflow


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("run", help="run a workflow graph for one order line")
    parser.add_argument("graph", help="workflow JSON file")
    parser.add_argument("--step", help="STEP file of the product")
    parser.add_argument("--set", dest="sets", action="append", default=[], metavar="NODE.FIELD=VALUE",
                        help="override a setting (node id or step key; VALUE is JSON or text); repeatable")
    parser.add_argument("-o", "--out", default="hartomat-out", help="output folder (default: hartomat-out)")
    parser.add_argument("--mode", choices=[m.value for m in Mode], default=Mode.GRAPH)
    parser.add_argument("--output-type", help="order line output type (default: the graph's family)")
    parser.add_argument("--product", default="", help="product name or number of the order line")
    parser.add_argument("--no-cache", action="store_true", help="neither use nor fill the node cache")
    parser.add_argument("--cache-dir", help="node cache folder (default: $HARTOMAT_CACHE or ~/.cache/hartomat)")
    parser.add_argument("--store", help="run store file (default: $HARTOMAT_STORE or OUT/hartomat-runs.sqlite)")
    parser.add_argument("--helper-python", help="interpreter for nodes whose capability this one lacks")
    parser.add_argument("--fallback", action="store_true", help="re-run legacy whenever the graph fails")
    parser.add_argument("--dry-run", action="store_true", help="print the plan; run nothing, write nothing")
    parser.add_argument("--json", action="store_true", help="print the plan or the run summary as JSON")
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress lines on stderr")
    parser.set_defaults(func=run)


def _print_progress(event: ProgressEvent) -> None:
    detail = f" {event.message}" if event.message else ""
    fraction = f" {event.fraction:.0%}" if event.status == NodeStatus.RUNNING and event.fraction else ""
    print(f"[{event.status:>9}] {event.node_id} ({event.step}){fraction}{detail}", file=sys.stderr)


def _print_plan(plan: Any) -> None:
    for position, node in enumerate(plan.nodes, 1):
        hit = "cache hit" if node.cache_hit else ("no cache" if not node.cacheable else "will run")
        missing = f"; missing {', '.join(node.missing)}" if node.missing else ""
        print(f"{position:3}. {node.node_id} ({node.step}) [{node.where}; {hit}{missing}]")
        changed = {k: v for k, v in node.settings.items() if node.definition.default_settings().get(k) != v}
        for key, value in changed.items():
            print(f"       {key} = {json.dumps(value)}")
    needed = ", ".join(plan.capabilities_needed) or "none"
    print(f"capabilities needed: {needed}; available: {', '.join(sorted(plan.capabilities)) or 'none'}")
    for warning in plan.warnings:
        print(warning)


def run(args: argparse.Namespace) -> int:
    workflow = load_workflow(args.graph)
    step = Path(args.step) if args.step else None
    if step is not None and not step.is_file():
        raise HartomatError(f"--step {step}: no such file")
    order_line = OrderLine(product=args.product or (step.stem if step else ""),
                           step_path=str(step.resolve()) if step else None,
                           output_type=args.output_type or workflow.family)
    options = RunOptions(
        out_dir=Path(args.out), mode=Mode(args.mode), use_cache=not args.no_cache,
        cache_dir=Path(args.cache_dir) if args.cache_dir else None,
        store_path=Path(args.store) if args.store else None, overrides=parse_sets(args.sets),
        helper_python=args.helper_python, fallback=args.fallback,
        progress=None if (args.quiet or args.dry_run) else _print_progress,
    )
    if args.dry_run:
        plan = plan_workflow(workflow, order_line, options)
        print(json.dumps(plan.describe(), indent=2, default=str)) if args.json else _print_plan(plan)
        return 0
    try:
        result = run_workflow(workflow, order_line, options)
    except OSError as exc:
        raise HartomatError(f"{exc.filename or args.out}: {exc.strerror or exc}") from None
    if args.json:
        print(json.dumps(result.summary(), indent=2, default=str))
    else:
        _print_result(result)
    return 0 if result.ok else 1


def _print_result(result: Any) -> None:
    fell_back = " (fell back to legacy)" if result.fell_back else ""
    print(f"run {result.run_id}: {result.status}{fell_back} ({result.mode})")
    if result.error:
        print(f"  error: {result.error}")
    for asset in result.published:
        primary = " [primary]" if asset.primary else ""
        print(f"  {asset.role}: {asset.path}{primary}")
    print(f"  record: {result.out_dir / 'run.json'}")
