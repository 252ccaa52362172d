"""`hartomat token create --role submit|worker|admin --data DIR`: prints a new API token."""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("token", help="manage farm API tokens")
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    create = actions.add_parser("create", help="create a token and print it (only its hash is stored)")
    create.add_argument("--role", required=True, choices=("submit", "worker", "admin"))
    create.add_argument("--name", default="", help="a name to recognise the token by (shown in records)")
    create.add_argument("--data", default=None, help="the server's data folder (default $HARTOMAT_DATA)")
    create.set_defaults(func=run_create)


def run_create(args: argparse.Namespace) -> int:
    from server_bridge.auth import create_token
    from server_bridge.db import Store
    from server_bridge.settings import ServerSettings

    settings = ServerSettings.from_env(args.data)
    store = Store(settings.data_dir / "farm.sqlite")
    try:
        print(create_token(store, args.role, args.name))
    finally:
        store.close()
    return 0
