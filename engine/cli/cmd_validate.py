"""`hartomat validate FILE.json`: every problem of a workflow, one line each."""

import argparse
import json

from ..model.validation import validate_workflow
from ..model.workflow import WorkflowLoadError, load_workflow


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("validate", help="validate a workflow JSON file")
    parser.add_argument("file", help="workflow JSON file")
    parser.add_argument("--json", action="store_true", help="print problems as JSON")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    try:
        workflow = load_workflow(args.file)
    except WorkflowLoadError as exc:
        if args.json:
            print(json.dumps({"ok": False, "problems": [
                {"code": "unreadable_workflow", "message": str(exc), "severity": "error"}]}, indent=2))
            return 2
        raise
    report = validate_workflow(workflow)
    if args.json:
        print(json.dumps({"ok": report.ok, "problems": [p.model_dump(mode="json") for p in report.problems]},
                         indent=2, default=str))
    else:
        for problem in report.problems:
            print(f"{args.file}: {problem.line()}")
        if report.ok:
            print(f"{args.file}: ok ({len(workflow.nodes)} nodes, {len(workflow.edges)} edges)")
    return 0 if report.ok else 1
