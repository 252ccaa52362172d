"""The check a person makes before a render reaches a catalogue: the product is in the frame (not
an empty or blank image) and not near-black unless its CAD colours are dark.

Run by output_save on what it publishes: a still, each view of a multi-angle set (first, middle,
last), a turntable's first, middle and last frame (the render node keeps those three for it). The
measures are cheap on purpose (one read of the PNG, a few numpy reductions): the check must cost
a small share of the render it checks (bench/publish_check.py).
- coverage: the share of pixels that are not background. The background of each row is the
  median colour of its outer columns (a studio sweep, a world colour), compared after a 3x3 blur;
  a pixel must differ from it by more than the backdrop's own grain (3 sigma) and 24/255. With
  alpha, the background is the transparent pixels. Under MIN_COVERAGE the product is not in the frame (a blank or empty image).
- product luminance: the median luminance (sRGB, 0..1) of the product's pixels; under
  MIN_LUMINANCE the product shows black (missing lights, inverted normals), unless every CAD
  colour of the product is itself dark (a black anodised part is allowed to look black).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

MIN_COVERAGE = 0.002  # 0.2% of the frame: a 64x64 image needs about 8 pixels of product
MIN_LUMINANCE = 0.06  # median product luminance; a dark-grey CAD colour renders at ~0.15
DARK_CAD_COLOUR = 0.2  # sRGB luminance under which a CAD colour counts as dark (#333333)
BACKGROUND_STEP = 24 / 255  # a pixel differs from the background by more than this in a channel,
NOISE_SIGMA, NOISE_MARGIN = 1.4826, 3.0  # or by 3 sigma of the backdrop's grain (from its median deviation)
EDGE_SHARE = 16  # each row's backdrop: its outer 1/16 of columns on either side


@dataclass(frozen=True)
class Problem:
    """One failed measure of one frame, worded for the run record."""

    output: str
    frame: str
    measure: str
    value: float
    threshold: float
    why: str

    def message(self) -> str:
        return (f"publish check: {self.output} ({self.frame}): {self.measure} {self.value:.4f} is under the "
                f"threshold {self.threshold:g}: {self.why}")


def luminance(rgb: Any) -> Any:
    """Rec. 709 weights on sRGB values in 0..1 (what a person judges brightness by, roughly)."""
    return rgb[..., 0] * 0.2126 + rgb[..., 1] * 0.7152 + rgb[..., 2] * 0.0722


def _blurred(rgb: Any) -> Any:
    """A 3x3 box blur: a few-sample render's grain averages out, the product stays."""
    import numpy as np

    padded = np.pad(rgb, ((1, 1), (1, 1), (0, 0)), mode="edge")
    height, width = rgb.shape[:2]
    return sum(padded[i:i + height, j:j + width] for i in range(3) for j in range(3)) / 9.0


def measure(pixels: Any) -> dict[str, float]:
    """Coverage and product luminance of uint8 H x W x 3|4 pixels."""
    import numpy as np

    rgb = pixels[..., :3].astype(np.float32) / 255.0
    if pixels.shape[-1] == 4:
        product = pixels[..., 3] > 127
    else:  # each row's backdrop colour from its outer columns (a studio sweep darkens downwards)
        smooth = _blurred(rgb)
        edge = max(2, smooth.shape[1] // EDGE_SHARE)
        edges = np.concatenate([smooth[:, :edge], smooth[:, -edge:]], axis=1)
        background = np.median(edges, axis=1)[:, None, :]
        noise = NOISE_SIGMA * float(np.median(np.abs(edges - background).max(axis=-1)))
        step = max(BACKGROUND_STEP, NOISE_MARGIN * noise)
        product = np.abs(smooth - background).max(axis=-1) > step
    light = luminance(rgb)
    return {"coverage": float(product.mean()),
            "product_luminance": float(np.median(light[product])) if product.any() else float(np.median(light))}


def check_frame(path: Path, output: str, frame: str, dark_ok: bool) -> list[Problem]:
    """The problems of one image file (none when it passes)."""
    from .imaging import read_pixels

    try:
        pixels = read_pixels(path)
    except (OSError, ValueError) as exc:
        return [Problem(output, frame, "readable", 0.0, 1.0, f"cannot read {path}: {exc}")]
    found = measure(pixels)
    if found["coverage"] < MIN_COVERAGE:
        return [Problem(output, frame, "coverage", found["coverage"], MIN_COVERAGE,
                        "the product is not in the frame (blank or empty image)")]
    if found["product_luminance"] < MIN_LUMINANCE and not dark_ok:
        return [Problem(output, frame, "product_luminance", found["product_luminance"], MIN_LUMINANCE,
                        "the product renders near-black though its CAD colours are not dark")]
    return []


def _first_middle_last(files: list[str]) -> list[tuple[str, Path]]:
    ordered = sorted(files, key=lambda f: Path(f).name)
    picks = sorted({0, len(ordered) // 2, len(ordered) - 1}) if ordered else []
    labels = {0: "first frame", len(ordered) - 1: "last frame"}
    return [(labels.get(i, "middle frame"), Path(ordered[i])) for i in picks]


def frames_to_check(kind: str, path: str | None, files: list[str], data: dict[str, Any]) -> list[tuple[str, Path]]:
    """(label, file) of the frames worth checking in one published artifact: the image itself;
    the first, middle and last of an image set; the three frames a turntable video kept."""
    if kind == "image" and path:
        return [("image", Path(path))]
    if kind == "image_set":
        return _first_middle_last(files)
    if kind == "video":
        return [(label, Path(p)) for label, p in (data.get("check_frames") or {}).items()]
    return []


def dark_cad_colours(colours: list[str | None]) -> bool:
    """Whether every CAD colour given is dark (no colours: not dark, the check applies)."""
    known = [c for c in colours if c]
    if not known:
        return False
    return all(float(luminance(_srgb(c))) < DARK_CAD_COLOUR for c in known)


def _srgb(colour: str) -> Any:
    import numpy as np

    value = colour.lstrip("#")
    return np.array([int(value[i:i + 2], 16) / 255.0 for i in (0, 2, 4)], dtype=np.float32)


def keep_check_frames(paths: list[Path], folder: Path) -> dict[str, str]:
    """Copies of a frame sequence's first, middle and last frame in `folder` (the sequence itself
    may be deleted after encoding), for the check at publishing."""
    import shutil

    folder.mkdir(parents=True, exist_ok=True)
    return {label: str(shutil.copyfile(path, folder / f"{label.split()[0]}{path.suffix}"))
            for label, path in _first_middle_last([str(p) for p in paths])}
