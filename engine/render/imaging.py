"""Image work that runs wherever a node runs: Pillow when it imports, Blender's image API otherwise.

Debian's Blender has no Pillow, and a node running inside Blender must not depend on it; every
Blender (and the bpy module) has its own image API, which reads and writes the same formats.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

BACKGROUND_WHITE = (1.0, 1.0, 1.0)


def has_pillow() -> bool:
    return importlib.util.find_spec("PIL") is not None


def thumbnail(source: Path, size: int, target: Path, file_format: str) -> Path:
    """`source` scaled so its longest edge is `size`, saved as `file_format` (PNG, JPEG, WEBP);
    a JPEG of an image with alpha is composited on white. OSError when it cannot be read."""
    if has_pillow():
        return _pillow_thumbnail(source, size, target, file_format)
    return _blender_thumbnail(source, size, target, file_format)


def foreground_share(png: Path, background: str) -> float:
    """Share of pixels that differ clearly (more than 24 of 255 in a channel) from the
    background colour (`#rrggbb`)."""
    if has_pillow():
        return _pillow_foreground_share(png, background)
    import numpy as np

    pixels = _blender_pixels(png)[..., :3] * 255.0
    plain = np.array([int(background.lstrip("#")[i:i + 2], 16) for i in (0, 2, 4)], dtype=np.float32)
    differs = np.abs(pixels - plain).max(axis=-1) > 24
    return float(differs.mean())


def read_pixels(path: Path) -> Any:
    """Pixels as uint8 H x W x C, top row first: RGB, or RGBA when the file has alpha.
    OSError or ValueError when it cannot be read."""
    import numpy as np

    if has_pillow():
        from PIL import Image

        with Image.open(path) as image:
            mode = "RGBA" if "A" in image.getbands() or "transparency" in image.info else "RGB"
            return np.asarray(image.convert(mode))
    pixels, has_alpha = _blender_pixels(path, with_alpha_flag=True)
    rows = np.clip(np.round(pixels[::-1] * 255.0), 0, 255).astype(np.uint8)
    return rows if has_alpha else rows[..., :3].copy()


def write_png(pixels: Any, path: Path) -> Path:
    """Save uint8 H x W x 3|4 pixels (top row first) as a PNG."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if has_pillow():
        from PIL import Image

        Image.fromarray(pixels).save(path)
        return path
    import bpy
    import numpy as np

    height, width, channels = pixels.shape
    rgba = np.ones((height, width, 4), dtype=np.float32)
    rgba[..., :channels] = pixels[::-1].astype(np.float32) / 255.0
    image: Any = bpy.data.images.new(path.stem, width, height, alpha=channels == 4)
    try:
        image.pixels.foreach_set(rgba.ravel())
        image.filepath_raw = str(path)
        image.file_format = "PNG"
        image.save()
    finally:
        bpy.data.images.remove(image)
    return path


def _scaled(width: int, height: int, size: int) -> tuple[int, int]:
    scale = size / max(width, height)
    return max(1, round(width * scale)), max(1, round(height * scale))


def _pillow_thumbnail(source: Path, size: int, target: Path, file_format: str) -> Path:
    from PIL import Image

    with Image.open(source) as image:
        image.load()
        thumb = image.resize(_scaled(image.width, image.height, size), Image.Resampling.LANCZOS)
    if file_format == "JPEG" and thumb.mode in ("RGBA", "LA", "P"):
        background = Image.new("RGB", thumb.size, tuple(round(c * 255) for c in BACKGROUND_WHITE))
        thumb = thumb.convert("RGBA")
        background.paste(thumb, mask=thumb.getchannel("A"))
        thumb = background
    thumb.save(target, format=file_format)
    return target


def _pillow_foreground_share(png: Path, background: str) -> float:
    from PIL import Image, ImageChops

    with Image.open(png) as image:
        rgb = image.convert("RGB")
    plain = Image.new("RGB", rgb.size, background)
    diff = ImageChops.difference(rgb, plain).convert("L").point(lambda v: 255 if v > 24 else 0)
    return diff.histogram()[255] / float(rgb.width * rgb.height)


def _load(path: Path) -> Any:
    import bpy

    try:
        image: Any = bpy.data.images.load(str(path), check_existing=False)
    except RuntimeError as exc:
        raise OSError(f"cannot read {path}: {exc}") from None
    if image.size[0] == 0 or image.size[1] == 0:
        bpy.data.images.remove(image)
        raise OSError(f"cannot read {path}: not an image Blender can open")
    return image


def _blender_pixels(path: Path, with_alpha_flag: bool = False) -> Any:
    """Straight RGBA floats (0..1, rows bottom-up), shape (height, width, 4); with the flag, also
    whether the file has an alpha channel."""
    import bpy
    import numpy as np

    image = _load(path)
    try:
        width, height = image.size
        flat = np.empty(width * height * 4, dtype=np.float32)
        image.pixels.foreach_get(flat)
        has_alpha = image.depth in (16, 32, 64, 128) and image.channels == 4
    finally:
        bpy.data.images.remove(image)
    pixels = flat.reshape(height, width, 4)
    return (pixels, has_alpha) if with_alpha_flag else pixels


def _blender_thumbnail(source: Path, size: int, target: Path, file_format: str) -> Path:
    import bpy
    import numpy as np

    image = _load(source)
    try:
        image.scale(*_scaled(image.size[0], image.size[1], size))
        if file_format == "JPEG":
            flat = np.empty(len(image.pixels), dtype=np.float32)
            image.pixels.foreach_get(flat)
            rgba = flat.reshape(-1, 4)
            alpha = rgba[:, 3:4].copy()
            rgba[:, :3] = rgba[:, :3] * alpha + np.array(BACKGROUND_WHITE, dtype=np.float32) * (1.0 - alpha)
            rgba[:, 3] = 1.0
            image.pixels.foreach_set(flat)
        image.filepath_raw = str(target)
        image.file_format = file_format
        image.save()
    except RuntimeError as exc:
        raise OSError(f"cannot write {target}: {exc}") from None
    finally:
        bpy.data.images.remove(image)
    return target
