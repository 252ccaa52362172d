"""`hartomat compare A B`: are two outputs (files, or folders of outputs) the same?

Exit 0 when they match (identical or similar), 1 when they differ, 2 on bad input.
Two folders are compared file by file, each relative path taken as a role.
"""

import argparse
import json
from pathlib import Path
from typing import Any

from ..compare import KINDS, CompareInputError, compare_output_sets, compare_paths, write_html_report


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("compare", help="compare two outputs (images, videos, GLB, .blend, JSON) or folders")
    parser.add_argument("a", help="reference file or folder")
    parser.add_argument("b", help="candidate file or folder")
    parser.add_argument("--kind", help=f"force the comparison: {', '.join(KINDS)}")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    parser.add_argument("--html", metavar="OUT.html", help="write an HTML report with the images side by side")
    parser.add_argument("--thresholds", metavar="JSON", help='override thresholds, e.g. \'{"image_ssim_min": 0.98}\'')
    parser.set_defaults(func=run)


def _thresholds(text: str | None) -> dict[str, Any]:
    if not text:
        return {}
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise CompareInputError(f"--thresholds is not valid JSON: {exc}") from None
    if not isinstance(value, dict):
        raise CompareInputError("--thresholds must be a JSON object")
    return value


def _folder_outputs(folder: Path) -> dict[str, Any]:
    return {str(p.relative_to(folder)): p for p in sorted(folder.rglob("*")) if p.is_file()}


def _diff_dir(args: argparse.Namespace) -> Path | None:
    return Path(args.html).with_suffix("").with_name(Path(args.html).stem + "_files") if args.html else None


def run(args: argparse.Namespace) -> int:
    from pydantic import ValidationError

    a, b = Path(args.a), Path(args.b)
    try:
        thresholds = _thresholds(args.thresholds)
        if a.is_dir() and b.is_dir():
            report: Any = compare_output_sets(_folder_outputs(a), _folder_outputs(b), thresholds, _diff_dir(args))
            data, match = report, report["match"]
            lines = [f"{role}: {entry['verdict']} ({entry['headline']} {entry['score']:.4g})"
                     + "".join(f"\n  {note}" for note in entry["notes"][:5]) for role, entry in report["roles"].items()]
            lines += [f"{role}: missing from {b}" for role in report["missing_roles"]]
            lines += [f"{role}: only in {b}" for role in report["extra_roles"]]
            lines.append(f"overall: {report['verdict']}")
        else:
            report = compare_paths(a, b, kind=args.kind, thresholds=thresholds, diff_dir=_diff_dir(args))
            data, match = report.model_dump(mode="json"), report.match
            headline = {k: v for k, v in report.metrics.items() if isinstance(v, int | float)}
            lines = [f"{report.verdict} ({report.kind}): " + ", ".join(f"{k}={v:.4g}" for k, v in headline.items())]
            lines += [f"  {note}" for note in report.notes[:20]]
    except ValidationError as exc:
        raise CompareInputError(f"bad --thresholds: {exc.errors()[0]['loc']}: {exc.errors()[0]['msg']}") from None
    if args.html:
        write_html_report(report, args.html, title=f"{a.name} vs {b.name}")
    print(json.dumps(data, indent=2, default=str) if args.json else "\n".join(lines))
    return 0 if match else 1
