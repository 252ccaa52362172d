"""`hartomat parity OUTPUT_TYPE [--last N] [--json]`: how the last N shadow runs compared."""

from __future__ import annotations

import argparse
import json

from ._farm import add_connection, client


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("parity", help="summarise an output type's recent shadow runs on the farm")
    parser.add_argument("output_type")
    parser.add_argument("--last", type=int, default=20, help="how many recent shadow runs (default 20)")
    parser.add_argument("--json", action="store_true", help="print the whole summary as JSON")
    add_connection(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    summary = client(args).parity(args.output_type, args.last)
    if args.json:
        print(json.dumps(summary, indent=2))
        return 0
    print(f"{summary['output_type']}: {summary['matched']} of {summary['runs']} shadow runs matched")
    worst = summary["worst"]
    if worst:
        print(f"  worst: {worst.get('role')} {worst.get('metric')} score {worst.get('score'):.4g} "
              f"(run {worst.get('run_id')})")
    for entry in summary["details"]:
        if not entry["matched"]:
            reason = entry.get("error") or entry.get("verdict") or entry.get("graph_status")
            print(f"  mismatch: run {entry['run_id']} ({reason})")
    return 0
