"""Video comparison: frame count, fps, and image metrics on frames sampled evenly through both.

Frames are decoded by ffmpeg to raw RGB (Debian's `ffmpeg` package; scripts/setup.d/20-ffmpeg.sh).
"""

from __future__ import annotations

import json
import shutil
import subprocess
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np

from .images import compare_arrays, diff_picture, same_size, save_png
from .model import CompareInputError, ComparisonResult, Thresholds, Verdict, result, worst

TIMEOUT_S = 300


def _tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        raise CompareInputError(f"comparing videos needs {name} (Debian package ffmpeg); it is not on PATH")
    return found


def probe(path: Path) -> dict[str, Any]:
    """Frame count (decoded, exact), fps, width and height of the first video stream."""
    cmd = [_tool("ffprobe"), "-v", "error", "-select_streams", "v:0", "-count_frames",
           "-show_entries", "stream=nb_read_frames,r_frame_rate,width,height", "-of", "json", str(path)]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=TIMEOUT_S)
    streams = json.loads(done.stdout or "{}").get("streams", []) if done.returncode == 0 else []
    if not streams:
        reason = done.stderr.strip().splitlines()[-1] if done.stderr.strip() else "no video stream"
        raise CompareInputError(f"{path}: not a readable video: {reason}")
    stream = streams[0]
    return {"frames": int(stream.get("nb_read_frames", 0)), "fps": float(Fraction(stream["r_frame_rate"])),
            "width": int(stream["width"]), "height": int(stream["height"])}


def sample_indices(frame_count: int, samples: int) -> list[int]:
    """`samples` frame numbers spread evenly from the first frame to the last."""
    count = min(samples, frame_count)
    return sorted({round(i * (frame_count - 1) / max(count - 1, 1)) for i in range(count)})


def read_frames(path: Path, info: dict[str, Any], indices: list[int]) -> np.ndarray:
    """The given frames as uint8 N x H x W x 3, decoded in one ffmpeg pass."""
    if not indices:
        return np.zeros((0, info["height"], info["width"], 3), np.uint8)
    select = "+".join(f"eq(n\\,{i})" for i in indices)
    cmd = [_tool("ffmpeg"), "-v", "error", "-i", str(path), "-vf", f"select='{select}'", "-vsync", "0",
           "-f", "rawvideo", "-pix_fmt", "rgb24", "pipe:1"]
    done = subprocess.run(cmd, capture_output=True, timeout=TIMEOUT_S)
    frame_bytes = info["width"] * info["height"] * 3
    if done.returncode != 0 or len(done.stdout) < frame_bytes * len(indices):
        raise CompareInputError(f"{path}: could not decode frames {indices}: {done.stderr.decode()[-200:]}")
    data = np.frombuffer(done.stdout[: frame_bytes * len(indices)], np.uint8)
    return data.reshape(len(indices), info["height"], info["width"], 3)


def _stream_notes(info_a: dict[str, Any], info_b: dict[str, Any], th: Thresholds) -> list[str]:
    notes = []
    if info_a["frames"] != info_b["frames"]:
        notes.append(f"frame count {info_a['frames']} differs from {info_b['frames']}")
    if abs(info_a["fps"] - info_b["fps"]) > th.video_fps_tolerance:
        notes.append(f"fps {info_a['fps']:g} differs from {info_b['fps']:g}")
    return notes


def compare_videos(a: Path, b: Path, th: Thresholds, diff_dir: Path | None = None) -> ComparisonResult:
    info_a, info_b = probe(a), probe(b)
    notes = _stream_notes(info_a, info_b, th)
    metrics: dict[str, Any] = {"frames_a": info_a["frames"], "frames_b": info_b["frames"], "fps_a": info_a["fps"],
                               "fps_b": info_b["fps"], "size_a": [info_a["width"], info_a["height"]],
                               "size_b": [info_b["width"], info_b["height"]]}
    indices = sample_indices(min(info_a["frames"], info_b["frames"]), th.video_sample_frames)
    frames_a, frames_b = read_frames(a, info_a, indices), read_frames(b, info_b, indices)
    per_frame = []
    for index, fa, fb in zip(indices, frames_a, frames_b, strict=True):
        verdict, frame_metrics, frame_notes = compare_arrays(fa, fb, th)
        per_frame.append({"frame": index, "verdict": verdict, **frame_metrics})
        notes.extend(f"frame {index}: {n}" for n in frame_notes)
    metrics["sampled_frames"] = per_frame
    metrics["min_ssim"] = min((f.get("ssim", 0.0) for f in per_frame), default=0.0)
    metrics["min_psnr"] = min((f.get("psnr", 0.0) for f in per_frame), default=0.0)
    metrics["max_mae"] = max((f.get("mae", 255.0) for f in per_frame), default=0.0)
    verdicts: list[Verdict] = [f["verdict"] for f in per_frame] + (["different"] if notes else [])
    images = _worst_frame_images(a, b, indices, frames_a, frames_b, per_frame, diff_dir)
    score = 0.0 if _stream_notes(info_a, info_b, th) else metrics["min_ssim"]
    return result("video", worst(verdicts), score, "min_ssim", metrics, notes,
                  diff_image=images.get("diff"), images=images)


def _worst_frame_images(a: Path, b: Path, indices: list[int], frames_a: np.ndarray, frames_b: np.ndarray,
                        per_frame: list[dict[str, Any]], diff_dir: Path | None) -> dict[str, str]:
    """The least similar sampled frame of each video and their diff, as PNGs for the report."""
    if diff_dir is None or not per_frame:
        return {}
    k = min(range(len(per_frame)), key=lambda i: per_frame[i].get("ssim", -2.0))
    stem = f"{a.stem}_vs_{b.stem}_frame{indices[k]}"
    images = {"a": save_png(frames_a[k], diff_dir / f"a_{stem}.png"),
              "b": save_png(frames_b[k], diff_dir / f"b_{stem}.png")}
    pair = same_size(frames_a[k], frames_b[k])
    if pair is not None:
        images["diff"] = save_png(diff_picture(*pair), diff_dir / f"diff_{stem}.png")
    return images
