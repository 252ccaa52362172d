"""The extension as users get it: built zip, Blender's validator, installed from disk with
Blender's own operator into the bpy module and into the provisioned Blender 4.3 (Python 3.13),
headless and with its GUI under Xvfb."""

from __future__ import annotations

import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

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
    assert "vendor/engine/registry.py" in names and "vendor/engine/runtime/__init__.py" in names
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
    # the operator's report tells the user (Blender prints reports of background runs)
    assert f"Info: extract, glb_export ran in the helper interpreter {helper}" in done.stdout, output[-4000:]


@pytest.mark.real_blender
@needs_blender
def test_real_blender_gui_draws_the_editor_and_runs_modally_without_errors(extension_zip, tmp_path,
                                                                           bearing_step):
    user = tmp_path / "user"
    user.mkdir()
    installed = real_blender.install_into_blender(extension_zip, user, tmp_path)
    assert "HARTOMAT_INSTALLED" in installed.stdout, installed.stdout + installed.stderr
    shot = tmp_path / "editor.png"
    done = real_blender.run_gui(SCRIPTS / "gui_driver.py", user, shot, bearing_step)
    output = done.stdout + done.stderr
    assert "HARTOMAT_GUI_OK" in done.stdout, output[-4000:]
    assert "modal run: succeeded" in done.stdout and "image shown:" in done.stdout
    assert "modal cancel: cancelled" in done.stdout, output[-4000:]  # Esc stopped the slow run
    assert real_blender.TRACEBACK not in output, output[-4000:]
    import numpy as np
    from PIL import Image

    with Image.open(shot) as image:
        pixels = np.asarray(image.convert("RGB")).reshape(-1, 3).astype(int)
    assert len(pixels) >= 1280 * 800
    assert len(np.unique(pixels, axis=0)) > 50  # a drawn editor, not a blank frame
    red = (pixels[:, 0] > 140) & (pixels[:, 1] < 50) & (pixels[:, 2] < 50)
    assert red.sum() > 500  # the red body of the node with the validation error
