"""`hartomat farm stats --output-type T --since 7d`: what an output type's jobs cost: median
and p90 of a job's wall and CPU seconds, and the CPU-hours, from the server's run records."""

from __future__ import annotations

import argparse
import json
from typing import Any

from ._farm import add_connection, client


def register(actions: Any) -> None:
    parser = actions.add_parser("stats", help="an output type's job times and CPU-hours over a period")
    parser.add_argument("--output-type", required=True, help="the output type to summarise")
    parser.add_argument("--since", default="7d", help="the period: 90s, 30m, 12h, 7d, 2w (default 7d)")
    parser.add_argument("--json", action="store_true", help="print the summary as JSON")
    add_connection(parser)
    parser.set_defaults(func=run)


def _seconds(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}s"


def describe(stats: dict[str, Any]) -> list[str]:
    wall, cpu = stats["wall_s"], stats["cpu_s"]
    return [f"{stats['output_type']}: {stats['jobs']} job(s) succeeded in the last {stats['since_s'] / 3600:g} h",
            f"  per job  wall median {_seconds(wall['median'])}, p90 {_seconds(wall['p90'])}; "
            f"CPU median {_seconds(cpu['median'])}, p90 {_seconds(cpu['p90'])}",
            f"  in all   {stats['cpu_hours']:.4f} CPU-hours, {stats['wall_hours']:.4f} wall-hours"]


def run(args: argparse.Namespace) -> int:
    stats = client(args).farm_stats(args.output_type, args.since)
    print(json.dumps(stats, indent=2) if args.json else "\n".join(describe(stats)))
    return 0
