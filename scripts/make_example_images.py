"""Renders the README's example images of the bearing sample into docs/images/.

A still (the `still` preset) and a turntable contact sheet (the `turntable` preset with its
frames kept, tiled with Pillow), both through the same runtime as `hartomat render`.
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


def run_preset(step: Path, out: Path, preset: str, **changes: object) -> dict[str, list[str]]:
    """Run one preset with changed settings; the published files by role."""
    from engine.context import OrderLine
    from engine.presets import PRESETS, LegacyPresetConfig, migrate_preset
    from engine.runtime import RunOptions, run_workflow

    config = LegacyPresetConfig.model_validate({**PRESETS[preset].model_dump(), **changes})
    line = OrderLine(product="bearing", step_path=str(step), output_type=preset)
    result = run_workflow(migrate_preset(config), line, RunOptions(out_dir=out, legacy_config=config))
    if not result.ok:
        raise SystemExit(f"{preset} failed: {result.error}")
    outputs: dict[str, list[str]] = {}
    for node in result.node_results.values():
        for ref in node.outputs:
            if ref.role:
                outputs.setdefault(ref.role, []).extend(ref.files or [ref.path or ""])
    return outputs


def contact_sheet(frames: list[str], target: Path, columns: int = 4) -> None:
    from PIL import Image

    tiles = [Image.open(f).convert("RGB") for f in sorted(frames)]
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
    from engine.samples import make_bearing_step

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
    print(f"wrote {IMAGES / 'bearing_still.png'} and {IMAGES / 'bearing_turntable_sheet.png'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
