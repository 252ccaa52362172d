"""The colour chart of docs/rendering.md: the 12-block fixture rendered with the default still,
beside flat swatches of its CAD colours, and the per-part figures (median saturation and hue of
each part's own pixels, from an object-ID pass) as a Markdown table.
Usage: .venv/bin/python scripts/make_colour_chart.py [--size 384] [--samples 64]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]
IMAGES = ROOT / "docs" / "images"


def swatches(colours: list[str], size: int) -> object:
    from PIL import Image, ImageDraw

    sheet = Image.new("RGB", (size, size), (255, 255, 255))
    draw = ImageDraw.Draw(sheet)
    cell = size // 4
    for index, colour in enumerate(colours):
        x, y = (index % 4) * cell, (index // 4) * cell + cell // 2
        draw.rectangle((x + 6, y + 6, x + cell - 6, y + cell - 14), fill=colour, outline=(190, 190, 190))
        draw.text((x + 8, y + cell - 12), colour, fill=(40, 40, 40))
    return sheet


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=384)
    parser.add_argument("--samples", type=int, default=64)
    args = parser.parse_args()
    from colour_support import cad_hsv, hue_offset, measure, render_still
    from PIL import Image

    from engine.cad.samples import CHART_COLOURS, make_colour_chart_step

    with tempfile.TemporaryDirectory() as tmp:
        step = make_colour_chart_step(Path(tmp) / "colour_chart.step")
        measured = measure(render_still(step, Path(tmp) / "out", size=args.size, samples=args.samples))
        render = Image.open(measured.image).convert("RGB")
        sheet = Image.new("RGB", (2 * args.size, args.size), (255, 255, 255))
        sheet.paste(render, (0, 0))
        sheet.paste(swatches(list(CHART_COLOURS), args.size), (args.size, 0))  # type: ignore[arg-type]
        IMAGES.mkdir(parents=True, exist_ok=True)
        sheet.save(IMAGES / "colour_chart.png", optimize=True)
    print("| part | CAD colour | CAD S | rendered S | kept | CAD hue | hue error | V | clipped |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|")
    for key, part in sorted(measured.parts.items()):
        hue, saturation, _ = cad_hsv(part.cad_colour or "#808080")
        kept = f"{part.saturation / saturation:.2f}x" if saturation > 0.05 else "-"
        error = f"{abs(hue_offset(part.hue, hue)):.3f}" if saturation > 0.05 else "-"
        print(f"| {key} | `{part.cad_colour}` | {saturation:.2f} | {part.saturation:.2f} | {kept} | {hue:.3f} | "
              f"{error} | {part.value:.2f} | {part.clipped:.1%} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
