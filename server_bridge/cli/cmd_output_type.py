"""`hartomat output-type list|show|set-mode`: farm output types and their rollout mode.

`set-mode NAME legacy|shadow|graph` moves one output type between the legacy pipeline, shadow
runs (legacy published, graph compared) and the graph; the server records who and when.
"""

from __future__ import annotations

import argparse
import json

from engine.model.vocabulary import MODE_ROLLOUT, Mode

from ._farm import add_connection, client


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("output-type", help="list farm output types or switch their execution mode")
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    listing = actions.add_parser("list", help="every output type with its mode")
    add_connection(listing)
    listing.set_defaults(func=run_list)
    show = actions.add_parser("show", help="one output type as JSON, with its mode history")
    show.add_argument("name")
    add_connection(show)
    show.set_defaults(func=run_show)
    mode = actions.add_parser("set-mode", help="switch an output type to legacy, shadow or graph")
    mode.add_argument("name")
    mode.add_argument("mode", choices=[m.value for m in MODE_ROLLOUT])
    add_connection(mode)
    mode.set_defaults(func=run_set_mode)


def run_list(args: argparse.Namespace) -> int:
    for item in client(args).output_types():
        fallback = " (legacy fallback)" if item["mode"] == Mode.GRAPH and item["legacy_fallback"] else ""
        tags = f", needs tags {', '.join(item['tags'])}" if item.get("tags") else ""
        print(f"{item['name']}: {item['mode']}{fallback}, family {item['family']}, {item['artifact_kind']}, "
              f"workflow {item['workflow_id']}{tags}")
    return 0


def run_show(args: argparse.Namespace) -> int:
    item = client(args).output_type(args.name)
    print(json.dumps(item, indent=2))
    return 0


def run_set_mode(args: argparse.Namespace) -> int:
    item = client(args).set_mode(args.name, args.mode)
    last = item["mode_history"][-1] if item["mode_history"] else {}
    print(f"{item['name']}: mode {item['mode']} (set by {last.get('changed_by', '?')})")
    return 0
