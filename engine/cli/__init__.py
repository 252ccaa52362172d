"""The `hartomat` command: each sub-command lives in its own `cmd_*.py` module.

A command module defines `register(subparsers)` and sets `func(args) -> int` on its parser.
Expected failures (HartomatError, WorkflowLoadError) print one line and exit non-zero.
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys
from collections.abc import Sequence

from ..errors import HartomatError
from ..workflow import WorkflowLoadError


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="hartomat", description="HartOMat: STEP files in, product media out.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        if info.name.startswith("cmd_"):
            module = importlib.import_module(f"{__name__}.{info.name}")
            module.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except (HartomatError, WorkflowLoadError, FileNotFoundError) as exc:
        print(f"hartomat {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"hartomat {args.command}: interrupted", file=sys.stderr)
        return 130
