"""`hartomat render PART.step --preset still`: one STEP file in, finished media out, no server.

Runs the preset's workflow (the legacy config migrated to a DAG) in-process through the
runtime; the render options (--resolution, --samples, ...) are overrides of its nodes, applied
like `hartomat run --set` (a --set wins over an option). Only --mode legacy and shadow read the
legacy config, with the options applied to it too. Each node's progress goes to stderr; the
outputs and `run.json` stay in OUT.
Blender writes render chatter to the process's stdout; it is sent to stderr while the run lasts
so that `--json` prints nothing but the run summary.
Several STEP files render in this one process, one output folder each (OUT/NAME, default
./hartomat-out/NAME-PRESET), the CAD nodes in one set of warm processes for the whole batch;
a file that fails does not stop the others, and the exit status counts the failures.
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

from ..errors import HartomatError
from ..model.vocabulary import Mode, NodeStatus, Preset


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("render", help="render a STEP file with a preset (no server needed)")
    parser.add_argument("steps", nargs="+", metavar="step", help="the product's STEP file (several: one run each)")
    parser.add_argument("--preset", choices=[p.value for p in Preset], default=Preset.STILL, help="output type (default: still)")
    parser.add_argument("-o", "--out", default="", help="output folder (default: ./hartomat-out/<part>-<preset>); with several STEP "
                                                     "files, the folder that gets one folder per file")
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


# each render option -> the legacy settings it sets; LEGACY_SETTING_MAP says which node settings those are
OPTION_SETTINGS: dict[str, tuple[str, ...]] = {
    "resolution": ("resolution_x", "resolution_y"),
    "samples": ("samples",),
    "engine": ("engine",),
    "frames": ("frame_count",),
    "transparent": ("transparent",),
}


def option_changes(args: argparse.Namespace) -> dict[str, dict[str, Any]]:
    """The render options given on the command line: option -> {legacy setting: value}."""
    given = {option: getattr(args, option) for option in OPTION_SETTINGS}
    return {option: dict.fromkeys(OPTION_SETTINGS[option], value)
            for option, value in given.items() if value is not None and value is not False}


def render_overrides(args: argparse.Namespace) -> dict[str, dict[str, Any]]:
    """The render options as step-keyed overrides with the --set values on top (they win); each
    option is checked by the settings of every step it sets, whatever the preset, and a bad
    value names its option."""
    from ..legacy.presets import legacy_overrides
    from ..model.overrides import merge_overrides, parse_sets, step_override_problems
    from ..model.registry import REGISTRY

    merged: dict[str, dict[str, Any]] = {}
    problems = []
    for option, changes in option_changes(args).items():
        overrides = legacy_overrides(changes)
        refused = step_override_problems(REGISTRY, overrides)
        if refused:
            problems.append(f"--{option}: {refused[0]}")
        merged = merge_overrides(merged, overrides)
    if problems:
        raise HartomatError(f"bad option: {'; '.join(problems)}")
    return merge_overrides(merged, parse_sets(args.sets))


def preset_config(args: argparse.Namespace) -> Any:
    """The legacy preset with the render options applied: what --mode legacy and shadow run
    (the graph gets the same options as overrides). Call after render_overrides has checked
    them: the legacy bounds are the node settings' own, so they pass here too."""
    from ..legacy.presets import PRESETS, LegacyPresetConfig

    changes = {key: value for settings in option_changes(args).values() for key, value in settings.items()}
    return LegacyPresetConfig.model_validate({**PRESETS[args.preset].model_dump(), **changes})


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


def _render_one(args: argparse.Namespace, step: Path, out_dir: Path, overrides: dict[str, dict[str, Any]],
                config: Any, pool: Any) -> Any:
    from ..legacy.presets import preset_workflow
    from ..model.context import OrderLine
    from ..runtime import RunOptions, run_workflow

    if not step.is_file():
        raise HartomatError(f"{step}: no such STEP file")
    line = OrderLine(product=step.stem, step_path=str(step), output_type=args.preset, category=args.category)
    options = RunOptions(out_dir=out_dir, mode=args.mode, use_cache=not args.no_cache, legacy_config=config,
                         overrides=overrides,
                         cache_dir=Path(args.cache_dir) if args.cache_dir else None,
                         progress=ProgressPrinter(sys.stderr), pool=pool)
    with stdout_to_stderr():
        return run_workflow(preset_workflow(args.preset), line, options)


@contextlib.contextmanager
def _cad_processes() -> Iterator[Any]:
    """The CAD nodes' processes, shared by every file of the command (OCP imported once)."""
    from ..runtime.process_pool import ProcessPool

    pool = ProcessPool(min(4, os.cpu_count() or 1))
    try:
        yield pool
    finally:
        pool.close()


def run(args: argparse.Namespace) -> int:
    steps = [Path(step).resolve() for step in args.steps]
    overrides = render_overrides(args)
    config = preset_config(args) if args.mode in (Mode.LEGACY, Mode.SHADOW) else None
    if len(steps) > 1:
        return _run_batch(args, steps, overrides, config)
    step = steps[0]
    if not step.is_file():
        raise HartomatError(f"{args.steps[0]}: no such STEP file")
    out_dir = Path(args.out or Path("hartomat-out") / f"{step.stem}-{args.preset}").resolve()
    with _cad_processes() as pool:
        result = _render_one(args, step, out_dir, overrides, config, pool)
    if args.json:
        print(json.dumps(result.summary(), indent=2, default=str))
    else:
        _report(result, out_dir)
    if not result.ok:
        print(f"hartomat render: run {result.status}: {result.error or 'see run.json'}", file=sys.stderr)
        return 1
    return 0


def _run_batch(args: argparse.Namespace, steps: list[Path], overrides: dict[str, dict[str, Any]],
               config: Any) -> int:
    from .batch import exit_status, run_batch

    summaries: dict[str, dict[str, Any]] = {}
    with _cad_processes() as pool:
        def each(step: Path, name: str) -> str:
            out_dir = (Path(args.out) / name if args.out else Path("hartomat-out") / f"{name}-{args.preset}").resolve()
            result = _render_one(args, step, out_dir, overrides, config, pool)
            summaries[str(step)] = result.summary()
            if not args.json:
                _report(result, out_dir)
            if not result.ok:
                raise HartomatError(f"run {result.status}: {result.error or 'see ' + str(out_dir / 'run.json')}")
            return f"{len(result.published)} asset(s) in {out_dir}"

        records = run_batch(steps, each, "render")
    if args.json:
        print(json.dumps([{**r, "summary": summaries.get(r["step"])} for r in records], indent=2, default=str))
    return exit_status(records)
