"""Nodes hosted in the real Blender 4.3 (Python 3.13, no Pillow): the still preset renders end to
end in Blender's own Python with the deps folder of `hartomat blender-deps`; the studio template
Blender 4.3 cannot read (saved by bpy 5.0) is built again from code by 4.3 into the per-version
cache; thumbnails come from Blender's image API; a user template from a newer Blender is refused
naming the file and both versions."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
from pathlib import Path

import pytest
from PIL import Image
from real_blender import REPO

from engine.render.blend_header import blend_version
from engine.render.blender.render_setup import UNDENOISED_FACTOR
from engine.render.template_library import BUNDLED_DIR

pytestmark = [pytest.mark.slow, pytest.mark.real_blender, pytest.mark.timeout(900)]


def _result(done: subprocess.CompletedProcess[str]) -> dict:
    line = next((x for x in done.stdout.splitlines() if x.startswith("RESULT")), None)
    assert done.returncode == 0 and line, done.stdout[-3000:] + done.stderr[-3000:]
    return json.loads(line[len("RESULT"):])


def test_still_preset_renders_in_blender_43_with_its_own_template_and_thumbnails(
        blender, blender_deps, tmp_path: Path, bearing_step: Path):
    assert blend_version(BUNDLED_DIR / "studio_white.blend") == (5, 0)  # what 4.3 cannot open
    user_library = tmp_path / "user-library"
    user_library.mkdir()
    user_template = Path(shutil.copy(BUNDLED_DIR / "studio_white.blend", user_library / "my_studio.blend"))
    out = tmp_path / "out"
    env = {**os.environ, "HARTOMAT_CACHE": str(tmp_path / "cache"), "HARTOMAT_STORE": str(tmp_path / "runs.sqlite")}
    done = subprocess.run([*blender, "-b", "--factory-startup", "--python-exit-code", "1", "-P",
                           str(REPO / "tests" / "blender_scripts" / "hosted_still.py"), "--", str(REPO), str(blender_deps),
                           str(bearing_step), str(out), str(user_template)],
                          capture_output=True, text=True, timeout=600, env=env)
    result = _result(done)
    assert result["blender"][:2] == [4, 3] and result["pillow"] is False
    assert result["exit"] == 0, done.stdout[-3000:]
    run = json.loads((out / "run.json").read_text())
    assert run["status"] == "succeeded"
    # no OpenImageDenoise in this Blender: a fact of the capabilities, the plan and the run record
    assert "built without OpenImageDenoise" in result["denoise"] and "denoise" not in result["capabilities"]
    assert any("node 'still' (blender_still) asks for denoising" in w for w in result["plan_warnings"]), result
    (image,) = [o for o in run["nodes"]["still"]["outputs"] if o["kind"] == "image"]
    assert image["data"]["denoised"] is False and image["data"]["samples"] == 2 * UNDENOISED_FACTOR, image
    with sqlite3.connect(tmp_path / "runs.sqlite") as db:  # the node's log says so too
        (logs,) = db.execute("SELECT logs FROM node_attempts WHERE run_id = ? AND node_id = 'still'",
                             (run["run_id"],)).fetchone()
    assert any("denoise: this Blender's Cycles has no OpenImageDenoise" in line for line in json.loads(logs)), logs
    assert {node["status"] for node in run["nodes"].values()} == {"succeeded"}, run["nodes"]
    assert len({node["interpreter"] for node in run["nodes"].values()}) == 1  # CAD and render: one process
    # the template: built by Blender 4.3 from code, in the cache folder of its version
    built = Path(result["built"]["path"])
    assert built.parent == tmp_path / "cache" / "blend" / "blender-4.3.2" and built.is_file()
    assert tuple(result["built"]["version"]) == (4, 3) == blend_version(built)
    # the still: the bearing framed on the studio backdrop, not blank
    still = next((out / "media").rglob("still.png"))
    with Image.open(still) as image:
        rgb = image.convert("RGB")
        assert rgb.size == (64, 64)
        colours = rgb.getcolors(64 * 64)
    assert colours is not None and len(colours) > 50
    # thumbnails by Blender's image API: the asked sizes, the still's picture
    thumbs = sorted((out / "media").rglob("thumbnails/*.*"))
    assert thumbs, list((out / "media").rglob("*"))
    for thumb in thumbs:
        with Image.open(thumb) as image:
            assert max(image.size) == int(thumb.stem.rsplit("_", 1)[1]) and image.getextrema() != ((0, 0),) * 3
    # a user's template saved by a newer Blender: named with both versions
    assert result["user_error"] == (
        f"template {user_template} was saved by Blender 5.0; this is Blender 4.3.2, which cannot open files from "
        "a newer Blender: save it again from Blender 4.3 or pick another template")


def test_the_addon_deps_folder_gives_blender_43_the_ocp_capability(blender, blender_deps, tmp_path: Path):
    from real_blender import TRACEBACK, build_extension, install_into_blender, run_blender

    user = tmp_path / "user"
    user.mkdir()
    installed = install_into_blender(build_extension(tmp_path / "ext"), user, tmp_path)
    assert "HARTOMAT_INSTALLED" in installed.stdout, installed.stdout[-2000:] + installed.stderr[-2000:]
    wrong = tmp_path / "deps-cp311"
    wrong.mkdir()
    (wrong / "hartomat-deps.json").write_text(json.dumps({"python": "3.11"}))
    script = REPO / "tests" / "blender_scripts" / "addon_deps.py"
    done = run_blender(["-b", "--python-exit-code", "1", "--python", str(script), "--", str(blender_deps), str(wrong)],
                       user)  # not --factory-startup: the installed extension and its preferences load
    assert done.returncode == 0 and TRACEBACK not in done.stderr, done.stdout[-3000:] + done.stderr[-3000:]
    lines = dict(line.split(" ", 1) for line in done.stdout.splitlines() if line.startswith(("BEFORE", "AFTER",
                                                                                              "WRONG", "OCP")))
    assert "'ocp'" not in lines["BEFORE"] and "'ocp'" in lines["AFTER"] and "'bpy'" in lines["AFTER"]
    assert lines["OCP"].startswith(str(blender_deps))
    assert lines["WRONG"].startswith(f"deps folder {wrong} was built for Python 3.11, but this Blender runs "
                                     "Python 3.13")
