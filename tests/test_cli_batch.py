"""`hartomat convert` and `hartomat render` with several STEP files: one process for the batch
(the CAD nodes of every file run in the same process: OCP imported once), one output folder per
file, a progress line per file on stderr, a broken file among good ones fails alone, and the
exit status is the number of files that failed."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from cad_support import validate_gltf
from PIL import Image

pytestmark = pytest.mark.timeout(900)


def hartomat(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "engine", *args], capture_output=True, text=True, timeout=600,
                          cwd=cwd)


def progress(stderr: str, what: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith(f"hartomat {what}: [")]


def test_convert_a_batch_with_a_broken_and_a_missing_file(tmp_path: Path, bearing_step: Path, broken_step: Path,
                                                          single_part_step: Path):
    missing = tmp_path / "gone.step"
    out = tmp_path / "glbs"
    done = hartomat("convert", str(bearing_step), str(broken_step), str(single_part_step), str(missing),
                    "-o", str(out), "--no-cache", "--work-dir", str(tmp_path / "wd"), "--json", cwd=tmp_path)
    assert done.returncode == 2, done.stderr  # two of four failed
    assert "Traceback" not in done.stderr
    lines = progress(done.stderr, "convert")
    assert [line.split("]")[0] for line in lines] == [f"hartomat convert: [{i}/4" for i in range(1, 5)]
    assert f"[2/4] {broken_step}: FAILED" in lines[1] and "extract (occ_object_extract)" in lines[1]
    assert f"[4/4] {missing}: FAILED" in lines[3] and f"STEP file not found: {missing}" in lines[3]
    assert "done" in lines[0] and "done" in lines[2]
    assert done.stderr.strip().splitlines()[-1] == "hartomat convert: 2 of 4 file(s) done, 2 failed"
    records = json.loads(done.stdout)
    assert [r["ok"] for r in records] == [True, False, True, False]
    for record, name in ((records[0], bearing_step.stem), (records[2], single_part_step.stem)):
        glb = out / name / f"{name}.glb"
        assert record["report"]["glb"] == str(glb) and validate_gltf(glb)[str(glb)]["errors"] == 0
    assert len(records[0]["report"]["parts"]) == 4
    runs = [json.loads(p.read_text()) for p in sorted((tmp_path / "wd" / "runs").glob("*/run.json"))]
    pids = {node["pid"] for run in runs for node in run["nodes"].values() if node["pid"]}
    assert len(runs) == 3 and len(pids) == 1, pids  # every file's nodes in this one process


def test_render_a_batch_with_a_broken_file_among_good_ones(tmp_path: Path, bearing_step: Path, broken_step: Path,
                                                           single_part_step: Path):
    out = tmp_path / "media"
    done = hartomat("render", str(bearing_step), str(broken_step), str(single_part_step), "--resolution", "32",
                    "--samples", "1", "--set", "thumbnails.sizes=[16]", "--no-cache",
                    "--cache-dir", str(tmp_path / "cache"), "-o", str(out), cwd=tmp_path)
    assert done.returncode == 1, done.stderr[-3000:]
    assert "Traceback" not in done.stderr
    lines = progress(done.stderr, "render")
    assert len(lines) == 3 and f"[2/3] {broken_step}: FAILED" in lines[1], lines
    assert "STEP file is truncated" in lines[1]
    assert done.stderr.strip().splitlines()[-1] == "hartomat render: 2 of 3 file(s) done, 1 failed"
    cad_pids = set()
    for step in (bearing_step, broken_step, single_part_step):
        run = json.loads((out / step.stem / "run.json").read_text())
        assert run["status"] == ("failed" if step == broken_step else "succeeded")
        cad_pids |= {run["nodes"][node]["pid"] for node in ("extract", "glb_export")}
        if step != broken_step:
            with Image.open(out / step.stem / "media" / "line-1" / "primary_render" / "still.png") as image:
                assert image.size == (32, 32) and len(image.convert("RGB").getcolors(4096) or []) > 10
    # extract and glb_export run side by side: two warm CAD processes serve all three files
    # (a pool per file would have started six)
    assert len(cad_pids) == 2, cad_pids
