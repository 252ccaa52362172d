"""The pure parts of hosting in Blender: which Blender wrote a .blend, the version and deps-folder
checks of the Blender worker, and the waiting reasons of queued jobs."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from engine.errors import HartomatError
from engine.render.blend_header import blend_version
from engine.render.blender_deps import MARKER, check_blender_version, check_folder
from server_bridge.catalog import caps_mask
from server_bridge.waiting import waiting_reason


def test_blend_version_reads_plain_gzip_and_blender5_headers(tmp_path: Path):
    plain = tmp_path / "plain.blend"
    plain.write_bytes(b"BLENDER-v403REND" + bytes(64))
    packed = tmp_path / "packed.blend"
    packed.write_bytes(gzip.compress(b"BLENDER_v279REND" + bytes(64)))
    five = tmp_path / "five.blend"
    five.write_bytes(b"BLENDER17-01v0500" + bytes(64))
    other = tmp_path / "other.blend"
    other.write_bytes(b"not a blend file")
    assert [blend_version(p) for p in (plain, packed, five, other)] == [(4, 3), (2, 79), (5, 0), None]


def test_a_blender_older_than_4_2_is_refused_with_its_version():
    check_blender_version((4, 2, 0))
    with pytest.raises(HartomatError, match=r"^the HartOMat farm worker needs Blender 4\.2 or newer; "
                                            r"this is Blender 4\.1\.1$"):
        check_blender_version((4, 1, 1), "the HartOMat farm worker")


def test_a_deps_folder_names_the_python_it_was_built_for(tmp_path: Path):
    (tmp_path / MARKER).write_text(json.dumps({"python": "3.11"}))
    check_folder(tmp_path, (3, 11))
    with pytest.raises(HartomatError, match=r"built for Python 3\.11, but this Blender runs Python 3\.13"):
        check_folder(tmp_path, (3, 13))
    with pytest.raises(HartomatError, match="does not exist; make it with `hartomat blender-deps"):
        check_folder(tmp_path / "missing", (3, 13))


def worker(*caps: str, blocked: tuple[str, ...] = ()) -> dict:
    return {"caps": caps_mask(caps), "blocked": set(blocked)}


@pytest.mark.parametrize(("workers", "reason"), [
    ([], "waiting: no live worker"),
    ([worker("bpy")], "waiting: needs ocp; no live worker has it"),
    ([worker()], "waiting: needs bpy, ocp; no live worker has them"),
    ([worker("bpy"), worker("ocp")], "waiting: needs bpy, ocp; no live worker has all of them"),
    ([worker("bpy", "ocp", blocked=("still",)), worker("bpy")],
     "waiting: every live worker that could run it is blocked from output type 'still' (hartomat farm unblock WORKER)"),
    ([worker("bpy"), worker("bpy", "ocp", "browser")], None),
])
def test_waiting_reasons(workers, reason):
    assert waiting_reason(caps_mask(["bpy", "ocp"]), "still", workers) == reason


def test_blender_deps_cli_names_a_blender_it_cannot_use(tmp_path: Path):
    import subprocess
    import sys

    def run(*blender: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "engine", "blender-deps", "--blender", *blender, "-o",
                               str(tmp_path / "deps")], capture_output=True, text=True, timeout=60)

    missing = run(str(tmp_path / "no-blender"))
    assert missing.returncode == 2 and f"cannot run Blender '{tmp_path / 'no-blender'}'" in missing.stderr
    not_blender = run("/bin/true")
    assert not_blender.returncode == 2 and "'/bin/true' did not answer as a Blender (exit 0)" in not_blender.stderr
    assert not (tmp_path / "deps").exists()  # nothing half-made
