"""Golden cases: the four presets on the fixture STEP files, run tiny, reduced to small references
in tests/golden/<case>/, and compared with fresh runs by engine.compare.

    .venv/bin/python scripts/update_golden.py [CASE ...]          # refresh references on purpose
    .venv/bin/python scripts/update_golden.py --check [CASE ...]  # compare fresh runs, exit 1 on drift

References are made by the legacy pipeline (the authoritative path); tests/test_golden.py checks
both the legacy and the graph run of each case against them, so a passing pair also proves the
graph does what the legacy pipeline did. Outputs are reduced before storing and comparing: images
to at most 64 px, videos kept (a few frames of 64 px), .blend / GLB / STL sets / viewer pages to
JSON summaries.
"""

from __future__ import annotations

import argparse
import base64
import json
import re
import shutil
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from engine.model.vocabulary import Mode

ROOT = Path(__file__).resolve().parents[1]
GOLDEN_DIR = ROOT / "tests" / "golden"
MAX_EDGE = 64
TINY = {"resolution_x": 64, "resolution_y": 64, "samples": 4, "frame_count": 4, "fps": 4, "denoise": False}


@dataclass(frozen=True)
class GoldenCase:
    """One preset on one fixture STEP file, with the tiny settings it runs at."""

    name: str
    preset: str
    fixture: str
    updates: dict[str, Any] = field(default_factory=dict)

    def config(self, extra: dict[str, Any] | None = None) -> Any:
        from engine.legacy.presets import PRESETS

        base = PRESETS[self.preset]
        thumbs = {"thumbnail_sizes": [32]} if base.thumbnail_sizes else {}
        return type(base).model_validate({**base.model_dump(), **TINY, **thumbs, **self.updates, **(extra or {})})


CASES = {case.name: case for case in (
    GoldenCase("still_bearing", "still", "bearing"),
    GoldenCase("turntable_bearing", "turntable", "bearing"),
    GoldenCase("multi_angle_nested", "multi_angle", "nested"),
    GoldenCase("still_with_exports_single_part", "still_with_exports", "single_part"),
)}


def fixture_builders() -> dict[str, Callable[[Path], Path]]:
    from engine.cad import samples

    return {"bearing": samples.make_bearing_step, "nested": samples.make_nested_assembly_step,
            "single_part": samples.make_single_part_step}


def make_fixture(name: str, folder: Path) -> Path:
    path = folder / f"{name}.step"
    if not path.is_file():
        fixture_builders()[name](path)
    return path


# ---- running a case ----------------------------------------------------------------------------

class GoldenRunError(Exception):
    """The case did not run to the end; the message names the case, mode and node."""


def run_case(case: GoldenCase, step: Path, out_dir: Path, mode: str = Mode.LEGACY,
             extra: dict[str, Any] | None = None) -> list[Any]:
    """Runs the case in `mode` (graph without legacy fallback) and returns its published assets."""
    from engine.legacy.presets import migrate_preset
    from engine.model.context import OrderLine
    from engine.runtime import RunOptions, run_workflow

    config = case.config(extra)
    line = OrderLine(id=case.name, product=step.stem, step_path=str(step), output_type=case.preset)
    options = RunOptions(out_dir=out_dir, mode=mode, use_cache=False, legacy_config=config, fallback=False)
    result = run_workflow(migrate_preset(config), line, options)
    if result.status != "succeeded" or result.fell_back:
        raise GoldenRunError(f"golden case {case.name} ({mode}): run {result.status}: "
                             f"{result.summary().get('error')}")
    return list(result.published)


# ---- reducing outputs to small references -------------------------------------------------------

def _stable_name(path: Path) -> str:
    """The publisher adds -<sha8> when a name is taken; references need the plain name."""
    return re.sub(r"-[0-9a-f]{8}(?=\.[^.]+$)", "", path.name)


def _reduce_image(source: Path, target: Path) -> Path:
    from PIL import Image

    with Image.open(source) as image:
        image.load()
        small = image.copy()
    small.thumbnail((MAX_EDGE, MAX_EDGE))
    target = target.with_suffix(".png")
    small.save(target)
    return target


def _write_json(target: Path, summary: dict[str, Any]) -> Path:
    target = target.with_suffix(".json")
    target.write_text(json.dumps(summary, indent=1, sort_keys=True) + "\n")
    return target


def _stl_triangles(path: Path) -> int:
    return max(0, (path.stat().st_size - 84) // 50)


def _viewer_summary(page: Path) -> dict[str, Any]:
    """What the viewer page shows: a summary of the GLB embedded in it."""
    from engine.compare.gltf import summarize_glb

    text = page.read_text(encoding="utf-8")
    found = re.search(r'id="hartomat-glb">([A-Za-z0-9+/=\s]*)<', text)
    if not found:
        return {"embedded_glb": None}
    with tempfile.TemporaryDirectory() as folder:
        glb = Path(folder) / "embedded.glb"
        glb.write_bytes(base64.b64decode(found.group(1)))
        return {"embedded_glb": summarize_glb(glb), "external_references": len(re.findall(r"<script[^>]+src=", text))}


def reduce_asset(asset: Any, folder: Path) -> list[Path]:
    """The small, comparable form of one published asset, written under `folder`."""
    from engine.compare.blend import summarize_blends
    from engine.compare.gltf import summarize_glb

    kind, path = asset.kind, Path(asset.path)
    folder.mkdir(parents=True, exist_ok=True)
    members = [Path(f) for f in asset.files]
    if kind in ("image", "image_set") and (members or path.is_file()):
        return [_reduce_image(m, folder / _stable_name(m)) for m in (members or [path])]
    if kind == "video":
        target = folder / _stable_name(path)
        shutil.copyfile(path, target)
        return [target]
    if kind == "blend_file":
        summary = summarize_blends([path])[0]
        return [_write_json(folder / _stable_name(path), {k: summary[k] for k in sorted(summary)})]
    if kind == "glb":
        return [_write_json(folder / _stable_name(path), summarize_glb(path))]
    if kind == "stl_set":
        return [_write_json(folder / "stl_set", {"triangles": {m.name: _stl_triangles(m) for m in sorted(members)}})]
    if kind == "html_viewer":
        return [_write_json(folder / _stable_name(path), _viewer_summary(path))]
    return [_write_json(folder / kind, {"kind": kind, "size": asset.size})]


def reduce_outputs(assets: list[Any], folder: Path) -> dict[str, list[Path]]:
    """Role -> reduced files of a run's published assets."""
    roles: dict[str, list[Path]] = {}
    for asset in assets:
        roles.setdefault(asset.role, []).extend(reduce_asset(asset, folder / asset.role))
    return roles


# ---- references and checks ----------------------------------------------------------------------

def store_reference(case: GoldenCase, reduced: dict[str, list[Path]], golden_dir: Path) -> Path:
    """Replaces the case's reference folder with `reduced` and its manifest."""
    target = golden_dir / case.name
    shutil.rmtree(target, ignore_errors=True)
    target.mkdir(parents=True)
    roles: dict[str, list[str]] = {}
    for role, files in sorted(reduced.items()):
        (target / role).mkdir()
        for source in files:
            shutil.copyfile(source, target / role / source.name)
            roles.setdefault(role, []).append(f"{role}/{source.name}")
    manifest = {"case": case.name, "preset": case.preset, "fixture": case.fixture,
                "settings": case.config().model_dump(mode="json", exclude_defaults=True),
                "made_by": "scripts/update_golden.py (legacy mode)", "roles": roles}
    (target / "manifest.json").write_text(json.dumps(manifest, indent=1, sort_keys=True) + "\n")
    return target


def load_reference(case: GoldenCase, golden_dir: Path) -> dict[str, list[Path]]:
    folder = golden_dir / case.name
    manifest_path = folder / "manifest.json"
    if not manifest_path.is_file():
        raise GoldenRunError(f"golden case {case.name}: no reference at {manifest_path}; "
                             "run scripts/update_golden.py")
    manifest = json.loads(manifest_path.read_text())
    return {role: [folder / f for f in files] for role, files in manifest["roles"].items()}


def compare_case(reference: dict[str, list[Path]], fresh: dict[str, list[Path]], report_dir: Path) -> dict[str, Any]:
    """engine.compare on the two reduced sets; the JSON and HTML reports go to `report_dir`."""
    from engine.compare import compare_output_sets, write_html_report

    report_dir.mkdir(parents=True, exist_ok=True)
    report = compare_output_sets(reference, fresh, diff_dir=report_dir / "diff")
    report["report_json"] = str(report_dir / "report.json")
    report["report_html"] = str(report_dir / "report.html")
    (report_dir / "report.json").write_text(json.dumps(report, indent=1, default=str))
    write_html_report(report, report_dir / "report.html")
    return report


def check_case(case: GoldenCase, step: Path, work_dir: Path, golden_dir: Path = GOLDEN_DIR, mode: str = Mode.LEGACY,
               extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """Runs the case fresh and compares it with its reference; returns the comparison report."""
    reference = load_reference(case, golden_dir)
    assets = run_case(case, step, work_dir / "run", mode, extra)
    fresh = reduce_outputs(assets, work_dir / "fresh")
    return compare_case(reference, fresh, work_dir / "report")


def update_case(case: GoldenCase, step: Path, work_dir: Path, golden_dir: Path = GOLDEN_DIR,
                extra: dict[str, Any] | None = None) -> Path:
    """Runs the case (legacy, authoritative) and stores its reduced outputs as the reference."""
    assets = run_case(case, step, work_dir / "run", Mode.LEGACY, extra)
    return store_reference(case, reduce_outputs(assets, work_dir / "reduced"), golden_dir)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="refresh or check the golden cases in tests/golden/")
    parser.add_argument("cases", nargs="*", help=f"cases (default: all): {', '.join(CASES)}")
    parser.add_argument("--check", action="store_true", help="compare fresh runs instead of updating")
    parser.add_argument("--mode", default=Mode.LEGACY, choices=[Mode.LEGACY.value, Mode.GRAPH.value],
                        help="mode of --check runs")
    parser.add_argument("--golden-dir", type=Path, default=GOLDEN_DIR)
    args = parser.parse_args(argv)
    unknown = [c for c in args.cases if c not in CASES]
    if unknown:
        parser.error(f"unknown case(s) {', '.join(unknown)}; cases: {', '.join(CASES)}")
    failed = 0
    with tempfile.TemporaryDirectory(prefix="hartomat-golden-") as tmp:
        work = Path(tmp)
        for name in args.cases or list(CASES):
            case = CASES[name]
            step = make_fixture(case.fixture, work)
            try:
                if args.check:
                    report = check_case(case, step, work / name, args.golden_dir, args.mode)
                    print(f"{name}: {report['verdict']} (worst {report['worst']})")
                    failed += not report["match"]
                else:
                    print(f"{name}: reference written to {update_case(case, step, work / name, args.golden_dir)}")
            except GoldenRunError as exc:
                print(exc, file=sys.stderr)
                failed += 1
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
