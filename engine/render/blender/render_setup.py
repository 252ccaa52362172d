"""Render engine and output settings from a node's `RenderSettings`."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

EXTENSIONS = {"PNG": "png", "JPEG": "jpg", "OPEN_EXR": "exr"}


def has_denoiser() -> bool:
    """Whether this Blender's Cycles was built with OpenImageDenoise (Debian's is not)."""
    try:
        import _cycles  # type: ignore[import-not-found]
    except ImportError:
        return False
    return bool(getattr(_cycles, "with_openimagedenoise", False))


# Without a denoiser a still asking for one renders this many times the samples (at most
# UNDENOISED_MAX): measured against the bpy module's denoised still in docs/rendering.md.
UNDENOISED_FACTOR, UNDENOISED_MAX = 8, 1024


@dataclass(frozen=True)
class Denoising:
    """How a Cycles render is denoised: by OIDN, or not, at `samples`; `note` says why for the log."""

    denoiser: bool
    samples: int
    note: str = ""


def denoising(samples: int, wanted: bool, available: bool) -> Denoising:
    """OIDN where asked and built in; asked but missing: more samples instead, said in `note`."""
    if not wanted:
        return Denoising(False, samples)
    if available:
        return Denoising(True, samples)
    raised = max(samples, min(samples * UNDENOISED_FACTOR, UNDENOISED_MAX))
    return Denoising(False, raised, f"denoise: this Blender's Cycles has no OpenImageDenoise; rendered without "
                                    f"a denoiser at {raised} samples instead of {samples}")


def _cycles(scene: Any, settings: Any) -> Denoising:
    cycles = scene.cycles
    cycles.device = "CPU"
    plan = denoising(settings.samples, settings.denoise, has_denoiser())
    cycles.samples = plan.samples
    cycles.use_adaptive_sampling = settings.adaptive_threshold > 0
    if settings.adaptive_threshold > 0:
        cycles.adaptive_threshold = settings.adaptive_threshold
    cycles.use_denoising = plan.denoiser
    if cycles.use_denoising:
        cycles.denoiser = "OPENIMAGEDENOISE"
    return plan


def _workbench(scene: Any) -> None:
    shading = scene.display.shading
    shading.light = "STUDIO"
    shading.color_type = "MATERIAL"
    shading.show_shadows = True


def _image_format(scene: Any, file_format: str, transparent: bool) -> None:
    image = scene.render.image_settings
    if hasattr(image, "media_type"):  # Blender 5 splits images from video
        image.media_type = "IMAGE"
    image.file_format = file_format
    if file_format == "JPEG":
        image.color_mode = "RGB"
        image.quality = 92
    elif file_format == "OPEN_EXR":
        image.color_mode = "RGBA"
        image.color_depth = "16"
        image.exr_codec = "ZIP"
    else:
        image.color_mode = "RGBA" if transparent else "RGB"
        image.color_depth = "8"
        image.compression = 15


def _threads(render: Any) -> None:
    """$HARTOMAT_RENDER_THREADS fixes a worker's render threads (several workers on one host, or
    a benchmark); unset, Blender uses every core."""
    import os

    wanted = os.environ.get("HARTOMAT_RENDER_THREADS", "").strip()
    if wanted.isdigit() and int(wanted) > 0:
        render.threads_mode = "FIXED"
        render.threads = int(wanted)


@contextmanager
def persistent_data(scene: Any) -> Iterator[None]:
    """Cycles keeps the scene loaded between the frames rendered inside (a turntable, a chunk).
    Leaving turns it off again, which frees the kept render session: left alive, its TBB arena
    keeps a worker thread spinning on sched_yield for as long as the process lives (bpy 5.0 with
    a fixed thread count, e.g. $HARTOMAT_RENDER_THREADS=1): a whole core while the worker idles."""
    scene.render.use_persistent_data = True
    try:
        yield
    finally:
        scene.render.use_persistent_data = False  # its update frees the persistent data


def configure(scene: Any, settings: Any) -> Denoising:
    """Engine, resolution, sampling, denoising, background and file format of one render; returns
    how it is denoised (Workbench: not at all, nothing to say)."""
    render = scene.render
    render.engine = "BLENDER_WORKBENCH" if settings.engine == "WORKBENCH" else "CYCLES"
    render.resolution_x = settings.resolution_x
    render.resolution_y = settings.resolution_y
    render.resolution_percentage = 100
    render.pixel_aspect_x = render.pixel_aspect_y = 1.0
    render.film_transparent = settings.transparent
    render.use_file_extension = False
    _threads(render)
    plan = Denoising(False, settings.samples)
    if render.engine == "CYCLES":
        plan = _cycles(scene, settings)
    else:
        _workbench(scene)
    _image_format(scene, settings.file_format, settings.transparent)
    return plan


def render_facts(scene: Any) -> dict[str, Any]:
    """How a render was actually made, after `configure` (what provenance records): the engine,
    and for Cycles the device and the denoiser in use (none where this build lacks one)."""
    render = scene.render
    facts: dict[str, Any] = {"engine": render.engine, "threads": render.threads}
    if render.engine == "CYCLES":
        cycles = scene.cycles
        facts.update(device=cycles.device, samples=cycles.samples,
                     denoiser=cycles.denoiser if cycles.use_denoising else None)
    return facts
