"""thumbnail_save: every source image in every size asked, longest edge = size, made with Pillow
and with Blender's own image API (what runs inside a Blender whose Python has no Pillow)."""

from __future__ import annotations

import pytest
from PIL import Image
from render_support import node_call

from engine.errors import NodeInputError
from engine.model.artifacts import Artifact, ArtifactKind
from engine.nodes.media import ThumbnailSaveSettings, thumbnail_save


@pytest.fixture(params=["pillow", "blender"], autouse=True)
def backend(request, monkeypatch) -> str:
    """Each test once per image backend; 'blender' hides Pillow from engine.render.imaging."""
    if request.param == "blender":
        monkeypatch.setattr("engine.render.imaging.has_pillow", lambda: False)
    return request.param


def _image(path, size=(200, 100), mode="RGBA") -> Artifact:
    Image.new(mode, size, (200, 30, 30, 128) if mode == "RGBA" else (200, 30, 30)).save(path)
    return Artifact.from_file(ArtifactKind.IMAGE, path, role="primary_render", data={"width": size[0]})


def test_thumbnails_have_the_asked_sizes(tmp_path):
    wide = _image(tmp_path / "wide.png")
    tall = _image(tmp_path / "tall.png", (60, 120), "RGB")
    out = thumbnail_save(node_call("thumbnail_save", tmp_path, ThumbnailSaveSettings(sizes=[32, 128]),
                                   {"image": [wide, tall]}))["thumbnails"]
    assert out.kind == ArtifactKind.IMAGE_SET and out.role == "thumbnail" and len(out.files) == 4
    sizes = {f.rsplit("/", 1)[1]: Image.open(f).size for f in out.files}
    assert sizes == {"wide_32.png": (32, 16), "wide_128.png": (128, 64), "tall_32.png": (16, 32),
                     "tall_128.png": (64, 128)}
    assert Image.open(out.files[0]).mode == "RGBA"


def test_jpeg_thumbnails_of_an_image_set_flatten_alpha(tmp_path):
    frames = [_image(tmp_path / f"f{i}.png", (64, 64)) for i in range(3)]
    image_set = Artifact(kind=ArtifactKind.IMAGE_SET, path=str(tmp_path), files=[f.path for f in frames])
    out = thumbnail_save(node_call("thumbnail_save", tmp_path, {"sizes": [16], "format": "JPEG"},
                                   {"image": [image_set]}))["thumbnails"]
    assert len(out.files) == 3
    for path in out.files:
        with Image.open(path) as thumb:
            assert thumb.format == "JPEG" and thumb.mode == "RGB" and thumb.size == (16, 16)
            red, green, blue = thumb.getpixel((8, 8))  # (200, 30, 30) at half alpha over white
            assert abs(red - 228) < 8 and abs(green - 142) < 8 and abs(blue - 142) < 8


def test_unreadable_input_is_a_clear_error(tmp_path):
    exr = tmp_path / "still.exr"
    exr.write_bytes(b"\x76\x2f\x31\x01not really")
    log: list[str] = []
    call = node_call("thumbnail_save", tmp_path, {}, {"image": [Artifact.from_file(ArtifactKind.IMAGE, exr)]}, log=log)
    with pytest.raises(NodeInputError, match="input 'image' has no readable image file"):
        thumbnail_save(call)
    assert any("skipped still.exr" in line for line in log)
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"\x89PNG broken")
    with pytest.raises(NodeInputError, match="broken.png"):
        thumbnail_save(node_call("thumbnail_save", tmp_path, {}, {"image": [Artifact.from_file(ArtifactKind.IMAGE,
                                                                                                broken)]}))
