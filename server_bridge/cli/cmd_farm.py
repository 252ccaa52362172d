"""`hartomat farm workers|unblock|cancel|priority|pause|resume|delete|archive|cache|stats`: a
farm operator's view and controls."""

from __future__ import annotations

import argparse
import re
import time

from ..stats import PERIOD_S
from . import farm_stats
from ._farm import add_connection, client


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("farm", help="farm operations: list workers, unblock one, cancel orders or jobs")
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    workers = actions.add_parser("workers", help="registered workers, when last seen, what they are blocked from")
    add_connection(workers)
    workers.set_defaults(func=run_workers)
    unblock = actions.add_parser("unblock", help="let a worker take an output type again after repeated failures")
    unblock.add_argument("worker_id")
    unblock.add_argument("--output-type", default=None, help="only this output type (default: all)")
    add_connection(unblock)
    unblock.set_defaults(func=run_unblock)
    cancel = actions.add_parser("cancel", help="cancel an order (ord-...) or one job (job-...)")
    cancel.add_argument("target", help="order id or job id")
    add_connection(cancel)
    cancel.set_defaults(func=run_cancel)
    priority = actions.add_parser("priority", help="change a waiting or running order's priority (0-100)")
    priority.add_argument("order_id")
    priority.add_argument("priority", type=int)
    add_connection(priority)
    priority.set_defaults(func=run_priority)
    for verb, what in (("pause", "stop handing out an order's waiting jobs (running ones finish)"),
                       ("resume", "hand a paused order's jobs out again")):
        steer = actions.add_parser(verb, help=what)
        steer.add_argument("order_id")
        steer.add_argument("--line", default=None, help="only this line of the order (its id, ORDER-lN)")
        add_connection(steer)
        steer.set_defaults(func=run_steer, verb=verb)
    delete = actions.add_parser("delete", help="delete an order and the stored files only it used")
    delete.add_argument("order_id")
    delete.add_argument("--cancel", action="store_true", help="cancel its waiting and running jobs first")
    add_connection(delete)
    delete.set_defaults(func=run_delete)
    archive = actions.add_parser("archive", help="remove settled orders older than an age (admin)")
    archive.add_argument("--older-than", required=True, type=age_seconds, metavar="AGE",
                         help="e.g. 30d, 12h, 90m, 3600s")
    archive.add_argument("--dry-run", action="store_true", help="only say what would be removed")
    add_connection(archive)
    archive.set_defaults(func=run_archive)
    cache = actions.add_parser("cache", help="the farm-wide artifact cache: stats or clear")
    cache.add_argument("what", choices=("stats", "clear"))
    cache.add_argument("--json", action="store_true", help="stats as JSON")
    cache.add_argument("--worker", default=None, help="clear only the entries this worker id wrote")
    cache.add_argument("--token-id", default=None, help="clear only the entries workers of this token wrote")
    add_connection(cache)
    cache.set_defaults(func=run_cache)
    farm_stats.register(actions)


def run_workers(args: argparse.Namespace) -> int:
    now = time.time()
    for worker in client(args).workers():
        blocked = f"; blocked from {', '.join(worker['blocked_output_types'])}" if worker["blocked_output_types"] else ""
        tags = f" tags: {', '.join(worker['tags'])}" if worker.get("tags") else ""
        print(f"{worker['id']} {worker['name']} [{', '.join(worker['capabilities'])}]{tags} "
              f"seen {now - worker['last_seen']:.0f}s ago{blocked}")
    return 0


def run_unblock(args: argparse.Namespace) -> int:
    cleared = client(args).clear_blocks(args.worker_id, args.output_type)
    print(f"{args.worker_id}: cleared {cleared} failure record(s)")
    return 0


def run_cancel(args: argparse.Namespace) -> int:
    farm = client(args)
    reply = farm.cancel_job(args.target) if args.target.startswith("job-") else farm.cancel_order(args.target)
    print(f"{args.target}: cancelled {reply['cancelled']} job(s)")
    return 0


def age_seconds(text: str) -> float:
    """'30d', '12h', '90m', '3600s' or plain seconds -> seconds (argparse names the option on error)."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([smhdw]?)\s*", text)
    if match is None:
        raise argparse.ArgumentTypeError(f"not an age: {text!r} (use e.g. 30d, 12h, 90m or 3600s)")
    return float(match.group(1)) * PERIOD_S[match.group(2) or "s"]


def run_priority(args: argparse.Namespace) -> int:
    order = client(args).set_priority(args.order_id, args.priority)
    print(f"{order['id']}: priority {order['priority']} ({order['status']})")
    return 0


def run_steer(args: argparse.Namespace) -> int:
    farm = client(args)
    order = (farm.pause if args.verb == "pause" else farm.resume)(args.order_id, args.line)
    what = f"line {args.line}" if args.line else "order"
    print(f"{order['id']}: {what} {'paused' if args.verb == 'pause' else 'resumed'} ({order['status']})")
    return 0


def run_delete(args: argparse.Namespace) -> int:
    record = client(args).delete_order(args.order_id, args.cancel)
    print(f"{record['order_id']}: deleted ({record['jobs']} job(s), {record['assets']} asset(s); "
          f"{record['files_removed']} file(s) removed, {record['files_kept']} kept as shared, "
          f"{record['bytes_freed']} bytes freed)")
    return 0


def run_archive(args: argparse.Namespace) -> int:
    result = client(args).archive(args.older_than, args.dry_run)
    verb = "would archive" if result["dry_run"] else "archived"
    for record in result["orders"]:
        print(f"{record['order_id']} {record['status']}: {record['files_removed']} file(s), "
              f"{record['bytes_freed']} bytes")
    print(f"{verb} {len(result['orders'])} order(s): {result['files_removed']} file(s), "
          f"{result['bytes_freed']} bytes freed")
    return 0


def run_cache(args: argparse.Namespace) -> int:
    import json

    farm = client(args)
    if args.what == "clear":
        print(f"cleared {farm.cache_clear(args.worker, args.token_id)} cache entries")
        return 0
    stats = farm.cache_stats()
    if args.json:
        print(json.dumps(stats, indent=2))
        return 0
    steps = ", ".join(f"{step} {count}" for step, count in sorted(stats["steps"].items())) or "none"
    print(f"{stats['entries']} entries, {stats['bytes'] / 1e6:.1f} MB of {stats['max_bytes'] / 1e9:.1f} GB, "
          f"{stats['hits']} hits; by step: {steps}")
    return 0
