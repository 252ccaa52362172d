"""The comparison report as one self-contained HTML page: verdicts, metrics, notes, and the
reference, candidate and diff images side by side (embedded as base64 so the page travels alone).
"""

from __future__ import annotations

import base64
import html
import io
import json
import os
from pathlib import Path
from typing import Any

from .model import ComparisonResult

EMBED_LIMIT = 8 * 1024 * 1024  # larger pictures are linked by relative path instead
COLOURS = {"identical": "#2e7d32", "similar": "#b26a00", "different": "#c62828"}
STYLE = """body{font:14px system-ui,sans-serif;margin:2em;color:#222}
.verdict{font-weight:bold;padding:.1em .5em;border-radius:4px;color:#fff}
figure{display:inline-block;margin:0 1em 1em 0;vertical-align:top}
figure img{width:320px;height:auto;image-rendering:pixelated;border:1px solid #ccc}
table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #ddd;padding:2px 8px;text-align:left}
section{border-top:1px solid #ccc;padding-top:.5em;margin-top:1em}"""


def _image_src(path: str, page: Path) -> str:
    """A data: URI of the picture (PNG for formats browsers may not show), or a relative link."""
    file = Path(path)
    if file.stat().st_size > EMBED_LIMIT:
        return html.escape(os.path.relpath(file, page.parent))
    if file.suffix.lower() in (".png", ".jpg", ".jpeg", ".webp"):
        mime = "jpeg" if file.suffix.lower() in (".jpg", ".jpeg") else file.suffix.lower()[1:]
        return f"data:image/{mime};base64," + base64.b64encode(file.read_bytes()).decode()
    from PIL import Image

    buffer = io.BytesIO()
    with Image.open(file) as image:
        image.save(buffer, "PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()


def _verdict(verdict: str) -> str:
    return f'<span class="verdict" style="background:{COLOURS.get(verdict, "#555")}">{html.escape(verdict)}</span>'


def _metrics_table(metrics: dict[str, Any]) -> str:
    rows = []
    for key, value in metrics.items():
        if isinstance(value, float):
            text = f"{value:.6g}"
        else:
            text = json.dumps(value, default=str)
            text = text if len(text) <= 300 else text[:297] + "..."
        rows.append(f"<tr><th>{html.escape(key)}</th><td>{html.escape(text)}</td></tr>")
    return f"<table>{''.join(rows)}</table>"


def _figures(images: dict[str, str], page: Path) -> str:
    labels = {"a": "A (reference)", "b": "B (candidate)", "diff": "difference"}
    figures = [f'<figure><img alt="{key}: {html.escape(Path(path).name)}" src="{_image_src(path, page)}">'
               f"<figcaption>{labels.get(key, key)}: {html.escape(Path(path).name)}</figcaption></figure>"
               for key, path in images.items() if Path(path).is_file()]
    return f"<div>{''.join(figures)}</div>" if figures else ""


def _comparison_html(title: str, item: dict[str, Any], page: Path) -> str:
    notes = "".join(f"<li>{html.escape(n)}</li>" for n in item.get("notes", []))
    return (f"<section><h2>{html.escape(title)} {_verdict(item['verdict'])}</h2>"
            f"<p>{html.escape(item.get('a', ''))} vs {html.escape(item.get('b', ''))} "
            f"({html.escape(item.get('kind', ''))})</p>"
            f"{_figures(item.get('images', {}), page)}<ul>{notes}</ul>"
            f"{_metrics_table(item.get('metrics', {}))}</section>")


def write_html_report(report: ComparisonResult | dict[str, Any], path: str | Path,
                      title: str = "HartOMat comparison") -> Path:
    """Write the page for one comparison (a ComparisonResult) or for a compare_output_sets report."""
    page = Path(path)
    if isinstance(report, ComparisonResult):
        body = _comparison_html(Path(report.a).name, report.model_dump(mode="json"), page)
        verdict = report.verdict
    else:
        verdict = report["verdict"]
        parts = [f"<p>missing roles: {html.escape(', '.join(report['missing_roles']) or 'none')}; "
                 f"extra roles: {html.escape(', '.join(report['extra_roles']) or 'none')}</p>"]
        for role, entry in report["roles"].items():
            parts += [_comparison_html(f"{role} · {Path(item['a']).name}", item, page) for item in entry["items"]]
        body = "".join(parts)
    page.parent.mkdir(parents=True, exist_ok=True)
    page.write_text(f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
                    f"<style>{STYLE}</style></head><body><h1>{html.escape(title)} {_verdict(verdict)}</h1>"
                    f"{body}</body></html>\n")
    return page
