"""Image comparison: size, mean absolute error, PSNR and SSIM, plus a diff image.

SSIM follows Wang et al. (2004) with a 7x7 uniform window, K1=0.01, K2=0.03 and the sample
covariance, like scikit-image's default, computed per channel with integral images (O(pixels)).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np

from ..render.imaging import read_pixels, write_png
from .model import CompareInputError, ComparisonResult, Thresholds, Verdict, result

PSNR_CAP = 100.0  # identical images have infinite PSNR; JSON has no infinity
SSIM_WINDOW = 7


def load_image(path: Path) -> np.ndarray:
    """Pixels as uint8 H x W x C (RGB, or RGBA when the file has alpha); Pillow, or Blender's
    image API inside a Blender without it (engine.render.imaging)."""
    try:
        return np.asarray(read_pixels(path))
    except (OSError, ValueError) as exc:
        raise CompareInputError(f"{path}: not a readable image: {exc}") from None


def _box_mean(x: np.ndarray, win: int) -> np.ndarray:
    """Mean over every win x win window that fits (valid mode), from an integral image."""
    c = np.pad(x, ((1, 0), (1, 0))).cumsum(0).cumsum(1)
    return (c[win:, win:] - c[:-win, win:] - c[win:, :-win] + c[:-win, :-win]) / (win * win)


def ssim(a: np.ndarray, b: np.ndarray, data_range: float = 255.0) -> float:
    """Mean structural similarity of two equal-size images, averaged over channels."""
    a3 = a.reshape(a.shape[0], a.shape[1], -1).astype(np.float64)
    b3 = b.reshape(b.shape[0], b.shape[1], -1).astype(np.float64)
    win = min(SSIM_WINDOW, a3.shape[0], a3.shape[1])
    if win < 2:
        return 1.0 if np.array_equal(a3, b3) else 0.0
    c1, c2 = (0.01 * data_range) ** 2, (0.03 * data_range) ** 2
    norm = win * win / (win * win - 1)
    scores = []
    for ch in range(a3.shape[2]):
        x, y = a3[..., ch], b3[..., ch]
        ux, uy = _box_mean(x, win), _box_mean(y, win)
        vx = norm * (_box_mean(x * x, win) - ux * ux)
        vy = norm * (_box_mean(y * y, win) - uy * uy)
        vxy = norm * (_box_mean(x * y, win) - ux * uy)
        s = ((2 * ux * uy + c1) * (2 * vxy + c2)) / ((ux * ux + uy * uy + c1) * (vx + vy + c2))
        scores.append(float(s.mean()))
    return float(np.mean(scores))


def pixel_metrics(a: np.ndarray, b: np.ndarray) -> dict[str, Any]:
    """MAE, max error, PSNR, SSIM and changed-pixel share of two equal-size uint8 arrays."""
    diff = np.abs(a.astype(np.int16) - b.astype(np.int16))
    mse = float(np.mean(diff.astype(np.float64) ** 2))
    psnr = PSNR_CAP if mse == 0 else min(PSNR_CAP, 10 * math.log10(255.0**2 / mse))
    changed = diff.reshape(diff.shape[0], diff.shape[1], -1).max(axis=2) > 0
    return {"mae": float(diff.mean()), "max_abs_error": int(diff.max(initial=0)), "psnr": psnr,
            "ssim": ssim(a, b), "changed_pixels": int(changed.sum()),
            "changed_fraction": float(changed.mean())}


def judge(metrics: dict[str, Any], th: Thresholds) -> tuple[Verdict, list[str]]:
    """Identical when no pixel changed; similar when every metric is within its threshold."""
    if metrics["changed_pixels"] == 0:
        return "identical", []
    notes = []
    if metrics["psnr"] < th.image_psnr_min:
        notes.append(f"PSNR {metrics['psnr']:.2f} dB is below {th.image_psnr_min} dB")
    if metrics["ssim"] < th.image_ssim_min:
        notes.append(f"SSIM {metrics['ssim']:.4f} is below {th.image_ssim_min}")
    if metrics["mae"] > th.image_mae_max:
        notes.append(f"mean absolute error {metrics['mae']:.2f} is above {th.image_mae_max}")
    return ("different" if notes else "similar"), notes


def same_size(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """Both arrays in one channel layout, or None when their pixel sizes differ."""
    if a.shape[:2] != b.shape[:2]:
        return None
    if a.shape[2:] != b.shape[2:]:  # RGB against RGBA: compare as RGBA with opaque alpha
        a, b = (np.dstack([x, np.full(x.shape[:2], 255, np.uint8)]) if x.shape[2] == 3 else x for x in (a, b))
    return a, b


def diff_picture(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Where the images differ, in red over a faded grey copy of `a`: any change shows at least
    half-red, the largest change fully red."""
    diff = np.abs(a.astype(np.int16) - b.astype(np.int16)).max(axis=2).astype(np.float64)
    grey = a[..., :3].astype(np.float64).mean(axis=2) * 0.3 + 80
    heat = np.where(diff > 0, 128 + 127 * diff / max(diff.max(), 1.0), 0.0)
    out = np.stack([np.maximum(grey, heat), grey * (1 - heat / 255), grey * (1 - heat / 255)], axis=2)
    return np.clip(out, 0, 255).astype(np.uint8)


def save_png(pixels: np.ndarray, path: Path) -> str:
    return str(write_png(pixels, path))


def compare_arrays(a: np.ndarray, b: np.ndarray, th: Thresholds) -> tuple[Verdict, dict[str, Any], list[str]]:
    """The verdict, metrics and notes for two pixel arrays of any sizes."""
    size = {"size_a": [int(a.shape[1]), int(a.shape[0])], "size_b": [int(b.shape[1]), int(b.shape[0])]}
    pair = same_size(a, b)
    if pair is None:
        return "different", size, [f"size {size['size_a']} differs from {size['size_b']}"]
    metrics = {**size, **pixel_metrics(*pair)}
    verdict, notes = judge(metrics, th)
    return verdict, metrics, notes


def compare_images(a: Path, b: Path, th: Thresholds, diff_dir: Path | None = None) -> ComparisonResult:
    pixels_a, pixels_b = load_image(a), load_image(b)
    verdict, metrics, notes = compare_arrays(pixels_a, pixels_b, th)
    images = {"a": str(a), "b": str(b)}
    diff_image = None
    pair = same_size(pixels_a, pixels_b)
    if diff_dir is not None and pair is not None:
        diff_image = save_png(diff_picture(*pair), diff_dir / f"diff_{a.stem}_vs_{b.stem}.png")
        images["diff"] = diff_image
    score = float(metrics.get("ssim", 0.0))
    return result("image", verdict, score, "ssim", metrics, notes, diff_image=diff_image, images=images)
