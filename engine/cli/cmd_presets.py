"""`hartomat presets [NAME] [-o FILE]`: the legacy output configs, and the graphs they migrate to.

`examples/*.json` are written by this command, so the bundled examples never drift from
`migrate_preset`.
"""

import argparse
from pathlib import Path

from ..errors import HartomatError
from ..legacy.presets import PRESETS, preset_workflow


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("presets", help="list the legacy presets, or print/write one as a workflow graph")
    parser.add_argument("name", nargs="?", help=f"preset to migrate: {', '.join(PRESETS)}")
    parser.add_argument("-o", "--output", metavar="FILE", help="write the workflow JSON to FILE")
    parser.set_defaults(func=run)


def _summary(name: str) -> str:
    workflow = preset_workflow(name)
    return f"{name}\t{len(workflow.nodes)} nodes, {len(workflow.edges)} edges"


def run(args: argparse.Namespace) -> int:
    if args.name is None:
        if args.output:
            raise HartomatError("-o needs a preset name")
        print("\n".join(_summary(name) for name in PRESETS))
        return 0
    if args.name not in PRESETS:
        raise HartomatError(f"unknown preset '{args.name}'; presets: {', '.join(PRESETS)}")
    text = preset_workflow(args.name).to_json()
    if args.output:
        try:
            Path(args.output).write_text(text)
        except OSError as exc:
            raise HartomatError(f"cannot write {args.output}: {exc.strerror}") from None
        print(args.output)
    else:
        print(text, end="")
    return 0
