"""`hartomat fetch ORDER -o DIR`: downloads an order's media assets (sha256 checked)."""

from __future__ import annotations

import argparse

from ._farm import add_connection, client


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("fetch", help="download a farm order's outputs")
    parser.add_argument("order", help="order id")
    parser.add_argument("-o", "--out", required=True, help="folder to write into")
    add_connection(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    paths = client(args).fetch(args.order, args.out)
    for path in paths:
        print(path)
    if not paths:
        print(f"order {args.order}: no published outputs yet")
    return 0
