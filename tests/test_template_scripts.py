"""Templates cannot run code: a .blend with a scripted driver and a registered text script is read
as a template with Python auto-execution off, in the bpy module (workers, `hartomat render`) and
in the provisioned Blender 4.3 (the farm worker inside Blender); a control run without the
engine's guard shows the same file does run its driver."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from real_blender import REPO, blender_executable, not_provisioned_reason
from test_farm_blender_worker import deps  # noqa: F401  (the cp313 pydantic the engine imports)

SCRIPT = REPO / "tests" / "blender_scripts" / "template_scripts.py"
MAKE = """
import sys, bpy
driver_marker, text_marker, out = sys.argv[sys.argv.index("--") + 1:]
bpy.ops.wm.read_factory_settings(use_empty=True)
scene = bpy.data.scenes[0]
obj = bpy.data.objects.new("trap", bpy.data.meshes.new("trap"))
scene.collection.objects.link(obj)
curve = obj.driver_add("location", 0)
curve.driver.type = "SCRIPTED"
curve.driver.expression = f"__import__('pathlib').Path({driver_marker!r}).write_text('driver ran') and 0"
text = bpy.data.texts.new("trap.py")
text.write(f"import pathlib\\npathlib.Path({text_marker!r}).write_text('text ran')\\n")
text.use_module = True
bpy.ops.wm.save_as_mainfile(filepath=out)
"""


def make_trap(folder: Path, blender: list[str] | None = None) -> tuple[Path, Path, Path]:
    """The trap .blend, saved by the Blender that will read it (4.3 cannot read 5.0's files)."""
    markers = folder / "driver-ran", folder / "text-ran"
    blend = folder / "trap.blend"
    start = [*blender, "-b", "--factory-startup", "--python-expr"] if blender else [sys.executable, "-c"]
    done = subprocess.run([*start, MAKE, "--", *map(str, markers), str(blend)], capture_output=True,
                          text=True, timeout=300)
    assert blend.is_file() and not any(m.exists() for m in markers), done.stdout + done.stderr
    return blend, *markers


def _result(done: subprocess.CompletedProcess[str]) -> dict[str, object]:
    lines = [x for x in done.stdout.splitlines() if x.startswith("HARTOMAT_RESULT ")]
    assert lines, done.stdout[-2000:] + done.stderr[-2000:]
    result: dict[str, object] = json.loads(lines[-1].split(" ", 1)[1])
    return result


def _bpy_module(blend: Path, mode: str) -> dict[str, object]:
    return _result(subprocess.run([sys.executable, str(SCRIPT), "--", str(REPO), str(blend), mode],
                                  capture_output=True, text=True, timeout=120))


def test_a_template_driver_and_text_script_do_not_run_in_the_bpy_module(tmp_path: Path):
    blend, driver_marker, text_marker = make_trap(tmp_path)
    result = _bpy_module(blend, "engine")
    assert result["autoexec_fail"] is True, result
    assert not driver_marker.exists() and not text_marker.exists()
    control = _bpy_module(blend, "control")  # the file does carry code that runs when allowed
    assert control["autoexec_fail"] is False and driver_marker.read_text() == "driver ran"


@pytest.mark.real_blender
def test_a_template_driver_does_not_run_in_blender_4_3_started_with_autoexec_on(deps, tmp_path: Path):  # noqa: F811
    command = blender_executable()
    if command is None:
        pytest.fail(not_provisioned_reason())
    blend, driver_marker, text_marker = make_trap(tmp_path, command)

    def read(mode: str) -> dict[str, object]:
        return _result(subprocess.run([*command, "-b", "--factory-startup", "--enable-autoexec", "--python-exit-code",
                                       "1", "--python", str(SCRIPT), "--", str(REPO), str(blend), mode, str(deps)],
                                      capture_output=True, text=True, timeout=300))

    result = read("engine")
    assert result["autoexec_fail"] is True, result
    assert not driver_marker.exists() and not text_marker.exists()
    assert read("control")["autoexec_fail"] is False and driver_marker.read_text() == "driver ran"
