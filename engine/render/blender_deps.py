"""The engine's dependencies for an installed Blender's own Python, in one folder.

`hartomat blender-deps --blender BLENDER -o DIR` asks that Blender for its version and Python,
installs wheels for that Python (OCP without VTK, pydantic, requests) into DIR and records what
it built for in DIR/hartomat-deps.json; `scripts/farm_worker.py --deps DIR` and the add-on's
deps folder put DIR on `sys.path`. Stdlib only: this runs before DIR is on the path.
"""

from __future__ import annotations

import json
import shlex
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from ..errors import HartomatError

MIN_BLENDER = (4, 2)
PACKAGES = ("cadquery-ocp-novtk", "pydantic", "requests")
MARKER = "hartomat-deps.json"
PROBE_TAG = "HARTOMAT_BLENDER_PROBE "
PROBE = ("import bpy, json, platform, sys; print(" + repr(PROBE_TAG) + " + json.dumps({'blender': list(bpy.app.version),"
         " 'python': list(sys.version_info[:2]), 'machine': platform.machine()}), flush=True)")


@dataclass(frozen=True)
class BlenderInfo:
    blender: tuple[int, ...]
    python: tuple[int, int]
    machine: str

    @property
    def python_text(self) -> str:
        return f"{self.python[0]}.{self.python[1]}"


def version_text(version: tuple[int, ...] | list[int]) -> str:
    return ".".join(str(p) for p in version)


def check_blender_version(version: tuple[int, ...], what: str = "HartOMat") -> None:
    """HartomatError naming the version when this Blender is older than MIN_BLENDER."""
    if tuple(version[:2]) < MIN_BLENDER:
        raise HartomatError(f"{what} needs Blender {version_text(MIN_BLENDER)} or newer; "
                            f"this is Blender {version_text(version)}")


def probe_blender(command: str | list[str], timeout: float = 120) -> BlenderInfo:
    """Start BLENDER (an executable or a wrapper command line) headless and ask its versions."""
    argv = shlex.split(command) if isinstance(command, str) else list(command)
    try:
        done = subprocess.run([*argv, "-b", "--factory-startup", "--python-expr", PROBE],
                              capture_output=True, text=True, timeout=timeout)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise HartomatError(f"cannot run Blender {' '.join(argv)!r}: {exc}") from None
    line = next((x for x in done.stdout.splitlines() if x.startswith(PROBE_TAG)), None)
    if line is None:
        tail = (done.stderr or done.stdout).strip().splitlines()[-3:]
        raise HartomatError(f"{' '.join(argv)!r} did not answer as a Blender (exit {done.returncode}): "
                            + " / ".join(tail))
    found = json.loads(line[len(PROBE_TAG):])
    return BlenderInfo(tuple(found["blender"]), (found["python"][0], found["python"][1]), found["machine"])


def pip_command(info: BlenderInfo, target: Path, wheelhouse: Path | None = None,
                packages: tuple[str, ...] = PACKAGES) -> list[str]:
    """pip installing `packages` for Blender's Python into `target` (only from `wheelhouse` when given)."""
    command = [sys.executable, "-m", "pip", "install", "--quiet", "--upgrade", "--target", str(target),
               "--python-version", info.python_text, "--implementation", "cp", "--only-binary=:all:"]
    if wheelhouse is not None:
        command += ["--no-index", "--find-links", str(wheelhouse)]
    return [*command, *packages]


def install(info: BlenderInfo, target: Path, wheelhouse: Path | None = None) -> Path:
    """Install the engine's dependencies for `info`'s Python into `target`; returns `target`."""
    check_blender_version(info.blender, "the HartOMat farm worker")
    target.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(pip_command(info, target, wheelhouse), capture_output=True, text=True)
    if done.returncode != 0:
        raise HartomatError(f"pip could not install {', '.join(PACKAGES)} for Python {info.python_text} into "
                            f"{target}: {done.stderr.strip()[-1500:]}")
    marker = {"python": info.python_text, "blender": version_text(info.blender), "machine": info.machine,
              "packages": list(PACKAGES)}
    (target / MARKER).write_text(json.dumps(marker, indent=2) + "\n")
    return target


def check_folder(folder: str | Path, python: tuple[int, int] | None = None) -> None:
    """HartomatError when `folder` is no deps folder, or one built for another Python version."""
    folder = Path(folder)
    running = python or (sys.version_info[0], sys.version_info[1])
    running_text = f"{running[0]}.{running[1]}"
    if not folder.is_dir():
        raise HartomatError(f"deps folder {folder} does not exist; make it with "
                            f"`hartomat blender-deps --blender BLENDER -o {folder}`")
    try:
        built_for = str(json.loads((folder / MARKER).read_text())["python"])
    except (OSError, ValueError, KeyError):
        return  # a hand-made folder (pip install --target): its imports will tell
    if built_for != running_text:
        raise HartomatError(f"deps folder {folder} was built for Python {built_for}, but this Blender runs "
                            f"Python {running_text}; run `hartomat blender-deps --blender BLENDER -o {folder}` "
                            "with this Blender")
