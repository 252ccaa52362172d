"""`hartomat render PART.step --preset still`: one STEP file in, finished media out, no server.

Runs the preset's workflow (the legacy config migrated to a DAG) in-process through the
runtime, shows each node's progress on stderr, and leaves the outputs and `run.json` in OUT.
Blender writes render chatter to the process's stdout; it is sent to stderr while the run lasts
so that `--json` prints nothing but the run summary.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from ..errors import HartomatError
from ..model.vocabulary import Mode, NodeStatus, Preset


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("render", help="render a STEP file with a preset (no server needed)")
    parser.add_argument("step", help="the product's STEP file")
    parser.add_argument("--preset", choices=[p.value for p in Preset], default=Preset.STILL, help="output type (default: still)")
    parser.add_argument("-o", "--out", default="", help="output folder (default: ./hartomat-out/<part>-<preset>)")
    parser.add_argument("--mode", choices=[m.value for m in Mode], default=Mode.GRAPH)
    parser.add_argument("--resolution", type=int, help="image width and height in pixels")
    parser.add_argument("--samples", type=int, help="Cycles samples per pixel")
    parser.add_argument("--engine", choices=("CYCLES", "WORKBENCH"), help="render engine")
    parser.add_argument("--frames", type=int, help="turntable frame count")
    parser.add_argument("--transparent", action="store_true", help="transparent background (PNG with alpha)")
    parser.add_argument("--category", default="", help="product category of the order line, e.g. bearing "
                                                        "(selects category material rules and templates)")
    parser.add_argument("--set", dest="sets", action="append", default=[], metavar="NODE.FIELD=VALUE",
                        help="override a node setting as in `hartomat run` (node id or step key; VALUE is JSON "
                             "or text), e.g. still.view=fixed or material_rules.material_library=LIB.blend")
    parser.add_argument("--no-cache", action="store_true", help="run every node even if a cached result exists")
    parser.add_argument("--cache-dir", default=None, help="node cache folder (default: the runtime's)")
    parser.add_argument("--json", action="store_true", help="print the run summary (run.json) on stdout")
    parser.set_defaults(func=run)


def preset_config(args: argparse.Namespace) -> Any:
    """The legacy preset with the command-line changes, validated (bounds as in the settings)."""
    from ..legacy.presets import PRESETS, LegacyPresetConfig

    changes: dict[str, Any] = {}
    if args.resolution is not None:
        changes.update(resolution_x=args.resolution, resolution_y=args.resolution)
    if args.samples is not None:
        changes["samples"] = args.samples
    if args.engine:
        changes["engine"] = args.engine
    if args.frames is not None:
        changes["frame_count"] = args.frames
    if args.transparent:
        changes["transparent"] = True
    try:
        return LegacyPresetConfig.model_validate({**PRESETS[args.preset].model_dump(), **changes})
    except ValidationError as exc:
        problems = "; ".join(f"--{'-'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors())
        raise HartomatError(f"bad option: {problems}") from None


class ProgressPrinter:
    """One stderr line per node status change, and running messages at most once a second."""

    def __init__(self, stream: Any) -> None:
        self.stream = stream
        self.started = time.monotonic()
        self.last_message: dict[str, float] = {}

    def __call__(self, event: Any) -> None:
        now = time.monotonic()
        if event.status == NodeStatus.RUNNING:
            if not event.message or now - self.last_message.get(event.node_id, 0.0) < 1.0:
                return
            self.last_message[event.node_id] = now
            text = f"{event.fraction:4.0%} {event.message}"
        else:
            text = event.status + (f": {event.message}" if event.message else "")
        print(f"[{now - self.started:6.1f}s] {event.node_id:<14} {text}", file=self.stream, flush=True)


@contextlib.contextmanager
def stdout_to_stderr() -> Iterator[None]:
    """Point file descriptor 1 at stderr while Blender renders (its C code prints there)."""
    sys.stdout.flush()
    saved = os.dup(1)
    os.dup2(2, 1)
    try:
        yield
    finally:
        sys.stdout.flush()
        os.dup2(saved, 1)
        os.close(saved)


def _report(result: Any, out_dir: Path) -> None:
    for asset in result.published:
        print(f"{asset.role:<18} {asset.path}")
    print(f"run {result.run_id}: {result.status}" + (" (graph failed, legacy fallback)" if result.fell_back else "")
          + f"; summary in {out_dir / 'run.json'}")


def run(args: argparse.Namespace) -> int:
    from ..legacy.presets import migrate_preset
    from ..model.context import OrderLine
    from ..runtime import RunOptions, run_workflow
    from .cmd_run import parse_sets

    step = Path(args.step).resolve()
    if not step.is_file():
        raise HartomatError(f"{args.step}: no such STEP file")
    config = preset_config(args)
    out_dir = Path(args.out or Path("hartomat-out") / f"{step.stem}-{args.preset}").resolve()
    line = OrderLine(product=step.stem, step_path=str(step), output_type=args.preset, category=args.category)
    options = RunOptions(out_dir=out_dir, mode=args.mode, use_cache=not args.no_cache, legacy_config=config,
                         overrides=parse_sets(args.sets),
                         cache_dir=Path(args.cache_dir) if args.cache_dir else None,
                         progress=ProgressPrinter(sys.stderr))
    with stdout_to_stderr():
        result = run_workflow(migrate_preset(config), line, options)
        summary = result.summary()
    if args.json:
        print(json.dumps(summary, indent=2, default=str))
    else:
        _report(result, out_dir)
    if not result.ok:
        print(f"hartomat render: run {result.status}: {result.error or 'see run.json'}", file=sys.stderr)
        return 1
    return 0
