"""`hartomat farm workers|unblock|cancel|cache|stats`: a farm operator's view and controls."""

from __future__ import annotations

import argparse
import time

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
        print(f"{worker['id']} {worker['name']} [{', '.join(worker['capabilities'])}] "
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
