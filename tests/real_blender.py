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


def require_blender() -> list[str]:
    """The Blender command for a test; where set-up can provision Blender (root), its absence
    fails the test, elsewhere it skips."""
    import pytest

    command = blender_executable()
    if command is None:
        if os.geteuid() == 0:
            pytest.fail(not_provisioned_reason() + "; scripts/setup.sh provisions it")
        pytest.skip(not_provisioned_reason())
    return command


WHEELHOUSE = REPO / "build" / "wheelhouse"


def make_blender_deps(out: Path) -> Path:
    """`hartomat blender-deps` for the provisioned Blender into `out`, offline from the wheelhouse
    set-up fetched (scripts/setup.d/55-blender-wheels.sh)."""
    import shlex

    if not any(WHEELHOUSE.glob("*.whl")):
        raise RuntimeError(f"{WHEELHOUSE} has no wheels; run scripts/setup.sh")
    command = require_blender()
    done = subprocess.run([str(Path(sys.executable).with_name("hartomat")), "blender-deps", "--blender",
                           shlex.join(command), "-o", str(out), "--wheelhouse", str(WHEELHOUSE)],
                          capture_output=True, text=True, timeout=600)
    if done.returncode != 0:
        raise RuntimeError(f"hartomat blender-deps failed: {done.stderr[-2000:]}")
    return Path(done.stdout.strip().splitlines()[-1])


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
Xvfb :$1 -screen 0 1920x1080x24 -nolisten tcp >/dev/null 2>&1 &
XPID=$!
sleep 1.5
D=$1; DRIVER=$2; shift 2
DISPLAY=:$D blender $HARTOMAT_GUI_INPUT --python "$DRIVER" -- "$@"
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


def run_gui(driver: Path, user_dir: Path, screenshot: Path, step_file: Path, *driver_args: str,
            timeout: float = 240, env: dict[str, str] | None = None,
            simulated_input: bool = True) -> subprocess.CompletedProcess[str]:
    """Starts Xvfb and the Blender GUI on it (one chroot session) with a driver script that
    takes `screenshot`, runs a graph on `step_file` and quits; output captured. `simulated_input`:
    the driver sends events with `window.event_simulate` (Blender then ignores real input);
    without it, real X events reach Blender (tests/blender_scripts/x_keys.py)."""
    command = blender_executable()
    if command is None:
        raise RuntimeError(not_provisioned_reason())
    runner = [str(WRAPPER)] if not os.environ.get("HARTOMAT_BLENDER") else []
    script = ["sh", "-c", GUI_SCRIPT, "gui", str(free_display()), str(driver), str(screenshot), str(step_file),
              *driver_args]
    full_env = {**os.environ, "BLENDER_USER_RESOURCES": str(user_dir),
                "HARTOMAT_GUI_INPUT": "--enable-event-simulate" if simulated_input else "", **(env or {})}
    return subprocess.run([*runner, *script], capture_output=True, text=True, timeout=timeout, env=full_env)
