"""What a comparison answers, and the thresholds it judges by.

`a` is the reference (legacy output, golden file), `b` the candidate (graph output, fresh run).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from ..errors import HartomatError

Verdict = Literal["identical", "similar", "different"]
VERDICT_RANK: dict[str, int] = {"identical": 0, "similar": 1, "different": 2}
KINDS = ("image", "video", "glb", "blend", "json", "bytes")


class CompareInputError(HartomatError):
    """A file that cannot be compared: missing, unreadable, or of an unknown kind."""


class Thresholds(BaseModel):
    """Where "similar" ends and "different" begins, per kind. Defaults suit 8-bit renders."""

    model_config = ConfigDict(extra="forbid")

    image_psnr_min: float = Field(30.0, description="similar images have at least this PSNR (dB)")
    image_ssim_min: float = Field(0.90, ge=-1, le=1, description="similar images have at least this SSIM")
    image_mae_max: float = Field(8.0, ge=0, description="similar images differ by at most this mean (0-255)")
    video_sample_frames: int = Field(8, ge=1, le=1000, description="frames compared per video, evenly spread")
    video_fps_tolerance: float = Field(0.01, ge=0, description="largest fps difference still equal")
    glb_vertex_tolerance: float = Field(0.01, ge=0, description="largest relative vertex count difference")
    glb_bbox_tolerance: float = Field(0.001, ge=0, description="largest bbox corner shift / diagonal")
    json_numeric_tolerance: float = Field(1e-6, ge=0, description="largest relative difference of numbers")
    json_ignore_keys: list[str] = Field(
        default_factory=lambda: ["*path", "*_dir", "*_at", "run_id", "*duration*", "*sha256"],
        description="shell patterns on the last key of a JSON path whose values may differ")


class ComparisonResult(BaseModel):
    """One comparison: the verdict, the numbers behind it and what a person should look at."""

    kind: str
    verdict: Verdict
    match: bool
    score: float = Field(description="1.0 identical down to 0.0 nothing alike; the headline for worst-of")
    headline: str = Field(description="name of the metric `score` comes from")
    metrics: dict[str, Any] = Field(default_factory=dict)
    notes: list[str] = Field(default_factory=list)
    diff_image: str | None = None
    images: dict[str, str] = Field(default_factory=dict, description="a/b/diff PNGs for the HTML report")
    a: str = ""
    b: str = ""


def result(kind: str, verdict: Verdict, score: float, headline: str, metrics: dict[str, Any],
           notes: list[str] | None = None, **extra: Any) -> ComparisonResult:
    return ComparisonResult(kind=kind, verdict=verdict, match=verdict != "different", score=score,
                            headline=headline, metrics=metrics, notes=notes or [], **extra)


def worst(verdicts: list[Verdict]) -> Verdict:
    return max(verdicts, key=VERDICT_RANK.__getitem__, default="identical")


def as_thresholds(thresholds: Thresholds | dict[str, Any] | None) -> Thresholds:
    if isinstance(thresholds, Thresholds):
        return thresholds
    return Thresholds.model_validate(thresholds or {})
