"""threejs_render: the self-contained viewer page, its headless Chromium snapshot, and the
no-browser path. GLBs are made here with trimesh (OCCT-like: only baseColorFactor set)."""

from __future__ import annotations

import base64
import re
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from process_support import process_alive

from engine.chromium.browser import BROWSER_ENV, find_browser
from engine.errors import HartomatError, NodeInputError
from engine.model.artifacts import Artifact, ArtifactKind
from engine.model.context import NodeCall, OrderLine, WorkflowContext
from engine.model.registry import REGISTRY
from engine.nodes.web import ThreejsRenderSettings

BACKGROUND = (240, 240, 240)
SIZE = 96


def make_glb(path: Path) -> Path:
    """A red block and a white pin, a few centimetres, in metres like occ_glb_export writes."""
    import trimesh

    block = trimesh.creation.box(extents=(0.03, 0.02, 0.03))
    block.visual = trimesh.visual.TextureVisuals(
        material=trimesh.visual.material.PBRMaterial(baseColorFactor=[210, 30, 30, 255]))
    pin = trimesh.creation.cylinder(radius=0.004, height=0.05)
    pin.apply_translation((0.02, 0.0, 0.0))
    scene = trimesh.Scene()
    scene.add_geometry(block, node_name="block")
    scene.add_geometry(pin, node_name="pin")
    scene.export(path)
    return path


@pytest.fixture(scope="module")
def glb(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_glb(tmp_path_factory.mktemp("glb") / "block.glb")


@pytest.fixture
def chromium() -> str:
    browser = find_browser()
    if browser is None:
        pytest.fail("no headless Chromium: run scripts/setup.d/10-chromium.sh (CI installs it)")
    return browser


def run_node(tmp_path: Path, glb_path: Path, logs: list[str] | None = None, **settings: object) -> dict:
    call = NodeCall(
        node_id="web", step="threejs_render",
        settings=ThreejsRenderSettings(width=SIZE, height=SIZE, **settings),
        inputs={"glb": [Artifact(kind=ArtifactKind.GLB, path=str(glb_path), role="glb_model")]},
        workdir=tmp_path / "web", context=WorkflowContext(order_line=OrderLine(product="block"), run_dir=tmp_path),
        log=(logs.append if logs is not None else print),
    )
    return REGISTRY.executor("threejs_render")(call)


def test_viewer_page_is_self_contained(tmp_path: Path, glb: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(BROWSER_ENV, str(tmp_path / "no-browser"))
    viewer = run_node(tmp_path, glb)["viewer"]
    text = Path(viewer.path).read_text(encoding="utf-8")
    assert base64.b64encode(glb.read_bytes()).decode() in text
    assert not re.search(r"""<script[^>]+src=|<link[^>]+href=|https?://[^"'\s]*\.(js|glb|css)""", text)
    assert "GLTFLoader" in text or "glTF" in text
    assert viewer.kind == ArtifactKind.HTML_VIEWER and viewer.role == "web_viewer"


def test_no_browser_writes_viewer_and_says_png_skipped(tmp_path: Path, glb: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(BROWSER_ENV, str(tmp_path / "missing" / "chromium"))
    logs: list[str] = []
    outputs = run_node(tmp_path, glb, logs)
    assert set(outputs) == {"viewer"}
    viewer = outputs["viewer"]
    assert Path(viewer.path).is_file() and viewer.sha256
    assert viewer.data["snapshot"] is None
    assert "skipped" in viewer.data["snapshot_skipped_reason"]
    assert any("skipped" in line for line in logs)
    assert not (tmp_path / "web" / "snapshot.png").exists()


def test_snapshot_off_in_settings_skips_png(tmp_path: Path, glb: Path) -> None:
    outputs = run_node(tmp_path, glb, snapshot=False)
    assert set(outputs) == {"viewer"}
    assert "settings" in outputs["viewer"].data["snapshot_skipped_reason"]


def test_snapshot_shows_the_product(tmp_path: Path, glb: Path, chromium: str) -> None:
    logs: list[str] = []
    outputs = run_node(tmp_path, glb, logs)
    snapshot, viewer = outputs["snapshot"], outputs["viewer"]
    assert viewer.data == {"snapshot": snapshot.path, "snapshot_skipped_reason": None}
    assert snapshot.role == "web_snapshot" and snapshot.data["width"] == SIZE
    pixels = np.asarray(Image.open(snapshot.path).convert("RGB")).astype(int)
    assert pixels.shape == (SIZE, SIZE, 3)
    differs = np.abs(pixels - BACKGROUND).max(axis=2) > 24
    assert differs.mean() > 0.10, f"only {differs.mean():.1%} of the snapshot shows the product"
    centre = differs[SIZE // 3: 2 * SIZE // 3, SIZE // 3: 2 * SIZE // 3]
    assert centre.mean() > 0.5, "the product is not in the centre of the snapshot"
    product = pixels[differs]
    reddish = (product[:, 0] > product[:, 1] + 40).mean()
    assert reddish > 0.2, "the red block lost its base colour (lighting or metallic default)"
    assert not any("error" in line.lower() for line in logs)


def test_broken_glb_reports_page_errors(tmp_path: Path, chromium: str) -> None:
    broken = tmp_path / "broken.glb"
    broken.write_bytes(b"glTF" + b"\x02\x00\x00\x00" + b"\x00" * 40)
    with pytest.raises(NodeInputError, match=r"node 'web' \(threejs_render\).*broken\.glb.*reported errors"):
        run_node(tmp_path, broken)


def test_not_a_glb_names_the_file(tmp_path: Path) -> None:
    bogus = tmp_path / "model.glb"
    bogus.write_text("solid not-a-glb")
    with pytest.raises(NodeInputError, match="model.glb is not a binary glTF"):
        run_node(tmp_path, bogus)
    with pytest.raises(NodeInputError, match="does not exist"):
        run_node(tmp_path, tmp_path / "absent.glb")


def test_bearing_from_step_shows_in_the_viewer(tmp_path: Path, bearing_step: Path, chromium: str) -> None:
    """The real chain: OCP tessellates the bearing fixture to a GLB, the viewer shows it."""
    from engine.nodes.cad import OccGlbExportSettings

    step = Artifact.from_file(ArtifactKind.STEP_FILE, bearing_step, data={"product": "bearing"})
    export = NodeCall(node_id="glb_export", step="occ_glb_export", settings=OccGlbExportSettings(),
                      inputs={"step_file": [step]}, workdir=tmp_path,
                      context=WorkflowContext(order_line=OrderLine(product="bearing"), run_dir=tmp_path))
    glb_path = Path(REGISTRY.executor("occ_glb_export")(export)["glb"].path)
    snapshot = run_node(tmp_path, glb_path)["snapshot"]
    pixels = np.asarray(Image.open(snapshot.path).convert("RGB")).astype(int)
    differs = np.abs(pixels - BACKGROUND).max(axis=2) > 24
    assert differs.mean() > 0.10
    assert differs[SIZE // 3: 2 * SIZE // 3, :].any(axis=1).all(), "the bearing does not span the middle rows"


def test_browser_that_fails_is_a_clear_error(tmp_path: Path, glb: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fake = tmp_path / "chromium"
    fake.write_text("#!/bin/sh\necho 'fake browser: cannot open display' >&2\nexit 3\n")
    fake.chmod(0o755)
    monkeypatch.setenv(BROWSER_ENV, str(fake))
    with pytest.raises(HartomatError, match=r"node 'web' \(threejs_render\).*closed.*fake browser: cannot open"):
        run_node(tmp_path, glb)
    assert (tmp_path / "web" / "viewer.html").is_file()


def test_a_browser_gone_before_the_first_command_is_a_browser_error() -> None:
    import os

    from engine.chromium.browser import BrowserError, DevToolsPipe

    to_browser_read, to_browser_write = os.pipe()
    from_browser_read, from_browser_write = os.pipe()
    os.close(to_browser_read)  # the browser exited: nobody reads its command pipe
    os.close(from_browser_write)
    pipe = DevToolsPipe(to_browser_write, from_browser_read)
    with pytest.raises(BrowserError, match="closed its DevTools pipe before Target.createTarget"):
        pipe.call("Target.createTarget", {"url": "about:blank"}, timeout=5)


def hanging_browser(tmp_path: Path, hangs: int, then: str) -> Path:
    """A browser that, for its first `hangs` starts, runs but never answers; later starts exec `then`."""
    script = tmp_path / "hanging-chromium"
    script.write_text(f"""#!/bin/bash
echo $$ >> "{tmp_path}/starts"
if [ "$(wc -l < "{tmp_path}/starts")" -le {hangs} ]; then exec sleep 600; fi
exec "{then}" "$@"
""")
    script.chmod(0o755)
    return script


def test_a_start_that_never_answers_is_killed_and_started_again(
        tmp_path: Path, glb: Path, chromium: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from engine.chromium import browser

    monkeypatch.setattr(browser, "START_TIMEOUT", 2.0)
    monkeypatch.setenv(BROWSER_ENV, str(hanging_browser(tmp_path, hangs=1, then=chromium)))
    logs: list[str] = []
    outputs = run_node(tmp_path, glb, logs)
    assert Path(outputs["snapshot"].path).is_file()
    assert any("did not answer within 2 s of starting (start 1 of 3); killed it" in line for line in logs), logs
    first, second = (int(pid) for pid in (tmp_path / "starts").read_text().split())
    assert not process_alive(first) and not process_alive(second)


def test_a_browser_that_never_answers_fails_after_its_starts(
        tmp_path: Path, glb: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from engine.chromium import browser

    monkeypatch.setattr(browser, "START_TIMEOUT", 1.0)
    monkeypatch.setattr(browser, "START_ATTEMPTS", 2)
    monkeypatch.setenv(BROWSER_ENV, str(hanging_browser(tmp_path, hangs=99, then="false")))
    with pytest.raises(HartomatError, match=r"node 'web' \(threejs_render\): Chromium did not answer within 1 s "
                                            r"of starting, 2 starts in a row"):
        run_node(tmp_path, glb)
    pids = [int(pid) for pid in (tmp_path / "starts").read_text().split()]
    assert len(pids) == 2 and not any(process_alive(pid) for pid in pids)
