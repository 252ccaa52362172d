"""The `threejs_render` node: the web preview of a GLB, and a PNG of it where Chromium exists."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..chromium.browser import BROWSER_ENV, BrowserError, find_browser, snapshot
from ..chromium.page import ViewerConfig, write_viewer
from ..errors import NodeInputError
from ..model.artifacts import Artifact, ArtifactKind
from ..model.artifacts import ArtifactKind as K
from ..model.context import NodeCall
from ..model.node_definition import NodeDefinition, NodeSettings, inp, out
from ..model.node_settings import setting
from ..model.registry import node
from ..model.vocabulary import Capability
from ..render.imaging import foreground_share

GLB_MAGIC = b"glTF"
BLANK_SHARE = 0.005  # a snapshot with fewer non-background pixels than this shows nothing


class ThreejsRenderSettings(NodeSettings):
    width: int = setting(512, "Viewer", "Snapshot and viewer canvas width", ge=64, le=4096)
    height: int = setting(512, "Viewer", "Snapshot and viewer canvas height", ge=64, le=4096)
    background: str = setting("#f0f0f0", "Viewer", "Background colour", pattern=r"^#[0-9a-fA-F]{6}$")
    snapshot: bool = setting(True, "Snapshot", "Take a PNG of the viewer with headless Chromium if available")


def _glb_path(call: NodeCall) -> Path:
    glb = call.require("glb")
    path = Path(glb.path or "")
    if not glb.path or not path.is_file():
        raise NodeInputError(f"node '{call.node_id}' (threejs_render): GLB file {glb.path!r} does not exist")
    with path.open("rb") as handle:
        if handle.read(4) != GLB_MAGIC:
            raise NodeInputError(f"node '{call.node_id}' (threejs_render): {path} is not a binary glTF (GLB) file")
    return path


def _title(call: NodeCall, glb_path: Path) -> str:
    return call.context.order_line.product or glb_path.stem


def _skip_reason(call: NodeCall) -> tuple[str | None, str | None]:
    """(browser, None) when a snapshot can be taken, else (None, why it is skipped)."""
    if not call.settings.snapshot:
        return None, "PNG snapshot skipped: turned off in the node settings (snapshot = false)"
    browser = find_browser()
    if browser is None:
        return None, f"PNG snapshot skipped: no headless Chromium found (on PATH or in ${BROWSER_ENV})"
    return browser, None


def _take_snapshot(call: NodeCall, browser: str, page: Path, glb_path: Path) -> tuple[Path, dict[str, Any]]:
    """The PNG of the page and the viewer's stats (meshes, triangles, objects per part key)."""
    settings = call.settings
    png = call.workdir / "snapshot.png"
    call.log(f"snapshot with {browser} at {settings.width}x{settings.height}")
    try:
        report = snapshot(browser, page, png, settings.width, settings.height, log=call.log)
    except BrowserError as exc:
        raise BrowserError(f"node '{call.node_id}' (threejs_render): {exc}") from exc
    if report.errors:
        raise NodeInputError(f"node '{call.node_id}' (threejs_render): the viewer of {glb_path} reported errors: "
                             + "; ".join(report.errors))
    share = foreground_share(png, settings.background)
    if share < BLANK_SHARE:
        raise NodeInputError(f"node '{call.node_id}' (threejs_render): the snapshot of {glb_path} is blank "
                             f"({share:.2%} of pixels differ from the background)")
    stats = report.state.get("stats") or {}
    call.log(f"snapshot {png.name}: {share:.0%} of pixels show the product; stats {stats}")
    return png, stats


@node(NodeDefinition(
    key="threejs_render", label="three.js Viewer", family="render", icon="WORLD",
    description="A self-contained three.js viewer page of the GLB and a PNG of it from headless Chromium.",
    settings_model=ThreejsRenderSettings,
    inputs=(inp("glb", K.GLB),),
    outputs=(out("viewer", K.HTML_VIEWER, role="web_viewer"),
             out("snapshot", K.IMAGE, role="web_snapshot")),
    optional_capabilities=(Capability.BROWSER,),
    execution="main_thread",  # its snapshot check uses Blender's image API where Pillow is absent
))
def threejs_render(call: NodeCall) -> dict[str, Artifact | list[Artifact]]:
    """Writes viewer.html (self-contained) and, with a browser, snapshot.png taken of it."""
    settings = call.settings
    glb_path = _glb_path(call)
    call.workdir.mkdir(parents=True, exist_ok=True)
    page = write_viewer(glb_path, call.workdir / "viewer.html",
                        ViewerConfig(width=settings.width, height=settings.height, background=settings.background),
                        _title(call, glb_path))
    call.progress(0.3, "viewer page written")
    browser, reason = _skip_reason(call)
    if browser is None:
        call.log(f"viewer written to {page}; {reason}")
        viewer = Artifact.from_file(ArtifactKind.HTML_VIEWER, page, role="web_viewer",
                                    data={"snapshot": None, "snapshot_skipped_reason": reason})
        return {"viewer": viewer}
    call.check_cancelled()
    png, stats = _take_snapshot(call, browser, page, glb_path)
    call.progress(1.0, "snapshot taken")
    viewer = Artifact.from_file(ArtifactKind.HTML_VIEWER, page, role="web_viewer",
                                data={"snapshot": str(png), "snapshot_skipped_reason": None})
    image = Artifact.from_file(ArtifactKind.IMAGE, png, role="web_snapshot",
                               data={"width": settings.width, "height": settings.height, "view": "threejs",
                                     "parts": stats.get("parts") or {}})
    return {"viewer": viewer, "snapshot": image}
