"""Renders the README's example images into docs/images/.

A still of the bearing (the `still` preset) and a turntable contact sheet (the `turntable`
preset with its frames kept, tiled with Pillow), a gallery of the sample fixtures, a preview
sheet of the built-in material library, and the colour chart beside flat swatches of its CAD
colours with the per-part figures of docs/rendering.md; all through the same runtime as
`hartomat render`.
Usage: .venv/bin/python scripts/make_example_images.py [--size 384] [--samples 32] [--frames 12]
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
IMAGES = ROOT / "docs" / "images"


def run_preset(step: Path, out: Path, preset: str, category: str = "", **changes: object) -> dict[str, list[str]]:
    """Run one preset with changed settings; the published files by role."""
    from engine.legacy.presets import PRESETS, LegacyPresetConfig, migrate_preset
    from engine.model.context import OrderLine
    from engine.runtime import RunOptions, run_workflow

    config = LegacyPresetConfig.model_validate({**PRESETS[preset].model_dump(), **changes})
    line = OrderLine(product=step.stem, step_path=str(step), output_type=preset, category=category)
    result = run_workflow(migrate_preset(config), line, RunOptions(out_dir=out, legacy_config=config))
    if not result.ok:
        raise SystemExit(f"{preset} failed: {result.error}")
    outputs: dict[str, list[str]] = {}
    for node in result.node_results.values():
        for ref in node.outputs:
            if ref.role:
                outputs.setdefault(ref.role, []).extend(ref.files or [ref.path or ""])
    return outputs


def gallery(folder: Path, size: int, samples: int) -> None:
    """The sample fixtures with the default look (the plain bearing with its category)."""
    from engine.cad.samples import SAMPLES

    shots = []
    for kind, category in (("bearing", ""), ("plain_bearing", "bearing"), ("colour_chart", ""),
                           ("bracket_plate", ""), ("nested", ""), ("single", "")):
        step = SAMPLES[kind](folder / f"{kind}.step")
        out = run_preset(step, folder / f"gallery_{kind}", "still", category, resolution_x=size, resolution_y=size,
                         samples=samples, thumbnail_sizes=[])
        shots.append(out["primary_render"][0])
    contact_sheet(shots, IMAGES / "gallery.png", columns=3, keep_order=True)


def material_sheet(folder: Path, size: int, samples: int) -> None:
    """Every built-in library material on the bracket sample (CAD colour #2a5db0)."""
    from engine.cad.samples import make_single_part_step
    from engine.legacy.presets import MaterialRule
    from engine.render.materials import LIBRARY

    step = make_single_part_step(folder / "bracket.step")
    shots = []
    for key in LIBRARY:
        out = run_preset(step, folder / f"material_{key}", "still", resolution_x=size, resolution_y=size,
                         samples=samples, thumbnail_sizes=[], material_rules=[MaterialRule(material=key)])
        shots.append(out["primary_render"][0])
    contact_sheet(shots, IMAGES / "materials.png", columns=6, keep_order=True, labels=list(LIBRARY))


def contact_sheet(frames: list[str], target: Path, columns: int = 4, keep_order: bool = False,
                  labels: list[str] | None = None) -> None:
    from PIL import Image, ImageDraw

    tiles = [Image.open(f).convert("RGB") for f in (frames if keep_order else sorted(frames))]
    for tile, label in zip(tiles, labels or [], strict=False):
        ImageDraw.Draw(tile).text((4, tile.height - 14), label, fill=(20, 20, 20))
    width, height = tiles[0].size
    rows = -(-len(tiles) // columns)
    sheet = Image.new("RGB", (columns * width, rows * height), (255, 255, 255))
    for index, tile in enumerate(tiles):
        sheet.paste(tile, ((index % columns) * width, (index // columns) * height))
    sheet.save(target, optimize=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=384)
    parser.add_argument("--samples", type=int, default=32)
    parser.add_argument("--frames", type=int, default=12)
    args = parser.parse_args()
    from engine.cad.samples import make_bearing_step

    IMAGES.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        step = make_bearing_step(Path(tmp) / "bearing.step")
        still = run_preset(step, Path(tmp) / "still", "still", resolution_x=args.size, resolution_y=args.size,
                           samples=args.samples, thumbnail_sizes=[])
        shutil.copy(still["primary_render"][0], IMAGES / "bearing_still.png")
        tile = max(64, args.size // 3 // 2 * 2)
        turntable = run_preset(step, Path(tmp) / "turntable", "turntable", resolution_x=tile, resolution_y=tile,
                               samples=max(8, args.samples // 2), frame_count=args.frames, keep_frames=True)
        contact_sheet(turntable["turntable_frames"], IMAGES / "bearing_turntable_sheet.png")
        gallery(Path(tmp), tile, args.samples)
        material_sheet(Path(tmp), max(96, tile * 3 // 4), max(16, args.samples // 2))
    print(f"wrote {IMAGES / 'bearing_still.png'}, {IMAGES / 'bearing_turntable_sheet.png'}, "
          f"{IMAGES / 'gallery.png'} and {IMAGES / 'materials.png'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
