"""`hartomat status ORDER [--json] [--wait]`: an order's status, per line, with its outputs."""

from __future__ import annotations

import argparse
import json
from typing import Any

from engine.model.vocabulary import FINISHED_ORDER_STATUSES, OrderStatus

from ._farm import add_connection, client


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("status", help="show a farm order's status")
    parser.add_argument("order", help="order id")
    parser.add_argument("--json", action="store_true", help="print the whole status as JSON")
    parser.add_argument("--wait", action="store_true", help="wait until the order has finished")
    parser.add_argument("--timeout", type=float, default=3600.0, help="longest wait in seconds")
    add_connection(parser)
    parser.set_defaults(func=run)


def describe(order: dict[str, Any]) -> list[str]:
    webhook = order["webhook"]
    pause = order.get("pause")
    lines = [f"order {order['id']}: {order['status']}"
             + (f" by {pause['by']}" if pause else "")
             + (f", priority {order['priority']}" if "priority" in order else "")
             + (" (fell back to legacy)" if order.get("fell_back") else "")
             + (f"; webhook {webhook['status']}" if webhook["url"] else "")]
    for line in order["lines"]:
        job = line["job"] or {}
        extra = f" - {job['error']}" if job.get("error") else ""
        extra += f" - {job['waiting']}" if job.get("waiting") else ""
        chunks = line.get("chunks") or {}
        split = f", chunks {chunks['done']}/{chunks['total']} done" if chunks.get("total") else ""
        lines.append(f"  {line['id']} {line['product']} [{line['output_type']}]: {job.get('status')}"
                     f" ({len(line['assets'])} outputs, attempt {job.get('attempts')}{split}){extra}")
    return lines + costs(order)


def _cost(row: dict[str, Any]) -> str:
    return f"{row['wall_s']:.2f}s wall, {row['cpu_s']:.2f}s CPU in {row['runs']} run(s)"


def costs(order: dict[str, Any]) -> list[str]:
    """The order's render statistics (per line, node and worker) and, while it waits, its estimate."""
    out = []
    estimate = order.get("estimate")
    if estimate:
        left = estimate["remaining_s"]
        out.append(f"estimate: {left:.0f}s left ({estimate['jobs_left']} job(s), {estimate['live_workers']} "
                   f"live worker(s))" if left is not None else f"estimate: unknown ({estimate['why']})")
    stats = order.get("statistics")
    if not stats or not stats["total"]["runs"]:
        return out
    out.append(f"cost: {_cost(stats['total'])}")
    out += [f"  line {row['line_id']}: {_cost(row)}" for row in stats["lines"]]
    out += [f"  node {row['node_id']} ({row['step']}): {row['wall_s']:.2f}s wall, {row['cpu_s']:.2f}s CPU"
            for row in stats["nodes"]]
    out += [f"  worker {row['name']}: {_cost(row)}" for row in stats["workers"]]
    return out


def run(args: argparse.Namespace) -> int:
    farm = client(args)
    order = farm.wait_order(args.order, args.timeout) if args.wait else farm.order(args.order)
    if args.json:
        print(json.dumps(order, indent=2))
    else:
        print("\n".join(describe(order)))
    if order["status"] in FINISHED_ORDER_STATUSES - {OrderStatus.SUCCEEDED}:
        return 1
    return 0
