"""`compare_paths`: picks the comparison for a pair of files by kind or by file extension."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..model.artifacts import sha256_file
from .blend import compare_blend
from .gltf import compare_glb
from .images import compare_images
from .metadata import compare_json
from .model import KINDS, CompareInputError, ComparisonResult, Thresholds, as_thresholds, result
from .videos import compare_videos

Comparer = Callable[[Path, Path, Thresholds, Path | None], ComparisonResult]

EXTENSIONS = {
    **dict.fromkeys((".png", ".jpg", ".jpeg", ".webp", ".bmp", ".tif", ".tiff"), "image"),
    **dict.fromkeys((".mp4", ".mkv", ".mov", ".webm", ".avi"), "video"),
    ".glb": "glb", ".blend": "blend", ".json": "json",
}
# artifact kinds of the engine that name a comparison kind
ARTIFACT_KINDS = {"image": "image", "video": "video", "glb": "glb", "blend_file": "blend"}


def compare_bytes(a: Path, b: Path, th: Thresholds, diff_dir: Path | None = None) -> ComparisonResult:
    """Files with no structure we know: equal bytes or not."""
    same = sha256_file(a) == sha256_file(b)
    metrics = {"size_a": a.stat().st_size, "size_b": b.stat().st_size}
    return result("bytes", "identical" if same else "different", float(same), "bytes_equal", metrics,
                  [] if same else ["file contents differ"])


COMPARERS: dict[str, Comparer] = {"image": compare_images, "video": compare_videos, "glb": compare_glb,
                                  "blend": compare_blend, "json": compare_json, "bytes": compare_bytes}


def detect_kind(path: Path, kind: str | None = None) -> str:
    """The comparison kind: given (a comparison or artifact kind) or from the extension, else bytes."""
    if kind is not None:
        kind = ARTIFACT_KINDS.get(kind, kind)
        if kind not in COMPARERS:
            raise CompareInputError(f"unknown comparison kind '{kind}'; kinds: {', '.join(KINDS)}")
        return kind
    return EXTENSIONS.get(path.suffix.lower(), "bytes")


def _check_file(path: Path) -> None:
    if not path.exists():
        raise CompareInputError(f"{path}: no such file")
    if not path.is_file():
        raise CompareInputError(f"{path}: not a file")


def compare_paths(a: str | Path, b: str | Path, kind: str | None = None,
                  thresholds: Thresholds | dict[str, Any] | None = None,
                  diff_dir: str | Path | None = None) -> ComparisonResult:
    """Compare reference `a` with candidate `b`; a diff image goes to `diff_dir` when given."""
    path_a, path_b = Path(a), Path(b)
    _check_file(path_a)
    _check_file(path_b)
    chosen = detect_kind(path_a, kind)
    if kind is None and detect_kind(path_b) != chosen:
        raise CompareInputError(f"{path_a} and {path_b} are different kinds of file "
                                f"({chosen} and {detect_kind(path_b)}); pass kind= to force one")
    compared = COMPARERS[chosen](path_a, path_b, as_thresholds(thresholds),
                                 Path(diff_dir) if diff_dir is not None else None)
    return compared.model_copy(update={"a": str(path_a), "b": str(path_b)})
