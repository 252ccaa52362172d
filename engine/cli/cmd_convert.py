"""`hartomat convert PART.step -o PART.glb`: the CAD half of the pipeline as one command.

It runs the bundled graph engine/graphs/cad_convert.json through the runtime (so the run is
recorded and cached like any other), then copies the GLB out and prints the parts it found.
With several STEP files, `-o` is a folder that gets one folder per file (OUT/NAME/NAME.glb),
all converted in this one process (engine/cli/batch.py).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
from pathlib import Path
from typing import Any

from ..errors import HartomatError
from ..model.vocabulary import NodeStatus

GRAPH = Path(__file__).resolve().parent.parent / "graphs" / "cad_convert.json"


def register(sub: argparse._SubParsersAction) -> None:
    from ..model.registry import REGISTRY

    defaults = REGISTRY.get("occ_glb_export").default_settings()
    parser = sub.add_parser("convert", help="convert a STEP file to GLB (names, colours, instances kept)")
    parser.add_argument("steps", nargs="+", metavar="step", help="STEP file(s) (.step/.stp)")
    parser.add_argument("-o", "--output", required=True,
                        help="GLB file to write; with several STEP files, a folder: OUT/NAME/NAME.glb per file")
    parser.add_argument("--linear-deflection", type=float, help=f"chordal deviation in mm (default {defaults['linear_deflection']})")
    parser.add_argument("--angular-deflection", type=float, help=f"angular deviation in radians (default {defaults['angular_deflection']})")
    parser.add_argument("--codepage", help="code page of names written as raw 8-bit bytes (default auto: "
                                           "detected from the file's strings), e.g. cp1251, cp1252, shift_jis")
    parser.add_argument("--json", action="store_true", help="print the parts, bbox and GLB as JSON")
    parser.add_argument("--work-dir", help="folder for the run records and the node cache; default: runs "
                                           "under ~/.cache/hartomat/convert, nodes in the shared cache "
                                           "($HARTOMAT_CACHE, default ~/.cache/hartomat)")
    parser.add_argument("--no-cache", action="store_true", help="do not reuse cached node results")
    parser.add_argument("--isolate", action="store_true",
                        help="run the OpenCascade nodes in worker processes (slower start; a crash in OCCT "
                             "cannot take this command down)")
    parser.set_defaults(func=run)


def default_work_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "hartomat" / "convert"


def _overrides(args: argparse.Namespace) -> dict[str, dict[str, Any]]:
    tessellation = {"linear_deflection": args.linear_deflection, "angular_deflection": args.angular_deflection}
    chosen = {k: v for k, v in tessellation.items() if v is not None}
    overrides = {"glb_export": chosen} if chosen else {}
    if args.codepage:
        overrides.setdefault("glb_export", {})["codepage"] = args.codepage
        overrides["extract"] = {"codepage": args.codepage}
    return overrides


def _output(result: Any, node: str, port: str) -> Any:
    for ref in result.node_results[node].outputs:
        if ref.port == port:
            return ref
    raise HartomatError(f"node '{node}' gave no '{port}' output")


def _failure(result: Any) -> str:
    for node in result.node_results.values():
        if node.error:
            return f"{node.node_id} ({node.step}): {node.error.get('message')}"
    return result.error or f"run {result.status}"


def convert(step: Path, output: Path, work_dir: Path | None, overrides: dict[str, dict[str, Any]],
            use_cache: bool = True, isolate: bool = False) -> dict[str, Any]:
    """Run the bundled CAD graph on `step`, copy the GLB to `output`; returns the report.

    One-shot, so by default every node runs in this process (max_workers=0): spawning workers
    would import OCP again in each and read the STEP file twice."""
    from ..model.context import OrderLine
    from ..model.workflow import load_workflow
    from ..runtime import RunOptions, run_workflow

    if not step.is_file():
        raise HartomatError(f"STEP file not found: {step}")
    line = OrderLine(id=step.stem, product=step.stem, step_path=str(step.resolve()), output_type="cad_convert")
    runs = (work_dir or default_work_dir()) / "runs" / step.stem
    result = run_workflow(load_workflow(GRAPH), line, RunOptions(
        out_dir=runs, cache_dir=work_dir / "cache" if work_dir else None, use_cache=use_cache,
        overrides=overrides, fallback=False, max_workers=None if isolate else 0))
    if not result.ok:
        raise HartomatError(_failure(result))
    glb, parts, bbox = _output(result, "glb_export", "glb"), _output(result, "extract", "cad_parts"), \
        _output(result, "bbox", "bbox")
    output.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(glb.path, output)
    cached = sorted(n.node_id for n in result.node_results.values() if n.status == NodeStatus.CACHED)
    return {"step": str(step), "glb": str(output), "run_id": result.run_id, "cached_nodes": cached,
            "length_unit": parts.data["length_unit"], "instance_total": parts.data["instance_total"],
            **{k: parts.data.get(k) for k in ("codepage", "warnings", "content", "annotations", "name_fallbacks",
                                               "detected_category")},
            "parts": [{k: p.get(k) for k in ("key", "name", "name_source", "colour", "instances", "bbox_mm",
                                             "geometry", "layers")}
                      for p in parts.data["parts"]],
            "bbox_m": {k: bbox.data[k] for k in ("min", "max", "size", "center", "diagonal")},
            "glb_nodes": glb.data.get("nodes"), "glb_meshes": glb.data.get("meshes")}


def _mm(values: list[float]) -> str:
    return " x ".join(f"{v:.3f}" for v in values)


def print_report(report: dict[str, Any]) -> None:
    codepage = report.get("codepage") or {}
    print(f"{report['step']}: {len(report['parts'])} parts, {report['instance_total']} instances, "
          f"file unit {report['length_unit']}, names in {codepage.get('name', '?')} ({codepage.get('how', '?')})")
    for warning in report.get("warnings") or []:
        print(f"warning: {warning}")
    width = max(len(p["name"]) for p in report["parts"])
    for part in report["parts"]:
        box = part["bbox_mm"]
        size = [hi - lo for lo, hi in zip(box["min"], box["max"], strict=True)] if box else [0.0] * 3
        print(f"  {part['name']:<{width}}  {part['colour'] or '-':<7}  x{part['instances']:<4} "
              f"bbox {_mm(size)} mm")
    for fallback in report.get("name_fallbacks") or []:
        print(f"  note: '{fallback['name']}' is named after its {fallback['source']}, not a product")
    if report.get("annotations"):
        print(f"  left out (no faces: PMI, annotation curves, points): {', '.join(report['annotations'])}")
    print(f"wrote {report['glb']} ({report['glb_nodes']} nodes, {report['glb_meshes']} meshes), "
          f"size {_mm([s * 1000 for s in report['bbox_m']['size']])} mm")


def run(args: argparse.Namespace) -> int:
    work_dir = Path(args.work_dir) if args.work_dir else None
    steps = [Path(step) for step in args.steps]
    if len(steps) > 1:
        return _run_batch(args, steps, work_dir)
    report = convert(steps[0], Path(args.output), work_dir, _overrides(args), not args.no_cache, args.isolate)
    if args.json:
        print(json.dumps(report, indent=1))
    else:
        print_report(report)
    return 0


def _run_batch(args: argparse.Namespace, steps: list[Path], work_dir: Path | None) -> int:
    """Every file into OUT/NAME/NAME.glb; stdout gets each file's report (or the list as JSON)."""
    from .batch import exit_status, run_batch

    out = Path(args.output)
    overrides = _overrides(args)
    reports: dict[str, dict[str, Any]] = {}

    def each(step: Path, name: str) -> str:
        report = convert(step, out / name / f"{name}.glb", work_dir, overrides, not args.no_cache, args.isolate)
        reports[str(step)] = report
        if not args.json:
            print_report(report)
        return f"{len(report['parts'])} parts -> {report['glb']}"

    records = run_batch(steps, each, "convert")
    if args.json:
        print(json.dumps([{**r, "report": reports.get(r["step"])} for r in records], indent=1))
    return exit_status(records)
