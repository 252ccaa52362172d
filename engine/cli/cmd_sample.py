"""`hartomat sample bearing|single|nested|inch|colour_chart|plain_bearing|bracket_plate -o FILE.step`: write a sample STEP file (built with OCP)."""

from __future__ import annotations

import argparse
from pathlib import Path

from ..cad.samples import SAMPLES


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("sample", help="write a sample STEP file (a ball bearing, a bracket, ...)")
    parser.add_argument("kind", choices=sorted(SAMPLES), help="which sample")
    parser.add_argument("-o", "--output", required=True, help="STEP file to write")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    path = SAMPLES[args.kind](Path(args.output))
    print(f"wrote {path} ({args.kind} sample, {path.stat().st_size} bytes)")
    return 0
