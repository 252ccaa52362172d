"""Writing results: a still to a file, and a frame sequence encoded with Blender's FFmpeg output."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

CONTAINERS = {"MP4": ("MPEG4", "mp4"), "MKV": ("MKV", "mkv")}


def render_still(scene: Any, path: Path, stop: Callable[[], bool] | None = None,
                 stopped: Callable[[], None] | None = None) -> Path:
    """Render the scene's camera view to `path` (format from the scene's image settings). When
    `stop` says so mid-render, Cycles is interrupted (interrupt.py) and `stopped` raises."""
    import bpy

    from .interrupt import interruptible

    path.parent.mkdir(parents=True, exist_ok=True)
    scene.render.filepath = str(path)
    with interruptible(bpy, stop or (lambda: False)) as interrupted:
        bpy.ops.render.render(write_still=True, scene=scene.name)
    if interrupted() and stopped is not None:
        stopped()
    if not path.is_file():
        raise RuntimeError(f"Blender did not write {path}")
    return path


def encode_video(frames: list[Path], path: Path, fps: int, container: str, size: tuple[int, int]) -> Path:
    """Encode PNG frames to H.264 in MP4 or MKV through a throw-away sequencer scene."""
    import bpy

    fmt, _ = CONTAINERS[container]
    scene: Any = bpy.data.scenes.new("HartOMat_Encode")
    try:
        editor = scene.sequence_editor_create()
        strips = editor.strips if hasattr(editor, "strips") else editor.sequences  # 'sequences' before 4.4
        strip = strips.new_image(name="frames", filepath=str(frames[0]), channel=1, frame_start=1)
        for frame in frames[1:]:
            strip.elements.append(frame.name)
        scene.frame_start, scene.frame_end = 1, len(frames)
        scene.render.resolution_x, scene.render.resolution_y = size
        scene.render.resolution_percentage = 100
        scene.render.fps = fps
        scene.render.use_sequencer = True
        scene.render.use_file_extension = False
        image = scene.render.image_settings
        if hasattr(image, "media_type"):  # Blender 5 splits images from video
            image.media_type = "VIDEO"
        image.file_format = "FFMPEG"
        scene.render.ffmpeg.format = fmt
        scene.render.ffmpeg.codec = "H264"
        scene.render.ffmpeg.constant_rate_factor = "HIGH"
        scene.render.filepath = str(path)
        bpy.ops.render.render(animation=True, scene=scene.name)
    finally:
        bpy.data.scenes.remove(scene)
    if not path.is_file():
        raise RuntimeError(f"Blender's FFmpeg output did not write {path}")
    return path
