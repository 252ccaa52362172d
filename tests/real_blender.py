"""Helpers for tests that need a real Blender: the provisioned executable, running it headless,
and installing an extension zip into it or into the `bpy` module (each in a fresh process with
its own user folder, so the test process's bpy is never touched)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
CHROOT = Path(os.environ.get("HARTOMAT_BLENDER_ROOT", "/var/cache/hartomat/blender-trixie"))
WRAPPER = REPO / "scripts" / "blender-chroot"
TRACEBACK = "Traceback (most recent call last)"


def blender_executable() -> list[str] | None:
    """The command that starts the provisioned Blender (through the chroot wrapper), or None."""
    if os.environ.get("HARTOMAT_BLENDER"):
        return [os.environ["HARTOMAT_BLENDER"]]
    if (CHROOT / "usr" / "bin" / "blender").exists() and os.geteuid() == 0 and shutil.which("chroot"):
        return [str(WRAPPER), "blender"]
    return None


BLENDER_DEPS = REPO / "build" / "farm-worker-deps-cp313"


def blender_python_deps() -> Path:
    """pydantic and requests for Blender 4.3's Python 3.13 (the engine's imports), fetched once
    into build/ with pip; skips the calling test when pip cannot fetch them."""
    import pytest

    if not (BLENDER_DEPS / "pydantic").is_dir() or not (BLENDER_DEPS / "requests").is_dir():
        done = subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--target", str(BLENDER_DEPS),
                               "--python-version", "3.13", "--implementation", "cp", "--only-binary=:all:",
                               "--platform", "manylinux2014_x86_64", "--platform", "manylinux_2_17_x86_64",
                               "pydantic", "requests"], capture_output=True, text=True, timeout=300)
        if done.returncode != 0:
            pytest.skip(f"cannot fetch the worker's cp313 dependencies with pip: {done.stderr[-300:]}")
    return BLENDER_DEPS


def not_provisioned_reason() -> str:
    return (f"no real Blender: {CHROOT} is not provisioned (run scripts/provision_blender.sh as root) "
            "and HARTOMAT_BLENDER is not set")


def in_chroot(command: list[str]) -> list[str]:
    """A command (e.g. ['Xvfb', ...]) run inside the provisioned Blender's chroot."""
    return [str(WRAPPER), *command] if blender_executable() and not os.environ.get("HARTOMAT_BLENDER") else command


def run_blender(args: list[str], user_dir: Path, timeout: float = 300, env: dict[str, str] | None = None,
                ) -> subprocess.CompletedProcess[str]:
    """Blender with `args`, its user config/extensions in `user_dir`; output captured as text."""
    command = blender_executable()
    if command is None:
        raise RuntimeError(not_provisioned_reason())
    full_env = {**os.environ, "BLENDER_USER_RESOURCES": str(user_dir), **(env or {})}
    return subprocess.run([*command, *args], capture_output=True, text=True, timeout=timeout, env=full_env)


def run_headless_script(script: Path, user_dir: Path, *script_args: str, timeout: float = 300,
                        ) -> subprocess.CompletedProcess[str]:
    """`blender -b --factory-startup --python-exit-code 1 --python SCRIPT -- ARGS`."""
    return run_blender(["-b", "--factory-startup", "--python-exit-code", "1", "--python", str(script),
                        "--", *script_args], user_dir, timeout=timeout)


INSTALL_SNIPPET = """
import bpy, sys
zip_path = sys.argv[sys.argv.index("--") + 1] if "--" in sys.argv else sys.argv[1]
result = bpy.ops.extensions.package_install_files(filepath=zip_path, repo="user_default",
                                                  enable_on_install=True)
assert result == {"FINISHED"}, result
import addon_utils
assert addon_utils.check("bl_ext.user_default.hartomat")[1], "hartomat extension is not enabled"
bpy.context.preferences.view.show_splash = False  # the splash would cover the editor in GUI runs
bpy.ops.wm.save_userpref()
print("HARTOMAT_INSTALLED")
"""


def install_into_blender(zip_path: Path, user_dir: Path, work_dir: Path) -> subprocess.CompletedProcess[str]:
    """Installs and enables the extension zip in the provisioned Blender with its own operator."""
    script = work_dir / "install_extension.py"
    script.write_text(INSTALL_SNIPPET)
    return run_headless_script(script, user_dir, str(zip_path))


def run_in_bpy_module(script: Path, user_dir: Path, *args: str, timeout: float = 300,
                      ) -> subprocess.CompletedProcess[str]:
    """A script in a fresh .venv Python process (the bpy module) with its own Blender user folder."""
    env = {**os.environ, "BLENDER_USER_RESOURCES": str(user_dir)}
    return subprocess.run([sys.executable, str(script), *args], capture_output=True, text=True,
                          timeout=timeout, env=env, cwd=str(script.parent))


def build_extension(out_dir: Path) -> Path:
    """Runs scripts/build_extension.py; returns the zip path it prints."""
    done = subprocess.run([sys.executable, str(REPO / "scripts" / "build_extension.py"), "--out", str(out_dir)],
                          capture_output=True, text=True, check=True, timeout=600)
    return Path(done.stdout.strip().splitlines()[-1])


GUI_SCRIPT = """
Xvfb :$1 -screen 0 1600x1000x24 -nolisten tcp >/dev/null 2>&1 &
XPID=$!
sleep 1.5
DISPLAY=:$1 blender --enable-event-simulate --python "$2" -- "$3" "$4"
CODE=$?
kill $XPID
wait $XPID 2>/dev/null
exit $CODE
"""


def free_display() -> int:
    """An X display number with no lock file (inside the chroot /tmp is the host's /tmp)."""
    for number in range(120, 200):
        if not Path(f"/tmp/.X{number}-lock").exists():
            return number
    raise RuntimeError("no free X display number between 120 and 199")


def run_gui(driver: Path, user_dir: Path, screenshot: Path, step_file: Path, timeout: float = 240,
            ) -> subprocess.CompletedProcess[str]:
    """Starts Xvfb and the Blender GUI on it (one chroot session) with a driver script that
    takes `screenshot`, runs a graph on `step_file` and quits; output captured."""
    command = blender_executable()
    if command is None:
        raise RuntimeError(not_provisioned_reason())
    runner = [str(WRAPPER)] if not os.environ.get("HARTOMAT_BLENDER") else []
    script = ["sh", "-c", GUI_SCRIPT, "gui", str(free_display()), str(driver), str(screenshot), str(step_file)]
    env = {**os.environ, "BLENDER_USER_RESOURCES": str(user_dir)}
    return subprocess.run([*runner, *script], capture_output=True, text=True, timeout=timeout, env=env)
