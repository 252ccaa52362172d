"""The extension as users get it: built zip, Blender's validator, installed from disk with
Blender's own operator into the bpy module and into the provisioned Blender 4.3 (Python 3.13),
headless and with its GUI under Xvfb."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import numpy as np
import pytest

from tests import real_blender

REPO = Path(__file__).resolve().parent.parent
SCRIPTS = Path(__file__).resolve().parent / "blender_scripts"


def blender_ext_tool() -> Path:
    import importlib.util

    spec = importlib.util.find_spec("bpy")
    assert spec is not None and spec.origin is not None
    version = next(p for p in Path(spec.origin).parent.iterdir() if p.name[:1].isdigit())
    return version / "scripts" / "addons_core" / "bl_pkg" / "cli" / "blender_ext.py"


@pytest.fixture(scope="module")
def extension_zip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return real_blender.build_extension(tmp_path_factory.mktemp("extension"))


def validate(path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(blender_ext_tool()), "validate", str(path)],
                          capture_output=True, text=True, timeout=120)


def test_blender_ext_validate_passes_on_the_manifest_and_the_zip(extension_zip):
    staged = extension_zip.parent / "stage" / "hartomat"
    for target in (staged, extension_zip):
        done = validate(target)
        assert done.returncode == 0 and "Success" in done.stdout, done.stdout + done.stderr


def test_zip_vendors_the_engine_and_bundles_wheels_for_311_and_313(extension_zip):
    names = zipfile.ZipFile(extension_zip).namelist()
    assert "blender_manifest.toml" in names and "__init__.py" in names
    assert "vendor/engine/model/registry.py" in names and "vendor/engine/runtime/__init__.py" in names
    assert not any(n.startswith(("engine/", "server_bridge/")) for n in names)  # nothing generic top-level
    manifest = tomllib.loads((REPO / "blender_manifest.toml").read_text())
    wheels = [w.removeprefix("./") for w in manifest["wheels"]]
    assert set(wheels) <= set(names)
    assert {t for w in wheels for t in ("cp311", "cp313") if f"-{t}-" in w} == {"cp311", "cp313"}
    assert not any("__pycache__" in n for n in names)


def test_broken_manifest_fails_validation(tmp_path):
    (tmp_path / "blender_manifest.toml").write_text('schema_version = "1.0.0"\nid = "hartomat"\n')
    assert validate(tmp_path).returncode != 0


def test_install_zip_in_bpy_module_enable_disable_enable_save_reopen(extension_zip, tmp_path):
    user = tmp_path / "user"
    user.mkdir()
    done = real_blender.run_in_bpy_module(SCRIPTS / "extension_checks.py", user, str(extension_zip),
                                          str(tmp_path))
    assert "HARTOMAT_EXTENSION_OK" in done.stdout, done.stdout[-3000:] + done.stderr[-3000:]
    assert real_blender.TRACEBACK not in done.stdout + done.stderr


needs_blender = pytest.mark.skipif(real_blender.blender_executable() is None,
                                   reason=real_blender.not_provisioned_reason())


@pytest.mark.real_blender
@needs_blender
def test_real_blender_installs_the_zip_builds_starters_and_runs_cad_nodes_in_the_helper(extension_zip, tmp_path,
                                                                                       bearing_step):
    user = tmp_path / "user"
    user.mkdir()
    done = real_blender.run_headless_script(SCRIPTS / "extension_checks.py", user, str(extension_zip),
                                            str(tmp_path), str(bearing_step))
    output = done.stdout + done.stderr
    assert done.returncode == 0 and "HARTOMAT_EXTENSION_OK" in done.stdout, output[-4000:]
    assert "python 3.13" in done.stdout  # Debian's Blender 4.3 runs the extension on Python 3.13
    assert real_blender.TRACEBACK not in output
    helper = str(REPO / ".venv" / "bin" / "python")  # the README set-up's interpreter, recorded by the build
    assert f"cad nodes ran in the helper: {helper}" in done.stdout, output[-4000:]
    # the note goes to the console (and the sidebar); the operator's one report is the run's outcome
    assert f"HartOMat: extract, glb_export ran in the helper interpreter {helper}" in done.stdout, output[-4000:]
    assert "Info: HartOMat: run " in done.stdout and "Info: extract, glb_export" not in done.stdout


@pytest.mark.real_blender
@pytest.mark.slow
@needs_blender
def test_real_blender_gui_runs_the_still_preset_in_its_own_process_and_shows_it(extension_zip, tmp_path,
                                                                               bearing_step):
    user = tmp_path / "user"
    user.mkdir()
    installed = real_blender.install_into_blender(extension_zip, user, tmp_path)
    assert "HARTOMAT_INSTALLED" in installed.stdout, installed.stdout + installed.stderr
    shot, run_shot = tmp_path / "editor.png", tmp_path / "editor-run.png"
    done = real_blender.run_gui(SCRIPTS / "gui_driver.py", user, shot, bearing_step, str(run_shot),
                                timeout=600, env={"HARTOMAT_CACHE": str(tmp_path / "cache")})
    output = done.stdout + done.stderr
    assert "HARTOMAT_GUI_OK" in done.stdout, output[-4000:]
    assert "modal cancel: cancelled" in done.stdout, output[-4000:]  # Esc stopped the slow run
    assert "failed run: node 'extract' failed:" in done.stdout, output[-4000:]  # red, with its error
    for seen in FIGURES[4:]:  # first use, framing, status bar, the file, stale marks (asserted in the driver)
        assert seen in done.stdout, (seen, output[-4000:])
    assert real_blender.TRACEBACK not in output, output[-4000:]
    print(*[x for x in done.stdout.splitlines() if x.startswith(FIGURES)], sep="\n")  # shown with -s
    # the run record: render nodes in Blender's own process, CAD nodes in the helper
    line = next(x for x in done.stdout.splitlines() if x.startswith("still run: succeeded"))
    blender_pid = int(line.split(" pid ")[1].split()[0])
    run = json.loads((Path(line.split("; out ")[1].strip()) / "run.json").read_text())
    assert run["status"] == "succeeded" and {n["status"] for n in run["nodes"].values()} == {"succeeded"}
    for node_id in ("still", "thumbnails"):
        node = run["nodes"][node_id]
        assert Path(node["interpreter"]).name == "blender" and node["pid"] == blender_pid, node
    helper = str(REPO / ".venv" / "bin" / "python")
    assert {run["nodes"][n]["interpreter"] for n in ("extract", "glb_export")} == {helper}
    # the first screenshot: the editor with the red node of the validation error
    pixels = screenshot_pixels(shot)
    assert len(np.unique(pixels.reshape(-1, 3), axis=0)) > 50  # a drawn editor, not a blank frame
    assert red_mask(pixels).sum() > 500
    # the run screenshot: every node green, none red, and the still in the Image Editor
    pixels = screenshot_pixels(run_shot)
    assert green_mask(pixels).sum() > 5000 and red_mask(pixels).sum() < 100
    x, y, width, height, window_height = (int(v) for v in re.search(
        r"image editor at (\d+) (\d+) (\d+) (\d+) window height (\d+)", done.stdout).groups())
    editor = pixels[window_height - y - height:window_height - y, x:x + width]
    assert len(np.unique(editor.reshape(-1, 3), axis=0)) > 200  # the rendered bearing, not an empty editor


@pytest.mark.real_blender
@pytest.mark.slow
@needs_blender
def test_real_blender_gui_renders_the_still_as_a_render_job_that_esc_cancels(extension_zip, tmp_path, bearing_step):
    """Run Locally's still as Blender's render job: the UI answers while it renders, a real Esc
    (from the X server: the GUI runs without event simulation) stops it, the run ends cancelled with
    no image written; a tiny still then renders to its end through the same job."""
    user = tmp_path / "user"
    user.mkdir()
    installed = real_blender.install_into_blender(extension_zip, user, tmp_path)
    assert "HARTOMAT_INSTALLED" in installed.stdout, installed.stdout + installed.stderr
    shot = tmp_path / "render-job.png"
    done = real_blender.run_gui(SCRIPTS / "gui_render_job.py", user, shot, bearing_step, timeout=600,
                                env={"HARTOMAT_CACHE": str(tmp_path / "cache")}, simulated_input=False)
    output = done.stdout + done.stderr
    assert "HARTOMAT_JOB_GUI_OK" in done.stdout, output[-4000:]
    assert real_blender.TRACEBACK not in output, output[-4000:]
    ticks = int(re.search(r"render job: (\d+) timer ticks while it rendered", done.stdout).group(1))
    assert ticks >= 5  # the UI's timers kept firing during the render
    assert "Esc during the render: run cancelled ; still cancelled ; thumbnails cancelled" in done.stdout
    print(*[x for x in done.stdout.splitlines() if x.startswith(("render job:", "Esc during", "tiny still",
                                                                  "longest UI stall", "cancelled "))], sep="\n")
    assert len(np.unique(screenshot_pixels(shot).reshape(-1, 3), axis=0)) > 50  # a drawn editor


FIGURES = ("still run:", "longest UI stall", "modal cancel:", "failed run:", "first use:", "after Load Starter Graph:",
           "after the still run:", "status bar", "file after the run:", "auto-validation", "refused run", "denoise warning")


def screenshot_pixels(path: Path) -> np.ndarray:
    from PIL import Image

    with Image.open(path) as image:
        pixels = np.asarray(image.convert("RGB")).astype(int)
    assert pixels.shape[0] * pixels.shape[1] >= 1280 * 800
    return pixels


def red_mask(pixels: np.ndarray) -> np.ndarray:
    return (pixels[..., 0] > 140) & (pixels[..., 1] < 50) & (pixels[..., 2] < 50)


def green_mask(pixels: np.ndarray) -> np.ndarray:
    """The succeeded colour of marks.STATUS_COLOURS as Blender draws a node body."""
    return (pixels[..., 1] > 80) & (pixels[..., 1] - pixels[..., 0] > 35) & (pixels[..., 1] - pixels[..., 2] > 30)
