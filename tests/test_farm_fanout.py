"""Fan-out on a real farm: `hartomat serve` on 127.0.0.1 and 2-3 `hartomat worker` processes.

A turntable line in frame chunks renders on several workers and gives the same video as one
job (checked with `hartomat compare`); a multi-angle line renders one job per view; cancelling
leaves no chunk queued; a worker SIGKILLed mid-chunk loses nothing; an assemble job whose part
files are missing or corrupt has those parts rerun. Renders are 48 px at one sample.
"""

from __future__ import annotations

import json
import signal
import subprocess
from pathlib import Path
from typing import Any

import pytest
from farm_support import (
    CLI,
    FarmServer,
    derive_output_type,
    farm_cli,
    stop_process,
    token,
    wait_until,
    worker_pool,
)

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]

TINY_TURNTABLE = {"turntable": {"resolution_x": 48, "resolution_y": 48, "samples": 1, "frame_count": 12}}
TINY_VIEWS = {"blender_still": {"resolution_x": 48, "resolution_y": 48, "samples": 1},
              "thumbnails": {"sizes": [24]}}


@pytest.fixture(scope="module")
def farm(tmp_path_factory: pytest.TempPathFactory):
    data = tmp_path_factory.mktemp("farm-fanout")
    tokens = {role: token(data, role) for role in ("submit", "worker", "admin")}
    server = FarmServer(data, lease_s=4).start()
    for name, base, kind, overrides in (("tt12", "turntable", "video", TINY_TURNTABLE),
                                        ("views", "multi_angle", "image", TINY_VIEWS)):
        reply = derive_output_type(server, tokens["admin"], name, base, kind, overrides)
        assert reply.status_code == 200, reply.text
    yield server, tokens
    server.stop()


@pytest.fixture()
def workers(farm, tmp_path: Path):
    server, tokens = farm
    with worker_pool(server, tokens["worker"], tmp_path) as start:
        yield start


def cli(server: FarmServer, tok: str, *args: str) -> subprocess.CompletedProcess[str]:
    return farm_cli(server, tok, *args, timeout=600)


def submit(server: FarmServer, tok: str, step: Path, output_type: str, *sets: str) -> str:
    args = [arg for each in sets for arg in ("--set", each)]
    done = cli(server, tok, "submit", str(step), "--output-type", output_type, *args)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def order(server: FarmServer, tok: str, order_id: str) -> dict[str, Any]:
    reply: dict[str, Any] = server.call("GET", f"/api/orders/{order_id}", tok).json()
    return reply


def finished(server: FarmServer, tok: str, order_id: str, timeout: float = 600) -> dict[str, Any]:
    status: dict[str, Any] = wait_until(lambda: (s := order(server, tok, order_id))["finished_at"] and s, timeout,
                                        f"order {order_id} to finish")
    return status


def split_and_whole(server: FarmServer, tok: str, step: Path, output_type: str,
                    split_by: str) -> tuple[str, str, dict[str, Any], dict[str, Any]]:
    """The same line split (`--set split_by`) and as one job, both finished and succeeded."""
    split, whole = submit(server, tok, step, output_type, split_by), submit(server, tok, step, output_type)
    split_status, whole_status = finished(server, tok, split), finished(server, tok, whole)
    assert split_status["status"] == whole_status["status"] == "succeeded", split_status
    return split, whole, split_status, whole_status


def job(server: FarmServer, tok: str, job_id: str) -> dict[str, Any]:
    reply: dict[str, Any] = server.call("GET", f"/api/jobs/{job_id}", tok).json()
    return reply


def registered(server: FarmServer, tok: str, count: int) -> None:
    wait_until(lambda: len(server.call("GET", "/api/workers", tok).json()) >= count, 180, f"{count} workers")


def published(line: dict[str, Any]) -> list[tuple[str, str]]:
    return sorted((a["role"], a["name"]) for a in line["assets"])


def fetch(server: FarmServer, tok: str, order_id: str, out: Path) -> Path:
    done = cli(server, tok, "fetch", order_id, "-o", str(out))
    assert done.returncode == 0, done.stderr
    return out


def fetch_both(server: FarmServer, tok: str, split: str, whole: str, tmp_path: Path) -> tuple[Path, Path]:
    return fetch(server, tok, split, tmp_path / "split"), fetch(server, tok, whole, tmp_path / "whole")


def compare(a: Path, b: Path) -> dict[str, Any]:
    done = subprocess.run([*CLI, "compare", str(a), str(b), "--json"], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def video_frames(path: Path) -> tuple[int, str]:
    probe = subprocess.run(["ffprobe", "-v", "error", "-count_frames", "-select_streams", "v:0", "-show_entries",
                            "stream=nb_read_frames,r_frame_rate", "-of", "json", str(path)],
                           capture_output=True, text=True, check=True, timeout=60)
    stream = json.loads(probe.stdout)["streams"][0]
    return int(stream["nb_read_frames"]), stream["r_frame_rate"]


def test_chunk_size_zero_or_past_the_frames_is_refused_naming_the_field(farm, single_part_step):
    from engine.model.artifacts import sha256_file

    server, tokens = farm
    line_sha = sha256_file(single_part_step)
    uploaded = server.call("POST", "/api/files", tokens["submit"], data=single_part_step.read_bytes(),
                           headers={"X-Sha256": line_sha})
    assert uploaded.status_code == 201, uploaded.text
    for size, says in ((0, "must be at least 1"), (13, "more than the 12 frames")):
        reply = server.call("POST", "/api/orders", tokens["submit"], json={"lines": [{
            "step_sha256": line_sha, "output_type": "tt12", "overrides": {"turntable": {"chunk_size": size}}}]})
        assert reply.status_code == 422, reply.text
        detail = reply.json()["detail"]
        assert "lines[0].overrides.turntable.chunk_size" in detail and says in detail, detail
    reply = server.call("POST", "/api/orders", tokens["submit"], json={"lines": [{
        "step_sha256": line_sha, "output_type": "tt12", "overrides": {"turntable": {"chunk_size": -1}}}]})
    assert reply.status_code == 422 and "chunk_size" in reply.json()["detail"], reply.text


def test_a_turntable_in_chunks_renders_on_several_workers_like_one_job(farm, workers, single_part_step,
                                                                       tmp_path: Path):
    server, tokens = farm
    for name in ("w-a", "w-b", "w-c"):
        workers(name)
    registered(server, tokens["admin"], 3)
    split, whole, split_status, whole_status = split_and_whole(server, tokens["submit"], single_part_step, "tt12",
                                                               "turntable.chunk_size=4")
    line = split_status["lines"][0]
    assert line["chunks"] == split_status["chunks"] == {"done": 3, "total": 3}
    assert [p["label"] for p in line["parts"]] == ["frames 0-3", "frames 4-7", "frames 8-11"]
    assert len({p["worker_id"] for p in line["parts"]}) > 1, line["parts"]
    assert line["job"]["kind"] == "assemble" and whole_status["lines"][0]["chunks"] == {"done": 0, "total": 0}
    assert published(line) == published(whole_status["lines"][0]) == [("turntable_video", "turntable.mp4")]
    status = cli(server, tokens["submit"], "status", split)
    assert "chunks 3/3 done" in status.stdout, status.stdout
    a, b = fetch_both(server, tokens["submit"], split, whole, tmp_path)
    video_a = next(a.glob("*/turntable_video/turntable.mp4"))
    video_b = next(b.glob("*/turntable_video/turntable.mp4"))
    assert video_frames(video_a) == video_frames(video_b) == (12, "24/1")
    assert compare(video_a, video_b)["match"] is True
    assemble = job(server, tokens["admin"], line["job"]["id"])
    nodes = {n["node_id"]: n["status"] for n in assemble["runs"][-1]["nodes"]}
    assert nodes["turntable"] == "cached" and nodes["glb_export"] == "skipped" and nodes["save"] == "succeeded"


def test_a_multi_angle_line_renders_one_job_per_view(farm, workers, single_part_step, tmp_path: Path):
    server, tokens = farm
    workers("v-a")
    workers("v-b")
    split, whole, split_status, whole_status = split_and_whole(server, tokens["submit"], single_part_step, "views",
                                                               "blender_still.split_job=true")
    line = split_status["lines"][0]
    assert sorted(p["label"] for p in line["parts"]) == [f"view still_{v}" for v in ("front", "iso", "side", "top")]
    assert line["chunks"] == {"done": 4, "total": 4}
    assert published(line) == published(whole_status["lines"][0])
    assert sum(a["is_primary"] for a in line["assets"]) == 1
    a, b = fetch_both(server, tokens["submit"], split, whole, tmp_path)
    for role in ("primary_render", "thumbnail"):
        [folder_a] = a.glob(f"*/{role}")
        [folder_b] = b.glob(f"*/{role}")
        assert compare(folder_a, folder_b)["match"] is True


def test_cancelling_a_split_order_leaves_no_chunk_queued(farm, workers, single_part_step):
    server, tokens = farm
    workers("c-a")
    order_id = submit(server, tokens["submit"], single_part_step, "tt12", "turntable.frame_count=400",
                      "turntable.chunk_size=50")

    def rendering() -> bool:
        parts = order(server, tokens["admin"], order_id)["lines"][0]["parts"]
        return any(p["status"] == "running" for p in parts)

    wait_until(rendering, 180, "a chunk to be running")
    cancelled = cli(server, tokens["submit"], "farm", "cancel", order_id)
    assert cancelled.returncode == 0, cancelled.stderr
    status = finished(server, tokens["submit"], order_id, 120)
    line = status["lines"][0]
    assert status["status"] == "cancelled" and line["assets"] == []
    assert {p["status"] for p in line["parts"]} == {"cancelled"} and line["job"]["status"] == "cancelled"
    queued = server.call("GET", f"/api/jobs/{line['parts'][-1]['id']}", tokens["admin"]).json()
    assert queued["status"] == "cancelled" and queued["runs"] == []


def test_a_worker_killed_mid_chunk_has_the_chunk_rerun_elsewhere(farm, workers, single_part_step, tmp_path: Path):
    server, tokens = farm
    victim = workers("victim")
    order_id = submit(server, tokens["submit"], single_part_step, "tt12", "turntable.frame_count=40",
                      "turntable.chunk_size=20")

    def victim_part() -> dict[str, Any] | None:
        for part in order(server, tokens["admin"], order_id)["lines"][0]["parts"]:
            detail = job(server, tokens["admin"], part["id"])
            nodes = detail["runs"][-1]["nodes"] if detail["status"] == "running" and detail["runs"] else []
            if any(n["node_id"] == "turntable" and "frame" in (n["message"] or "") for n in nodes):
                return detail
        return None

    killed = wait_until(victim_part, 180, "the victim to be rendering a chunk's frames")
    victim.send_signal(signal.SIGKILL)
    victim.wait(10)
    workers("survivor")
    status = finished(server, tokens["submit"], order_id)
    assert status["status"] == "succeeded", status
    detail = job(server, tokens["admin"], killed["id"])
    assert [r["status"] for r in detail["runs"]] == ["lost", "succeeded"]
    out = fetch(server, tokens["submit"], order_id, tmp_path / "out")
    assert video_frames(next(out.glob("*/turntable_video/turntable.mp4")))[0] == 40


def test_an_assemble_job_reruns_the_chunks_whose_files_are_missing_or_corrupt(farm, workers, single_part_step):
    server, tokens = farm
    first = workers("parts-only", "--max-jobs", "4")  # the prep job and the 3 chunks
    order_id = submit(server, tokens["submit"], single_part_step, "tt12", "turntable.chunk_size=4")
    assert first.wait(400) == 0
    line = order(server, tokens["admin"], order_id)["lines"][0]
    assert line["chunks"] == {"done": 3, "total": 3} and line["job"]["status"] == "queued"
    assemble_id = line["job"]["id"]
    by_part = _part_files(server)
    corrupt, gone = by_part[line["parts"][0]["id"]][0], by_part[line["parts"][2]["id"]][0]
    (server.data / "files" / corrupt[:2] / corrupt).write_bytes(b"not a frame")
    (server.data / "files" / gone[:2] / gone).unlink()
    workers("assembler")
    status = finished(server, tokens["submit"], order_id)
    assert status["status"] == "succeeded", status
    runs = job(server, tokens["admin"], assemble_id)["runs"]
    assert [r["status"] for r in runs] == ["failed", "succeeded"] and "parts unusable" in runs[0]["error"]
    reruns = {p["id"]: len(job(server, tokens["admin"], p["id"])["runs"]) for p in status["lines"][0]["parts"]}
    assert reruns == {line["parts"][0]["id"]: 2, line["parts"][1]["id"]: 1, line["parts"][2]["id"]: 2}
    # the corrupt frame was also in the farm cache entry of that chunk: the server re-hashes an entry's files
    # on lookup and drops it, so the chunk misses the cache and renders (not `cached`)
    rerun = job(server, tokens["admin"], line["parts"][0]["id"])
    assert {n["node_id"]: n["status"] for n in rerun["runs"][-1]["nodes"]}["turntable"] == "succeeded"


def _part_files(server: FarmServer) -> dict[str, list[str]]:
    """sha256 of each part job's files, read from the server's database (what the test corrupts)."""
    import sqlite3

    db = sqlite3.connect(server.data / "farm.sqlite")
    try:
        rows = db.execute("SELECT job_id, sha256 FROM job_parts ORDER BY job_id, member").fetchall()
    finally:
        db.close()
    found: dict[str, list[str]] = {}
    for job_id, sha in rows:
        found.setdefault(job_id, []).append(sha)
    return found


CAD_NODES = ("extract", "glb_export", "bbox", "material_rules", "materials")


def node_runs(server: FarmServer, tok: str, order_ids: list[str]) -> list[tuple[str, str, str, str]]:
    """(job kind, node id, status, message) of every job's last run in these orders."""
    found = []
    for order_id in order_ids:
        for line in order(server, tok, order_id)["lines"]:
            jobs = [line["job"], *(line["parts"]), *([line["prep"]] if line["prep"] else [])]
            for each in jobs:
                detail = job(server, tok, each["id"])
                for node in detail["runs"][-1]["nodes"]:
                    found.append((detail["kind"], node["node_id"], node["status"], node["message"] or ""))
    return found


def test_cad_nodes_run_once_farm_wide_and_bpy_only_workers_render_the_chunks(farm, workers, nested_step):
    server, tokens = farm
    cleared = cli(server, tokens["admin"], "farm", "cache", "clear")
    assert cleared.returncode == 0, cleared.stderr
    reply = derive_output_type(server, tokens["admin"], "tiny-still", "still", "image",
                               {"still": {"resolution_x": 48, "resolution_y": 48, "samples": 1}})
    assert reply.status_code == 200, reply.text
    full = workers("full")
    first = submit(server, tokens["submit"], nested_step, "tiny-still")
    assert finished(server, tokens["submit"], first)["status"] == "succeeded"
    stop_process(full)
    workers("cad-only", "--capabilities", "ocp")
    bpy_only = {"render-1", "render-2"}
    for name in sorted(bpy_only):
        workers(name, "--capabilities", "bpy")
    turntable = submit(server, tokens["submit"], nested_step, "tt12", "turntable.chunk_size=4")
    views = submit(server, tokens["submit"], nested_step, "views", "blender_still.split_job=true")
    for order_id in (turntable, views):
        assert finished(server, tokens["submit"], order_id)["status"] == "succeeded"
    runs = node_runs(server, tokens["admin"], [first, turntable, views])
    for node_id in ("extract", "glb_export"):
        ran = [r for r in runs if r[1] == node_id and r[2] == "succeeded"]
        assert len(ran) == 1 and ran[0][0] == "line", runs  # once, in the still's job
        farm_hits = [r for r in runs if r[1] == node_id and r[2] == "cached"]
        assert farm_hits and all(r[3].startswith("cached (farm)") for r in farm_hits), farm_hits
    names = {w["id"]: w["name"] for w in server.call("GET", "/api/workers", tokens["admin"]).json()}
    for order_id in (turntable, views):
        line = order(server, tokens["admin"], order_id)["lines"][0]
        assert {names[p["worker_id"]] for p in line["parts"]} <= bpy_only
        assert names[line["prep"]["worker_id"]] == "cad-only"
    stats = json.loads(cli(server, tokens["admin"], "farm", "cache", "stats", "--json").stdout)
    assert stats["hits"] >= 2 and stats["steps"]["occ_glb_export"] == 1
