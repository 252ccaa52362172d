"""`hartomat runs list|show ID`: the run store, as a table or as JSON."""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

from ..errors import HartomatError
from ..runtime.store import RunStore, default_store_path


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("runs", help="list and show recorded runs")
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    listing = actions.add_parser("list", help="recent runs")
    listing.add_argument("--limit", type=int, default=50)
    show = actions.add_parser("show", help="one run: nodes, attempts, logs, outputs, media")
    show.add_argument("run_id", help="run id (or a unique prefix)")
    show.add_argument("--logs", action="store_true", help="print every attempt's log lines")
    for action in (listing, show):
        action.add_argument("--store", help="run store file (default: $HARTOMAT_STORE or ./hartomat-out/...)")
        action.add_argument("--json", action="store_true", help="print JSON")
    parser.set_defaults(func=run)


def _open(path: str | None) -> RunStore:
    store_path = Path(path) if path else default_store_path(Path("hartomat-out"))
    if not store_path.is_file():
        raise HartomatError(f"{store_path}: no run store there (use --store PATH)")
    return RunStore(store_path)


def _when(stamp: float | None) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(stamp)) if stamp else "-"


def _table(rows: list[list[str]]) -> str:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return "\n".join("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip() for row in rows)


def run(args: argparse.Namespace) -> int:
    with _open(args.store) as store:
        if args.action == "list":
            return _list(store, args)
        return _show(store, args)


def _list(store: RunStore, args: argparse.Namespace) -> int:
    runs = store.list_runs(args.limit)
    if args.json:
        print(json.dumps(runs, indent=2))
        return 0
    rows = [["RUN", "STATUS", "MODE", "FALLBACK", "LINE", "WORKFLOW", "STARTED", "SECONDS"]]
    for r in runs:
        seconds = f"{r['ended'] - r['started']:.2f}" if r["ended"] else "-"
        rows.append([r["id"][:12], r["status"], r["mode"], "yes" if r["fell_back"] else "", r["order_line_id"],
                     r["workflow"], _when(r["started"]), seconds])
    print(_table(rows) if runs else "no runs recorded")
    return 0


def _show(store: RunStore, args: argparse.Namespace) -> int:
    run = store.get_run(args.run_id)
    if run is None:
        raise HartomatError(f"run '{args.run_id}' is not in {store.path}")
    if args.json:
        print(json.dumps(run, indent=2, default=str))
        return 0
    fell_back = ", fell back to legacy" if run["fell_back"] else ""
    print(f"run {run['id']}: {run['status']} ({run['mode']}{fell_back}) workflow '{run['workflow']}', "
          f"line {run['order_line_id']}")
    if run["error"]:
        print(f"error: {run['error']}")
    rows = [["PHASE", "NODE", "STEP", "ATTEMPT", "STATUS", "SECONDS", "INTERPRETER", "DETAIL"]]
    for a in run["attempts"]:
        rows.append([a["phase"], a["node_id"], a["step"], str(a["attempt"]), a["status"],
                     f"{a['duration']:.3f}" if a["duration"] is not None else "-", Path(a["interpreter"] or "-").name,
                     _detail(a)])
    print(_table(rows))
    for a in run["attempts"] if args.logs else []:
        for line in a["logs"]:
            print(f"  [{a['phase']}/{a['node_id']}#{a['attempt']}] {line}")
    for m in run["media_assets"]:
        print(f"media {m['role']}: {m['path']}{' [primary]' if m['is_primary'] else ''}")
    if run["parity"]:
        print("parity: " + json.dumps(run["parity"], default=str))
    return 0


def _detail(attempt: dict[str, Any]) -> str:
    if attempt["error"]:
        return f"{attempt['error']['type']}: {attempt['error']['message']}"[:100]
    outputs = attempt["outputs"]
    return ", ".join(f"{o['port']}={Path(o['path']).name if o['path'] else o['kind']}" for o in outputs)[:100]
