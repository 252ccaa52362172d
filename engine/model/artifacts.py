"""Artifact kinds and references: what flows along edges between nodes."""

from __future__ import annotations

import hashlib
from enum import StrEnum
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field


class ArtifactKind(StrEnum):
    """Every kind of value a port can carry; ports connect only on equal kinds."""

    ORDER_LINE = "order_line"
    STEP_FILE = "step_file"
    CAD_PARTS = "cad_parts"
    GLB = "glb"
    BBOX = "bbox"
    MATERIAL_MAP = "material_map"
    TEMPLATE = "template"
    IMAGE = "image"
    IMAGE_SET = "image_set"
    VIDEO = "video"
    BLEND_FILE = "blend_file"
    STL_SET = "stl_set"
    HTML_VIEWER = "html_viewer"
    MEDIA_ASSET = "media_asset"
    NOTIFICATION = "notification"


ARTIFACT_DESCRIPTIONS: dict[ArtifactKind, str] = {
    ArtifactKind.ORDER_LINE: "the order line a run serves: product, output type, overrides",
    ArtifactKind.STEP_FILE: "a STEP file with its sha256 fingerprint",
    ArtifactKind.CAD_PARTS: "parts, names, colours, instances and assembly tree read from STEP (JSON)",
    ArtifactKind.GLB: "a binary glTF in metres, Y-up",
    ArtifactKind.BBOX: "bounding box, size, centre and diagonal in metres",
    ArtifactKind.MATERIAL_MAP: "part name -> library material assignment",
    ArtifactKind.TEMPLATE: "a render template .blend (studio, lights, camera rig, world)",
    ArtifactKind.IMAGE: "one rendered image",
    ArtifactKind.IMAGE_SET: "several images (angles, thumbnails, frames)",
    ArtifactKind.VIDEO: "an encoded video",
    ArtifactKind.BLEND_FILE: "a production .blend file",
    ArtifactKind.STL_SET: "one STL per unique part",
    ArtifactKind.HTML_VIEWER: "a self-contained web viewer page (and its snapshot)",
    ArtifactKind.MEDIA_ASSET: "a published media asset record",
    ArtifactKind.NOTIFICATION: "the record of a notification sent",
}


def sha256_file(path: str | Path, chunk: int = 1 << 20) -> str:
    """Fingerprint of a file's content, used by caching, publishing and uploads."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(chunk):
            digest.update(block)
    return digest.hexdigest()


class Artifact(BaseModel):
    """A value produced by a node: a file (or folder) on disk and/or small JSON data.

    `role` says what the artifact is for when published (primary render, thumbnail, turntable
    video, production blend, ...); `files` lists member files of a set (frames, thumbnails).
    """

    kind: ArtifactKind
    path: str | None = None
    data: dict[str, Any] = Field(default_factory=dict)
    role: str | None = None
    sha256: str | None = None
    size: int | None = None
    files: list[str] = Field(default_factory=list)

    @classmethod
    def from_file(cls, kind: ArtifactKind, path: str | Path, **extra: Any) -> Artifact:
        file_path = Path(path)
        return cls(
            kind=kind,
            path=str(file_path),
            sha256=sha256_file(file_path),
            size=file_path.stat().st_size,
            **extra,
        )

    def member_paths(self) -> list[Path]:
        """Every file this artifact stands for (its path and its set members)."""
        paths = [Path(p) for p in self.files]
        if self.path and Path(self.path).is_file():
            paths.insert(0, Path(self.path))
        return paths
