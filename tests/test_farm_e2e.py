"""The farm end to end with real processes: `hartomat serve`, two `hartomat worker` processes
on the bpy module rendering tiny stills, the CLI submitting, waiting and fetching; a worker
killed with SIGKILL mid-job; the server restarted mid-order. The SIGKILL, stop signals and cancels
are sent while a worker renders a tiny turntable's frames, so they always land mid-job."""

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
    start_worker,
    token,
    wait_until,
    worker_pool,
)

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]

TINY = {"still": {"resolution_x": 64, "resolution_y": 64, "samples": 1}, "thumbnails": {"sizes": [32]}}


@pytest.fixture(scope="module")
def farm(tmp_path_factory: pytest.TempPathFactory):
    data = tmp_path_factory.mktemp("farm-e2e")
    tokens = {role: token(data, role) for role in ("submit", "worker", "admin")}
    server = FarmServer(data, lease_s=4).start()
    reply = derive_output_type(server, tokens["admin"], "tiny", "still", "image", TINY)
    assert reply.status_code == 200, reply.text
    yield server, tokens
    server.stop()


@pytest.fixture()
def workers(farm, tmp_path: Path):
    server, tokens = farm
    # every test renders for real: the farm cache would serve a test the frames an earlier one rendered
    with worker_pool(server, tokens["worker"], tmp_path, "--no-farm-cache") as start:
        yield start


def cli(server: FarmServer, tok: str, *args: str) -> subprocess.CompletedProcess[str]:
    return farm_cli(server, tok, *args)


def order(server: FarmServer, tok: str, order_id: str) -> dict[str, Any]:
    reply: dict[str, Any] = server.call("GET", f"/api/orders/{order_id}", tok).json()
    return reply


def assert_each_output_published_once(status: dict[str, Any],
                                      roles: tuple[str, ...] = ("primary_render", "thumbnail")) -> None:
    for line in status["lines"]:
        assert sorted(a["role"] for a in line["assets"]) == sorted(roles), line
        assert sum(a["is_primary"] for a in line["assets"]) == 1


def test_two_workers_render_an_order_of_four_lines(farm, workers, bearing_step, single_part_step, nested_step,
                                                   inch_step, tmp_path: Path):
    from PIL import Image

    server, tokens = farm
    workers("w-one")
    workers("w-two")
    steps = [str(p) for p in (bearing_step, single_part_step, nested_step, inch_step)]
    submitted = cli(server, tokens["submit"], "submit", *steps, "--output-type", "tiny")
    assert submitted.returncode == 0, submitted.stderr
    order_id = submitted.stdout.strip()
    waited = cli(server, tokens["submit"], "status", order_id, "--wait", "--json", "--timeout", "400")
    status = json.loads(waited.stdout)
    assert waited.returncode == 0 and status["status"] == "succeeded", waited.stdout
    assert_each_output_published_once(status)
    fetched = cli(server, tokens["submit"], "fetch", order_id, "-o", str(tmp_path / "out"))
    assert fetched.returncode == 0, fetched.stderr
    renders = sorted((tmp_path / "out").glob("*/primary_render/*.png"))
    assert len(renders) == 4
    assert all(Image.open(p).size == (64, 64) for p in renders)
    job = server.call("GET", f"/api/jobs/{status['lines'][0]['job']['id']}", tokens["admin"]).json()
    assert {n["node_id"]: n["status"] for n in job["runs"][-1]["nodes"]}["still"] == "succeeded"
    assert any("[still]" in line for line in job["logs"])


def test_a_worker_killed_mid_job_loses_nothing_and_publishes_nothing_twice(farm, workers, bearing_step,
                                                                             single_part_step):
    server, tokens = farm
    procs = {"victim": workers("victim")}
    turntable = tiny_turntable(server, tokens["admin"], "tiny-turntable", frames=40)
    submitted = cli(server, tokens["submit"], "submit", str(bearing_step), str(single_part_step),
                    "--output-type", turntable)
    order_id = submitted.stdout.strip()

    def victim_job() -> dict[str, Any] | None:
        """Whichever line's job the victim is rendering frames of: killed there, it is surely mid-job."""
        for line in order(server, tokens["admin"], order_id)["lines"]:
            job = server.call("GET", f"/api/jobs/{line['job']['id']}", tokens["admin"]).json()
            if is_rendering_frames(job):
                return job
        return None

    job = wait_until(victim_job, 120, "the victim to be rendering frames")
    procs["victim"].send_signal(signal.SIGKILL)
    procs["victim"].wait(10)
    workers("survivor")
    status = wait_until(lambda: (s := order(server, tokens["submit"], order_id))["finished_at"] and s, 300,
                        "the order to finish on the survivor")
    assert status["status"] == "succeeded"
    assert_each_output_published_once(status, roles=("turntable_video",))
    detail = server.call("GET", f"/api/jobs/{job['id']}", tokens["admin"]).json()
    assert detail["attempts"] == 2 and [r["status"] for r in detail["runs"]] == ["lost", "succeeded"]


def test_a_server_restart_mid_order_loses_nothing(farm, workers, bearing_step, single_part_step, nested_step):
    server, tokens = farm
    workers("steady")
    submitted = cli(server, tokens["submit"], "submit", str(bearing_step), str(single_part_step),
                    str(nested_step), "--output-type", "tiny")
    order_id = submitted.stdout.strip()
    wait_until(lambda: any(ln["job"]["status"] == "succeeded" for ln in order(server, tokens["admin"], order_id)
                           ["lines"]), 200, "the first line to finish")
    server.restart()
    status = wait_until(lambda: (s := order(server, tokens["submit"], order_id))["finished_at"] and s, 300,
                        "the order to finish after the restart")
    assert status["status"] == "succeeded"
    assert_each_output_published_once(status)


def test_cli_errors_are_one_line(farm, tmp_path: Path, bearing_step):
    server, tokens = farm
    down = subprocess.run([*CLI, "status", "ord-x", "--server", "http://127.0.0.1:9", "--token", "t"],
                          capture_output=True, text=True, timeout=60)
    assert down.returncode == 2 and "cannot reach the farm server" in down.stderr
    assert len(down.stderr.strip().splitlines()) == 1
    refused = cli(server, tokens["worker"], "submit", str(bearing_step), "--output-type", "tiny")
    assert refused.returncode == 2 and "HTTP 403" in refused.stderr and "Traceback" not in refused.stderr
    unknown = cli(server, tokens["submit"], "submit", str(bearing_step), "--output-type", "nope")
    assert unknown.returncode == 2 and "unknown output type 'nope'" in unknown.stderr
    missing = cli(server, tokens["submit"], "status", "ord-missing")
    assert missing.returncode == 2 and "HTTP 404" in missing.stderr


def test_shadow_mode_publishes_legacy_only_and_stores_the_parity_report(farm, workers, bearing_step):
    server, tokens = farm
    switched = cli(server, tokens["admin"], "output-type", "set-mode", "tiny", "shadow")
    assert switched.returncode == 0 and "mode shadow (set by admin)" in switched.stdout, switched.stderr
    shown = cli(server, tokens["admin"], "output-type", "show", "tiny")
    assert shown.returncode == 0 and json.loads(shown.stdout)["mode"] == "shadow", shown.stderr
    try:
        workers("shadow-worker")
        order_id = cli(server, tokens["submit"], "submit", str(bearing_step), "--output-type", "tiny").stdout.strip()
        status = json.loads(cli(server, tokens["submit"], "status", order_id, "--wait", "--json").stdout)
    finally:
        cli(server, tokens["admin"], "output-type", "set-mode", "tiny", "graph")
    assert status["status"] == "succeeded" and status["lines"][0]["job"]["mode"] == "shadow"
    assert_each_output_published_once(status)
    job = server.call("GET", f"/api/jobs/{status['lines'][0]['job']['id']}", tokens["admin"]).json()
    run = job["runs"][-1]
    assert run["mode"] == "shadow" and run["parity"]["graph_status"] == "succeeded"
    assert set(run["parity"]["roles"]) >= {"primary_render"}
    assert {a["node_id"] for a in run["summary"]["published"]} <= {n for n in run["summary"]["legacy_nodes"]}
    parity = cli(server, tokens["submit"], "parity", "tiny", "--last", "5", "--json")
    summary = json.loads(parity.stdout)
    assert summary["runs"] == 1 and summary["details"][0]["run_id"] == run["id"]
    assert summary["matched"] == int(run["parity"]["match"])
    history = server.call("GET", "/api/output-types/tiny", tokens["admin"]).json()["mode_history"]
    assert [h["new_mode"] for h in history[-2:]] == ["shadow", "graph"]


def test_a_failing_graph_falls_back_to_legacy_and_the_order_says_so(farm, workers, single_part_step):
    server, tokens = farm
    still = server.call("GET", "/api/output-types/still", tokens["admin"]).json()
    document = server.call("GET", f"/api/workflows/{still['workflow_id']}", tokens["admin"]).json()
    for node in document["nodes"]:
        if node["step"] == "resolve_template":
            node["params"]["template"] = "no-such-template"
    saved = server.call("POST", "/api/workflows", tokens["admin"], json=document).json()
    reply = server.call("PUT", "/api/output-types/tiny-broken", tokens["admin"], json={
        "family": "still", "artifact_kind": "image", "workflow_id": saved["id"], "overrides": TINY})
    assert reply.status_code == 200 and reply.json()["legacy_fallback"] is True
    workers("fallback-worker")
    order_id = cli(server, tokens["submit"], "submit", str(single_part_step), "--output-type",
                   "tiny-broken").stdout.strip()
    waited = cli(server, tokens["submit"], "status", order_id, "--wait")
    assert waited.returncode == 0 and "(fell back to legacy)" in waited.stdout, waited.stdout
    status = order(server, tokens["submit"], order_id)
    assert status["fell_back"] is True and status["lines"][0]["fell_back"] is True
    assert_each_output_published_once(status)


def is_rendering_frames(job: dict[str, Any]) -> bool:
    """Whether the job's turntable node reports rendering frames: the rest of the job is then the
    remaining frames, long enough for a signal to land while the worker is busy."""
    nodes = job["runs"][-1]["nodes"] if job["status"] == "running" and job["runs"] else []
    return any(n["node_id"] == "turntable" and n["status"] == "running" and "frame" in (n["message"] or "")
               for n in nodes)


def rendering_frames(server: FarmServer, tok: str, order_id: str) -> dict[str, Any] | None:
    """The order's (first) job once it is rendering frames."""
    job_id = order(server, tok, order_id)["lines"][0]["job"]["id"]
    job: dict[str, Any] = server.call("GET", f"/api/jobs/{job_id}", tok).json()
    return job if is_rendering_frames(job) else None


def tiny_turntable(server: FarmServer, tok: str, name: str, frames: int) -> str:
    """A turntable output type of `frames` 64 px frames at one sample (about 0.2 s a frame here)."""
    overrides = {"turntable": {"resolution_x": 64, "resolution_y": 64, "samples": 1, "frame_count": frames}}
    reply = derive_output_type(server, tok, name, "turntable", "video", overrides)
    assert reply.status_code == 200, reply.text
    return name


def test_sigterm_finishes_the_current_job_and_a_second_one_hands_it_back(farm, workers, single_part_step,
                                                                          tmp_path: Path):
    server, tokens = farm
    finisher = workers("finisher")
    short = tiny_turntable(server, tokens["admin"], "tiny-turntable", frames=40)
    first = cli(server, tokens["submit"], "submit", str(single_part_step), "--output-type", short).stdout.strip()
    wait_until(lambda: rendering_frames(server, tokens["admin"], first), 120, "the finisher to be rendering")
    finisher.send_signal(signal.SIGTERM)
    assert finisher.wait(180) == 0
    assert "stop signal: finishing the current job" in (tmp_path / "finisher.log").read_text()
    done = order(server, tokens["submit"], first)
    assert done["status"] == "succeeded" and "turntable_video" in {a["role"] for a in done["lines"][0]["assets"]}

    quitter = workers("quitter")
    long = tiny_turntable(server, tokens["admin"], "long-turntable", frames=600)
    second = cli(server, tokens["submit"], "submit", str(single_part_step), "--output-type", long).stdout.strip()
    job = wait_until(lambda: rendering_frames(server, tokens["admin"], second), 120, "the quitter to be rendering")
    quitter.send_signal(signal.SIGTERM)
    log = tmp_path / "quitter.log"
    wait_until(lambda: "stop signal" in log.read_text(), 30, "the quitter to notice the first SIGTERM")
    quitter.send_signal(signal.SIGTERM)  # a second one: cancel and hand back
    assert quitter.wait(120) == 0
    detail = server.call("GET", f"/api/jobs/{job['id']}", tokens["admin"]).json()
    assert detail["status"] == "queued" and detail["failed_workers"] == "" and detail["runs"][-1]["status"] == "handed_back"
    turntable = next(n for n in detail["runs"][-1]["nodes"] if n["node_id"] == "turntable")
    assert turntable["status"] != "succeeded"  # stopped among its frames, not after them
    cli(server, tokens["admin"], "farm", "cancel", second)
    assert order(server, tokens["submit"], second)["status"] == "cancelled"


def test_cancelling_an_order_stops_the_worker_at_its_next_heartbeat(farm, workers, bearing_step):
    server, tokens = farm
    worker = workers("cancellable")
    long = tiny_turntable(server, tokens["admin"], "long-turntable", frames=600)
    order_id = cli(server, tokens["submit"], "submit", str(bearing_step), "--output-type", long).stdout.strip()
    wait_until(lambda: rendering_frames(server, tokens["admin"], order_id), 120, "the worker to be rendering")
    cancelled = cli(server, tokens["submit"], "farm", "cancel", order_id)
    assert cancelled.returncode == 0 and "cancelled 1 job(s)" in cancelled.stdout
    status = wait_until(lambda: (s := order(server, tokens["submit"], order_id))["finished_at"] and s, 120,
                        "the cancelled order to finish")
    assert status["status"] == "cancelled" and status["lines"][0]["assets"] == []
    assert worker.poll() is None  # the worker lives on for the next job


def test_server_and_token_come_from_the_environment(farm):
    import os

    server, tokens = farm
    env = {**os.environ, "HARTOMAT_SERVER": server.url, "HARTOMAT_TOKEN": tokens["admin"]}
    listed = subprocess.run([*CLI, "output-type", "list"], capture_output=True, text=True, timeout=60, env=env)
    assert listed.returncode == 0 and "still: graph (legacy fallback)" in listed.stdout, listed.stderr
    bare = {k: v for k, v in env.items() if k not in ("HARTOMAT_SERVER", "HARTOMAT_TOKEN")}
    missing = subprocess.run([*CLI, "status", "ord-x"], capture_output=True, text=True, timeout=60, env=bare)
    assert missing.returncode == 2 and "no farm server given" in missing.stderr


def test_an_idle_worker_stops_inside_its_long_poll_on_sigterm(farm, tmp_path: Path):
    server, tokens = farm
    idle = start_worker(server, tokens["worker"], tmp_path / "idle", "idle", "--wait", "60")
    log = tmp_path / "idle.log"
    wait_until(lambda: "registered as" in log.read_text(), 120, "the idle worker to register")
    idle.send_signal(signal.SIGTERM)
    assert idle.wait(30) == 0  # well inside the 60 s poll it was waiting in
    assert "stopping after 0 job(s)" in log.read_text()
