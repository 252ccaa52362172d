"""`hartomat nodes`: the node registry as JSON, as the HTTP API and the add-on serve it."""

import argparse
import json

from ..model.registry import REGISTRY


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("nodes", help="print the node-definition registry as JSON")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    print(json.dumps(REGISTRY.describe(), indent=2))
    return 0
