"""`hartomat submit PART.step [...] --output-type still [--priority N] [--tags a,b] [--webhook URL]`:
prints the order id."""

from __future__ import annotations

import argparse

from engine.model.overrides import parse_sets

from ._farm import add_connection, client


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("submit", help="submit an order to the farm (one line per STEP file)")
    parser.add_argument("steps", nargs="*", help="STEP files to upload, one order line each")
    parser.add_argument("--product", action="append", default=[], help="a product from the server's library")
    parser.add_argument("--output-type", required=True, help="output type, e.g. still, turntable")
    parser.add_argument("--webhook", default=None, help="URL that gets one POST when the order finishes")
    parser.add_argument("--priority", type=int, default=None, help="0-100, higher first (default 50)")
    parser.add_argument("--tags", default="", help="comma-separated worker tags every line requires")
    parser.add_argument("--set", action="append", default=[], metavar="NODE.FIELD=JSON",
                        help="invocation override, e.g. --set still.samples=2 (node id or step key)")
    add_connection(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from engine.errors import HartomatError

    if not args.steps and not args.product:
        raise HartomatError("nothing to submit: give STEP files or --product NAME")
    tags = [t.strip() for t in args.tags.split(",") if t.strip()]
    order = client(args).submit(args.steps, args.output_type, args.webhook, parse_sets(args.set),
                                args.product, args.priority, tags)
    print(order["id"])
    return 0
