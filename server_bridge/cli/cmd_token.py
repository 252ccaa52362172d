"""`hartomat token create|list|revoke --data DIR`: the farm's API tokens, on the server's database.

`create` prints a new token (only its hash is stored); `list` shows every token's id, name, role
and state (never a token); `revoke ID_OR_NAME` refuses the token from the server's next request on,
even while the server runs, and queues again the jobs its workers held (the admin API does the
same: POST /api/tokens/{id}/revoke).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from typing import Any

from engine.model.vocabulary import Role


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("token", help="manage farm API tokens")
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    create = actions.add_parser("create", help="create a token and print it (only its hash is stored)")
    create.add_argument("--role", required=True, choices=[r.value for r in Role])
    create.add_argument("--name", default="", help="a name to recognise the token by (shown in records)")
    create.set_defaults(func=run_create)
    listing = actions.add_parser("list", help="list tokens: id, name, role, created, revoked (never the token)")
    listing.add_argument("--json", action="store_true", help="print JSON instead of a table")
    listing.set_defaults(func=run_list)
    revoke = actions.add_parser("revoke", help="revoke a token by id (or by name, if only one live token has it)")
    revoke.add_argument("token", metavar="ID_OR_NAME")
    revoke.set_defaults(func=run_revoke)
    for action in (create, listing, revoke):
        action.add_argument("--data", default=None, help="the server's data folder (default $HARTOMAT_DATA)")


def _store(args: argparse.Namespace) -> Any:
    from server_bridge.db import Store
    from server_bridge.settings import ServerSettings

    return Store(ServerSettings.from_env(args.data).data_dir / "farm.sqlite")


def run_create(args: argparse.Namespace) -> int:
    from server_bridge.auth import create_token

    store = _store(args)
    try:
        print(create_token(store, args.role, args.name))
    finally:
        store.close()
    return 0


def run_list(args: argparse.Namespace) -> int:
    from server_bridge.auth import list_tokens

    store = _store(args)
    try:
        tokens = list_tokens(store)
    finally:
        store.close()
    if args.json:
        print(json.dumps(tokens, indent=2))
        return 0
    print(f"{'ID':<22} {'ROLE':<7} {'CREATED':<17} {'STATE':<25} NAME")
    for t in tokens:
        state = f"revoked {_when(t['revoked_at'])}" if t["revoked"] else "live"
        print(f"{t['id']:<22} {t['role']:<7} {_when(t['created_at']):<17} {state:<25} {t['name']}")
    return 0


def run_revoke(args: argparse.Namespace) -> int:
    from server_bridge.auth import TokenError, revoke_token
    from server_bridge.queue import release_token

    store = _store(args)
    try:
        revoked = revoke_token(store, args.token)
        released = release_token(store, revoked["id"])
    except TokenError as exc:
        print(f"hartomat token revoke: {exc}", file=sys.stderr)
        return 2
    finally:
        store.close()
    print(f"revoked {revoked['id']} ({revoked['role']}, {revoked['name']}): refused from the server's next request on"
          + (f"; {len(released)} job(s) its workers held are queued again" if released else ""))
    return 0


def _when(t: float | None) -> str:
    return time.strftime("%Y-%m-%d %H:%M", time.localtime(t)) if t else "-"
