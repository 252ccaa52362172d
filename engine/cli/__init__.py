"""The `hartomat` command: each sub-command lives in its own `cmd_*.py` module.

A command module defines `register(subparsers)` and sets `func(args) -> int` on its parser.
This package holds the engine's commands; packages above the engine (the farm's
`server_bridge.cli`) add theirs as `cmd_*` modules of a package named by an entry point in the
`hartomat.commands` group, so the engine never imports them.
Expected failures (HartomatError, WorkflowLoadError) print one line and exit non-zero.
"""

from __future__ import annotations

import argparse
import importlib
import os
import pkgutil
import sys
from collections.abc import Sequence
from types import ModuleType

from ..errors import HartomatError
from ..model.workflow import WorkflowLoadError

COMMAND_GROUP = "hartomat.commands"


def _commands_of(package: ModuleType) -> list[str]:
    """Module names of a package's `cmd_*` modules, sorted."""
    return sorted(f"{package.__name__}.{m.name}" for m in pkgutil.iter_modules(package.__path__)
                  if m.name.startswith("cmd_"))


def command_packages() -> list[ModuleType]:
    """The packages that hold commands: this one, then those the entry points name."""
    from importlib.metadata import entry_points

    packages = [sys.modules[__name__]]
    for point in sorted(entry_points(group=COMMAND_GROUP), key=lambda p: p.name):
        packages.append(importlib.import_module(point.value))
    return packages


def command_modules() -> list[str]:
    """Every command module, in --help order: the engine's, then each entry point's."""
    return [name for package in command_packages() for name in _commands_of(package)]


def _named(names: list[str], wanted: str) -> list[str]:
    return [name for name in names if name.endswith(f".{wanted}")][:1]


def modules_for(argv: Sequence[str] | None) -> list[str]:
    """Only the module of the named sub-command when there is one (`convert` -> cmd_convert), so a
    command imports just what it needs at start-up; every module for --help or an unknown name.
    The engine's own commands are found without reading the installed entry points."""
    words = list(sys.argv[1:] if argv is None else argv)
    if words and not words[0].startswith("-"):
        wanted = "cmd_" + words[0].replace("-", "_")
        found = _named(_commands_of(sys.modules[__name__]), wanted) or _named(command_modules(), wanted)
        if found:
            return found
    return command_modules()


def build_parser(modules: Sequence[str] | None = None) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="hartomat", description="HartOMat: STEP files in, product media out.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in command_modules() if modules is None else modules:
        importlib.import_module(name).register(sub)
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
