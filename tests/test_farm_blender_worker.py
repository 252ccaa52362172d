"""The farm worker inside the provisioned real Blender 4.3 (Python 3.13, no OCP or Pillow of its
own), with a deps folder made by `hartomat blender-deps`: it registers with `bpy` and `ocp`,
says why it lacks the rest, and serves a still order and a turntable order from a real server
in one Blender process. Without OCP it says why, and a still order it cannot take shows the
reason in `hartomat status`. A deps folder built for another Python is refused naming both."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from farm_support import FarmServer, for_preset, token, wait_until
from PIL import Image
from real_blender import REPO, WHEELHOUSE

from engine.render.blender_deps import BlenderInfo, pip_command

pytestmark = [pytest.mark.slow, pytest.mark.real_blender, pytest.mark.timeout(900)]

WORKER = REPO / "scripts" / "farm_worker.py"
TINY_STILL = {"still": {"samples": 2, "resolution_x": 64, "resolution_y": 64, "denoise": False}}
TINY_TURNTABLE = {"turntable": {"samples": 1, "resolution_x": 64, "resolution_y": 64, "denoise": False,
                                "frame_count": 4}}


def run_worker(blender: list[str], *args: str, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    return subprocess.run(worker_command(blender, *args), capture_output=True, text=True, timeout=timeout)


def worker_command(blender: list[str], *args: str) -> list[str]:
    return [*blender, "-b", "--factory-startup", "--python-exit-code", "1", "-P", str(WORKER), "--", *args]


def status_json(server: FarmServer, tok: str, order_id: str) -> dict:
    done = subprocess.run([sys.executable, "-m", "engine", "status", order_id, "--json", "--server", server.url,
                           "--token", tok], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_blender_worker_with_deps_serves_a_still_and_a_turntable_order(blender, blender_deps, tmp_path: Path,
                                                                      bearing_step: Path):
    from server_bridge.client import FarmClient

    tokens = {role: token(tmp_path, role) for role in ("submit", "worker", "admin")}
    server = FarmServer(tmp_path, lease_s=20).start()
    try:
        submitter, admin = FarmClient(server.url, tokens["submit"]), FarmClient(server.url, tokens["admin"])
        admin.put_output_type("still-43", {"family": "still", "artifact_kind": "image", "tags": ["blender-43"],
                                           "workflow_id": admin.output_type("still")["workflow_id"]})
        still = submitter.submit([bearing_step], "still-43", overrides=TINY_STILL)["id"]  # needs the worker's tag
        turntable = submitter.submit([bearing_step], "turntable", overrides=TINY_TURNTABLE)["id"]
        done = run_worker(blender, "--server", server.url, "--token", tokens["worker"], "--deps", str(blender_deps),
                          "--max-jobs", "2", "--wait", "2", "--work-dir", str(tmp_path / "work"),
                          "--tags", "blender-43")
        log = done.stdout + done.stderr
        (tmp_path / "worker.log").write_text(log)  # kept for a look when the test fails
        assert done.returncode == 0, log[-4000:]
        assert "Blender 4.3" in log and "hartomat worker: capabilities: bpy, ocp" in log, log[-4000:]
        assert "lacks browser: no headless browser on PATH" in log
        workers = FarmClient(server.url, tokens["admin"]).workers()
        assert [(w["capabilities"], w["tags"]) for w in workers] == [(["bpy", "ocp"], ["blender-43"])]
        orders = {name: submitter.order(order_id) for name, order_id in (("still", still), ("turntable", turntable))}
        for name, status in orders.items():
            assert status["status"] == "succeeded", (name, status)
            assert status["lines"][0]["job"]["worker_id"] == workers[0]["id"]  # one warm Blender process
        fetched = submitter.fetch(still, tmp_path / "still")
        image = next(p for p in fetched if p.name == "still.png")
        with Image.open(image) as picture:
            assert picture.size == (64, 64) and len(picture.convert("RGB").getcolors(4096) or []) > 50
        videos = [p for p in submitter.fetch(turntable, tmp_path / "turntable") if p.suffix == ".mp4"]
        assert len(videos) == 1
        probe = subprocess.run(["ffprobe", "-v", "error", "-count_frames", "-select_streams", "v:0", "-show_entries",
                                "stream=nb_read_frames,width", "-of", "json", str(videos[0])],
                               capture_output=True, text=True, check=True)
        stream = json.loads(probe.stdout)["streams"][0]
        assert stream["width"] == 64 and int(stream["nb_read_frames"]) == 4
        # provenance: Debian's Blender 4.3 executable rendered them, on the CPU, without a denoiser
        from engine.render.media_tags import mp4_comment, png_texts

        render = next(a for a in orders["still"]["lines"][0]["assets"] if a["role"] == "primary_render")
        record = render["provenance"]
        assert record["blender"]["version"].startswith("4.3") and record["blender"]["host"] == "blender", record
        assert record["render"]["device"] == "CPU" and record["render"]["denoiser"] is None, record
        assert record["worker"]["id"] == workers[0]["id"] and record["ocp"]["occt"], record
        assert json.loads(png_texts(image)["HartOMat-Provenance"]) == record
        video = next(a for a in orders["turntable"]["lines"][0]["assets"] if a["role"] == "turntable_video")
        assert json.loads(mp4_comment(videos[0]) or "{}") == video["provenance"]
        still_stats = submitter.order(still)["statistics"]
        assert next(n for n in still_stats["nodes"] if n["node_id"] == "still")["cpu_s"] > 0, still_stats
    finally:
        server.stop()


def test_a_deps_folder_for_another_python_is_refused_naming_both(blender, blender_deps, tmp_path: Path):
    other = tmp_path / "deps-cp311"
    other.mkdir()
    marker = json.loads((blender_deps / "hartomat-deps.json").read_text())
    (other / "hartomat-deps.json").write_text(json.dumps({**marker, "python": "3.11"}))
    done = run_worker(blender, "--server", "http://127.0.0.1:9", "--token", "x", "--deps", str(other), timeout=120)
    assert done.returncode == 2, done.stdout[-2000:] + done.stderr[-2000:]
    assert (f"farm_worker: error: deps folder {other} was built for Python 3.11, but this Blender runs Python 3.13"
            in done.stderr)
    missing = tmp_path / "no-such-deps"
    done = run_worker(blender, "--server", "http://127.0.0.1:9", "--token", "x", "--deps", str(missing), timeout=120)
    assert done.returncode == 2 and f"deps folder {missing} does not exist" in done.stderr
    shutil.rmtree(other)


def test_a_still_order_waits_with_the_reason_while_only_a_worker_without_ocp_is_live(blender, tmp_path: Path,
                                                                                      bearing_step: Path):
    """The README's old recipe: pydantic and requests only, so the Blender worker has no OCP."""
    from server_bridge.client import FarmClient

    no_ocp = tmp_path / "deps-without-ocp"
    info = BlenderInfo((4, 3, 2), (3, 13), "x86_64")
    subprocess.run(pip_command(info, no_ocp, WHEELHOUSE, packages=("pydantic", "requests")), check=True,
                   capture_output=True, timeout=300)
    tokens = {role: token(tmp_path, role) for role in ("submit", "worker", "admin")}
    server = FarmServer(tmp_path).start()
    try:
        order_id = FarmClient(server.url, tokens["submit"]).submit([bearing_step], "still", overrides=TINY_STILL)["id"]
        job = status_json(server, tokens["submit"], order_id)["lines"][0]["job"]
        assert job["status"] == "queued" and job["needs"] == ["bpy", "ocp"]
        assert job["waiting"] == "waiting: no live worker"
        log = tmp_path / "worker.log"
        with log.open("w") as out:
            worker = subprocess.Popen(worker_command(blender, "--server", server.url, "--token", tokens["worker"],
                                                     "--deps", str(no_ocp), "--wait", "1", "--idle-exit", "6"),
                                      stdout=out, stderr=subprocess.STDOUT, text=True)
            try:
                wait_until(lambda: FarmClient(server.url, tokens["admin"]).workers(), 120, "the worker to register")
                job = status_json(server, tokens["submit"], order_id)["lines"][0]["job"]
                text = subprocess.run([sys.executable, "-m", "engine", "status", order_id, "--server", server.url,
                                       "--token", tokens["submit"]], capture_output=True, text=True, timeout=60)
            finally:
                assert worker.wait(120) == 0
        assert job["status"] == "queued" and job["waiting"] == "waiting: needs ocp; no live worker has it"
        assert "queued" in text.stdout and "- waiting: needs ocp; no live worker has it" in text.stdout
        lines = log.read_text()
        assert "hartomat worker: capabilities: bpy\n" in lines
        assert ("hartomat worker: lacks ocp: no module named OCP; run `hartomat blender-deps --blender BLENDER -o DIR`"
                " and start the worker with --deps DIR") in lines
    finally:
        server.stop()


def test_an_idle_blender_worker_with_one_render_thread_uses_no_cpu_after_each_preset(
        blender, blender_deps, tmp_path: Path, bearing_step: Path, monkeypatch: pytest.MonkeyPatch):
    """Issue 24: after a still, a turntable and a multi-angle order (this worker has no browser
    for still_with_exports), the waiting Blender process uses under 1% of a core."""
    from process_support import idle_cpu_share

    from server_bridge.client import FarmClient

    monkeypatch.setenv("HARTOMAT_RENDER_THREADS", "1")
    tokens = {role: token(tmp_path, role) for role in ("submit", "worker")}
    server = FarmServer(tmp_path).start()
    log = tmp_path / "worker.log"
    tiny = {"blender_still": TINY_STILL["still"], "blender_turntable": TINY_TURNTABLE["turntable"],
            "thumbnail_save": {"sizes": [16]}}
    with log.open("w") as out:
        worker = subprocess.Popen(worker_command(blender, "--server", server.url, "--token", tokens["worker"],
                                                 "--deps", str(blender_deps), "--wait", "2", "--idle-exit", "30",
                                                 "--work-dir", str(tmp_path / "work")),
                                  stdout=out, stderr=subprocess.STDOUT, text=True)
    try:
        submitter = FarmClient(server.url, tokens["submit"])
        shares = {}
        for done, preset in enumerate(("turntable", "still", "multi_angle"), start=1):
            status = submitter.wait_order(submitter.submit([bearing_step], preset, overrides=for_preset(tiny, preset))["id"], timeout=600)
            assert status["status"] == "succeeded", (preset, status, log.read_text()[-3000:])
            wait_until(lambda n=done: log.read_text().count(" -> job ") >= n, 60, "the report")
            shares[preset] = idle_cpu_share(worker.pid, 5.0)
        assert all(share < 0.01 for share in shares.values()), (shares, log.read_text()[-3000:])
        # a signal would stop only the chroot wrapper, not the Blender inside: let it leave by itself
        assert worker.wait(120) == 0, log.read_text()[-3000:]
    finally:
        if worker.poll() is None:
            worker.kill()
        server.stop()
