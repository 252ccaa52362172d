"""engine.render.imaging: the same pixels through Pillow and through Blender's image API (the path a
Blender without Pillow takes), checked against Pillow as the independent reader."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from engine.compare.images import load_image
from engine.compare.model import CompareInputError
from engine.render import imaging


@pytest.fixture(params=["pillow", "blender"])
def backend(request, monkeypatch) -> str:
    if request.param == "blender":
        monkeypatch.setattr("engine.render.imaging.has_pillow", lambda: False)
    return request.param


def _picture(channels: int) -> np.ndarray:
    """A 24 x 16 picture whose rows, columns and channels all differ (orientation shows)."""
    y, x = np.mgrid[0:16, 0:24]
    planes = [x * 10, y * 15, (x + y) * 5, 255 - y * 8][:channels]
    return np.stack(planes, axis=2).astype(np.uint8)


@pytest.mark.parametrize("channels", [3, 4])
def test_read_pixels_and_write_png_agree_with_pillow(backend, tmp_path, channels):
    pixels = _picture(channels)
    source = tmp_path / "source.png"
    Image.fromarray(pixels).save(source)
    read = imaging.read_pixels(source)
    assert read.shape == pixels.shape and np.array_equal(read, pixels)
    written = imaging.write_png(pixels, tmp_path / "out" / "written.png")
    assert np.array_equal(np.asarray(Image.open(written)), pixels)


def test_compare_reads_images_without_pillow_too(backend, tmp_path):
    path = tmp_path / "a.png"
    Image.fromarray(_picture(3)).save(path)
    assert np.array_equal(load_image(path), _picture(3))
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"\x89PNG broken")
    with pytest.raises(CompareInputError, match="broken.png: not a readable image"):
        load_image(broken)


def test_foreground_share_is_the_same_on_both_backends(backend, tmp_path):
    pixels = np.full((20, 20, 3), 240, dtype=np.uint8)
    pixels[5:15, 5:10] = (30, 60, 200)  # 50 of 400 pixels differ from the background
    path = tmp_path / "snap.png"
    Image.fromarray(pixels).save(path)
    assert imaging.foreground_share(path, "#f0f0f0") == pytest.approx(50 / 400)
