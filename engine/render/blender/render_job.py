"""A still rendered as Blender's own render job (F12's way) in a Blender with a window: the render
runs on Blender's job thread with its progress in the status bar, the UI stays live, and Esc stops
it, after which Blender writes nothing. `render_still_job` is a generator the caller steps (one
turn per UI tick) until the job ends."""

from __future__ import annotations

import time
from collections.abc import Generator
from pathlib import Path
from typing import Any

from ...errors import CancelledError


def can_run_jobs() -> bool:
    """A Blender with a window runs render jobs; background Blender and the bpy module cannot."""
    import bpy

    context: Any = bpy.context
    return not bpy.app.background and bool(context.window_manager and context.window_manager.windows)


class JobEnd:
    """Blender's render_complete / render_cancel handlers, noted while attached (they may run on
    the render thread: they only append)."""

    def __init__(self) -> None:
        self.events: list[str] = []

    def complete(self, *_: Any) -> None:
        self.events.append("complete")

    def cancel(self, *_: Any) -> None:
        self.events.append("cancel")

    def __enter__(self) -> JobEnd:
        import bpy

        bpy.app.handlers.render_complete.append(self.complete)
        bpy.app.handlers.render_cancel.append(self.cancel)
        return self

    def __exit__(self, *_: Any) -> None:
        import bpy

        for handlers, handler in ((bpy.app.handlers.render_complete, self.complete),
                                  (bpy.app.handlers.render_cancel, self.cancel)):
            if handler in handlers:
                handlers.remove(handler)


def start_job(scene: Any) -> None:
    """Blender's render operator as F12 starts it, on the first window, without opening a render
    view (the add-on shows the written still itself)."""
    import bpy

    context: Any = bpy.context
    window = context.window or context.window_manager.windows[0]
    view = context.preferences.view
    display, dirty = view.render_display_type, context.preferences.is_dirty
    view.render_display_type = "NONE"
    try:
        with context.temp_override(window=window):
            started = bpy.ops.render.render("INVOKE_DEFAULT", write_still=True, scene=scene.name)
    finally:
        view.render_display_type = display
        context.preferences.is_dirty = dirty  # the user's preferences are not saved for this
    if "RUNNING_MODAL" not in started:
        raise RuntimeError(f"Blender did not start a render job for scene '{scene.name}' ({', '.join(started)}): "
                           "is another render running?")


def render_still_job(scene: Any, path: Path,
                     progress: Any = None) -> Generator[None, None, Path]:
    """Render the scene's camera view to `path` as a render job; one `yield` per turn the caller
    gives the UI until the job ends. `progress(seconds)` is told how long it has run. Raises
    CancelledError when the job was stopped (Esc): Blender wrote no file then."""
    import bpy

    path.parent.mkdir(parents=True, exist_ok=True)
    scene.render.filepath = str(path)
    started = time.monotonic()
    yield  # a turn first: the editor puts the user's scene back in the window (the job renders `scene` by name)
    with JobEnd() as end:
        start_job(scene)
        while bpy.app.is_job_running("RENDER") or not end.events:
            if not bpy.app.is_job_running("RENDER") and time.monotonic() - started > 5.0:
                break  # the job ended without either handler: judged by the file below
            yield
            if progress is not None:
                progress(time.monotonic() - started)
    if "cancel" in end.events:
        path.unlink(missing_ok=True)  # Blender writes nothing when stopped; never leave a part behind
        raise CancelledError(f"render of {path.name} cancelled in Blender's render job (Esc)")
    if not path.is_file():
        raise RuntimeError(f"Blender's render job did not write {path}")
    return path
