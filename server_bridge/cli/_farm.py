"""Shared options of the farm commands: --server and --token (or $HARTOMAT_SERVER / $HARTOMAT_TOKEN)."""

from __future__ import annotations

import argparse
from typing import Any


def add_connection(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--server", help="farm server URL (default $HARTOMAT_SERVER)")
    parser.add_argument("--token", help="API token (default $HARTOMAT_TOKEN)")


def client(args: argparse.Namespace, **kwargs: Any) -> Any:
    from server_bridge.client import FarmClient

    return FarmClient(args.server, args.token, **kwargs)
