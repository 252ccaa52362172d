"""The `hartomat` command: each sub-command lives in its own `cmd_*.py` module.

A command module defines `register(subparsers)` and sets `func(args) -> int` on its parser.
Expected failures (HartomatError, WorkflowLoadError) print one line and exit non-zero.
"""

from __future__ import annotations

import argparse
import importlib
import os
import pkgutil
import sys
from collections.abc import Sequence

from ..errors import HartomatError
from ..workflow import WorkflowLoadError


def command_modules() -> list[str]:
    """Names of the `cmd_*` modules, sorted (their sub-commands appear in this order in --help)."""
    return sorted(m.name for m in pkgutil.iter_modules(__path__) if m.name.startswith("cmd_"))


def modules_for(argv: Sequence[str] | None) -> list[str]:
    """Only the module of the named sub-command when there is one (`convert` -> cmd_convert), so a
    command imports just what it needs at start-up; every module for --help or an unknown name."""
    names = command_modules()
    words = list(sys.argv[1:] if argv is None else argv)
    if words and not words[0].startswith("-"):
        wanted = "cmd_" + words[0].replace("-", "_")
        if wanted in names:
            return [wanted]
    return names


def build_parser(modules: Sequence[str] | None = None) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="hartomat", description="HartOMat: STEP files in, product media out.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in command_modules() if modules is None else modules:
        importlib.import_module(f"{__name__}.{name}").register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser(modules_for(argv)).parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except (HartomatError, WorkflowLoadError, FileNotFoundError) as exc:
        print(f"hartomat {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # output piped into `head` and the like: stop quietly
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141
    except KeyboardInterrupt:
        print(f"hartomat {args.command}: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # the user gets one line, a developer asks for the traceback
        if os.environ.get("HARTOMAT_DEBUG"):
            raise
        print(f"hartomat {args.command}: internal error: {type(exc).__name__}: {exc} "
              "(set HARTOMAT_DEBUG=1 for the traceback)", file=sys.stderr)
        return 3
