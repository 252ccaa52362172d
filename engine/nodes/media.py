"""Media nodes: thumbnails (Pillow, or Blender's image API inside a Blender without it)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field

from ..errors import NodeInputError
from ..model.artifacts import Artifact, ArtifactKind
from ..model.artifacts import ArtifactKind as K
from ..model.context import NodeCall
from ..model.node_definition import NodeDefinition, NodeSettings, inp, out
from ..model.node_settings import setting
from ..model.registry import node
from ..render.imaging import thumbnail

READABLE = {".png", ".jpg", ".jpeg", ".webp", ".bmp", ".tif", ".tiff"}
EXTENSIONS = {"PNG": "png", "JPEG": "jpg", "WEBP": "webp"}
MAX_THUMBNAILS = 16
ThumbnailSize = Annotated[int, Field(ge=16, le=4096)]


class ThumbnailSaveSettings(NodeSettings):
    sizes: list[ThumbnailSize] = setting([256], "Thumbnails", "Longest edge of each thumbnail in pixels",
                                         min_length=1, max_length=MAX_THUMBNAILS)
    format: Literal["PNG", "JPEG", "WEBP"] = setting("PNG", "Thumbnails", "Thumbnail file format")


def _sources(call: NodeCall) -> list[Path]:
    """Every image file on the 'image' input, set members included; EXR and others are skipped."""
    files: list[Path] = []
    for artifact in call.inputs.get("image") or []:
        for path in artifact.member_paths():
            if path.suffix.lower() in READABLE:
                files.append(path)
            else:
                call.log(f"thumbnails: skipped {path.name} (cannot read {path.suffix or 'it'})")
    if not files:
        raise NodeInputError(f"node '{call.node_id}' (thumbnail_save): input 'image' has no readable image file")
    return files


@node(NodeDefinition(
    key="thumbnail_save", label="Thumbnails", family="output", icon="IMAGE_REFERENCE",
    description="Thumbnails of images in the sizes asked.",
    settings_model=ThumbnailSaveSettings,
    inputs=(inp("image", K.IMAGE, K.IMAGE_SET, multiple=True),),
    outputs=(out("thumbnails", K.IMAGE_SET, role="thumbnail"),),
    execution="main_thread",  # Blender's image API where Pillow is absent; bpy is not thread-safe
))
def thumbnail_save(call: NodeCall) -> dict[str, Artifact | list[Artifact]]:
    """One thumbnail per source image and size (longest edge = size), in one image set."""
    settings = call.settings if isinstance(call.settings, ThumbnailSaveSettings) else \
        ThumbnailSaveSettings.model_validate(call.settings or {})
    if any(size < 1 for size in settings.sizes):
        raise NodeInputError(f"node '{call.node_id}' (thumbnail_save): sizes: {settings.sizes} must be positive")
    folder = call.workdir / "thumbnails"
    folder.mkdir(parents=True, exist_ok=True)
    sources = _sources(call)
    written: list[str] = []
    for index, source in enumerate(sources):
        call.check_cancelled()
        call.progress(index / len(sources), f"thumbnails of {source.name}")
        for size in settings.sizes:
            target = folder / f"{source.stem}_{size}.{EXTENSIONS[settings.format]}"
            try:
                written.append(str(thumbnail(source, size, target, settings.format)))
            except OSError as exc:
                raise NodeInputError(f"node '{call.node_id}' (thumbnail_save): image {source}: {exc}") from None
    return {"thumbnails": Artifact(kind=ArtifactKind.IMAGE_SET, path=str(folder), files=written, role="thumbnail",
                                   data={"sizes": settings.sizes, "count": len(written), "format": settings.format})}
