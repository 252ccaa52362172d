"""Metrics, render statistics and provenance against a real server and a real worker (bpy):
`/metrics` parses with prometheus_client's parser and its counts match the store; an order's
statistics add up to its run records; each media asset's provenance is in the API, the
dashboard's order view and the file itself (PNG text chunks, the MP4's comment)."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest
from farm_support import (
    FarmServer,
    derive_output_type,
    farm_cli,
    stop_process,
    token,
    worker_pool,
)
from prometheus_client.parser import text_string_to_metric_families

from engine.render.media_tags import mp4_comment, png_texts

TINY = {"still": {"resolution_x": 48, "resolution_y": 48, "samples": 2}, "thumbnails": {"sizes": [24]}}
TINY_TURNTABLE = {"turntable": {"resolution_x": 32, "resolution_y": 32, "samples": 1, "frame_count": 3}}


@pytest.fixture(scope="module")
def farm(tmp_path_factory: pytest.TempPathFactory):
    data = tmp_path_factory.mktemp("farm-stats")
    tokens = {role: token(data, role) for role in ("submit", "worker", "admin", "metrics")}
    server = FarmServer(data, lease_s=6).start()
    for name, base, kind, overrides in (("tiny", "still", "image", TINY), ("tt3", "turntable", "video", TINY_TURNTABLE)):
        reply = derive_output_type(server, tokens["admin"], name, base, kind, overrides)
        assert reply.status_code == 200, reply.text
    yield server, tokens, data
    server.stop()


@pytest.fixture(scope="module")
def rendered(farm, bearing_step, single_part_step, tmp_path_factory: pytest.TempPathFactory):
    """One order (two stills and a turntable) rendered by one real worker, which then stops."""
    server, tokens, _ = farm
    folder = tmp_path_factory.mktemp("stats-workers")
    with worker_pool(server, tokens["worker"], folder, "--no-farm-cache") as start:
        worker = start("w-stats")
        submitted = farm_cli(server, tokens["submit"], "submit", str(bearing_step), str(single_part_step),
                             "--output-type", "tiny")
        assert submitted.returncode == 0, submitted.stderr
        still_order = submitted.stdout.strip()
        submitted = farm_cli(server, tokens["submit"], "submit", str(single_part_step), "--output-type", "tt3")
        assert submitted.returncode == 0, submitted.stderr
        turntable_order = submitted.stdout.strip()
        for order_id in (still_order, turntable_order):
            waited = farm_cli(server, tokens["submit"], "status", order_id, "--wait", "--json", "--timeout", "400")
            assert waited.returncode == 0 and json.loads(waited.stdout)["status"] == "succeeded", \
                f"{waited.stdout[-3000:]}\n{(folder / 'w-stats.log').read_text()[-3000:]}"
        stop_process(worker)
    return still_order, turntable_order, folder


def order(server: FarmServer, tok: str, order_id: str) -> dict[str, Any]:
    reply = server.call("GET", f"/api/orders/{order_id}", tok)
    assert reply.status_code == 200, reply.text
    result: dict[str, Any] = reply.json()
    return result


def store_rows(data: Path, sql: str, *args: Any) -> list[sqlite3.Row]:
    """Read the server's store directly (read-only), to check what the API derives from it."""
    conn = sqlite3.connect(f"file:{data / 'farm.sqlite'}?mode=ro", uri=True)
    conn.row_factory = sqlite3.Row
    try:
        return list(conn.execute(sql, args).fetchall())
    finally:
        conn.close()


def scrape(server: FarmServer, tok: str) -> dict[str, Any]:
    reply = server.call("GET", "/metrics", tok)
    assert reply.status_code == 200, reply.text
    assert reply.headers["content-type"].startswith("text/plain; version=")
    samples: dict[str, Any] = {}
    for family in text_string_to_metric_families(reply.text):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def test_statistics_add_up_to_the_run_records(farm, rendered):
    server, tokens, data = farm
    still_order, _, _ = rendered
    status = order(server, tokens["submit"], still_order)
    stats = status["statistics"]
    assert status["estimate"] is None  # finished
    runs = store_rows(data, "SELECT r.*, j.order_line_id FROM runs r JOIN jobs j ON j.id = r.job_id "
                            "WHERE j.order_id = ? AND r.finished_at IS NOT NULL", still_order)
    assert stats["total"]["runs"] == len(runs) == 2
    assert stats["total"]["wall_s"] == pytest.approx(sum(r["finished_at"] - r["started_at"] for r in runs), abs=0.01)
    assert stats["total"]["cpu_s"] == pytest.approx(sum(r["cpu_s"] for r in runs), abs=0.01)
    for line in stats["lines"]:
        mine = [r for r in runs if r["order_line_id"] == line["line_id"]]
        assert line["runs"] == len(mine) and line["cpu_s"] == pytest.approx(sum(r["cpu_s"] for r in mine), abs=0.01)
    assert [w["name"] for w in stats["workers"]] == ["w-stats"]
    assert stats["workers"][0]["cpu_s"] == pytest.approx(stats["total"]["cpu_s"], abs=0.01)
    # per node: the report's own figures (the worker's run summary), summed over both lines
    summaries = [json.loads(r["summary"])["nodes"] for r in runs]
    nodes = {n["node_id"]: n for n in stats["nodes"]}
    for node_id, row in nodes.items():
        assert row["runs"] == 2
        assert row["wall_s"] == pytest.approx(sum(s[node_id]["duration"] for s in summaries), abs=0.01)
        assert row["cpu_s"] == pytest.approx(sum(s[node_id]["cpu"] or 0.0 for s in summaries), abs=0.01)
    # the render's CPU seconds are counted (Cycles' threads, not only wall time), and a node's CPU
    # never exceeds what its job used
    assert nodes["still"]["cpu_s"] > 0.05, nodes["still"]
    assert nodes["still"]["cpu_s"] <= stats["total"]["cpu_s"]
    shown = farm_cli(server, tokens["submit"], "status", still_order)
    assert "cost: " in shown.stdout and "node still (blender_still)" in shown.stdout and "worker w-stats" in shown.stdout


def test_farm_stats_summarise_an_output_type(farm, rendered):
    server, tokens, data = farm
    jobs = store_rows(data, "SELECT j.id, sum(r.finished_at - r.started_at) AS wall, sum(r.cpu_s) AS cpu FROM jobs j "
                            "JOIN runs r ON r.job_id = j.id WHERE j.output_type = 'tiny' AND j.status = 'succeeded' "
                            "GROUP BY j.id ORDER BY wall")
    shown = farm_cli(server, tokens["submit"], "farm", "stats", "--output-type", "tiny", "--since", "7d", "--json")
    assert shown.returncode == 0, shown.stderr
    stats = json.loads(shown.stdout)
    walls = [j["wall"] for j in jobs]
    assert stats["jobs"] == len(jobs) == 2
    assert stats["wall_s"]["median"] == pytest.approx((walls[0] + walls[1]) / 2, abs=0.002)
    assert stats["wall_s"]["p90"] == pytest.approx(walls[0] + 0.9 * (walls[1] - walls[0]), abs=0.002)
    assert stats["cpu_hours"] == pytest.approx(sum(j["cpu"] for j in jobs) / 3600, abs=1e-5)
    text = farm_cli(server, tokens["submit"], "farm", "stats", "--output-type", "tiny")
    assert "2 job(s) succeeded" in text.stdout and "CPU-hours" in text.stdout, text.stdout
    none = farm_cli(server, tokens["submit"], "farm", "stats", "--output-type", "tiny", "--since", "1s", "--json")
    assert json.loads(none.stdout)["jobs"] == 0 and json.loads(none.stdout)["wall_s"]["median"] is None
    bad = server.call("GET", "/api/stats?output_type=tiny&since=7days", tokens["submit"])
    assert bad.status_code == 422 and "query.since" in bad.json()["detail"], bad.text
    unknown = server.call("GET", "/api/stats?output_type=nope", tokens["submit"])
    assert unknown.status_code == 404 and "nope" in unknown.text


def test_a_queued_order_shows_an_estimate_from_history_and_live_workers(farm, rendered, single_part_step):
    server, tokens, data = farm
    # the worker stopped a moment ago: still counted live (seen within the liveness window)
    submitted = farm_cli(server, tokens["submit"], "submit", str(single_part_step), "--output-type", "tiny")
    order_id = submitted.stdout.strip()
    try:
        status = order(server, tokens["submit"], order_id)
        walls = sorted(r["wall"] for r in store_rows(
            data, "SELECT r.finished_at - r.started_at AS wall FROM runs r JOIN jobs j ON j.id = r.job_id "
                  "WHERE j.output_type = 'tiny' AND r.status = 'succeeded'"))
        estimate = status["estimate"]
        assert estimate["jobs_left"] == 1 and estimate["live_workers"] == 1 and estimate["why"] is None, estimate
        assert estimate["remaining_s"] == pytest.approx((walls[0] + walls[1]) / 2, abs=0.06)
        shown = farm_cli(server, tokens["submit"], "status", order_id)
        assert "estimate: " in shown.stdout and "s left (1 job(s), 1 live worker(s))" in shown.stdout, shown.stdout
    finally:
        server.call("POST", f"/api/orders/{order_id}/cancel", tokens["submit"])


def test_metrics_parse_and_match_the_store(farm, rendered):
    server, tokens, data = farm
    samples = scrape(server, tokens["metrics"])
    assert scrape(server, tokens["admin"]).keys() == samples.keys()
    for who in ("submit", "worker"):
        refused = server.call("GET", "/metrics", tokens[who])
        assert refused.status_code == 403 and "needs admin or metrics" in refused.text, refused.text
    assert server.call("GET", "/metrics", None).status_code == 401
    for row in store_rows(data, "SELECT status, output_type, count(*) AS n FROM jobs GROUP BY status, output_type"):
        assert samples[("hartomat_jobs", (("output_type", row["output_type"]), ("status", row["status"])))] == row["n"]
    assert samples[("hartomat_jobs", (("output_type", "tiny"), ("status", "failed")))] == 0
    for row in store_rows(data, "SELECT status, count(*) AS n FROM orders GROUP BY status"):
        assert samples[("hartomat_orders", (("status", row["status"]),))] == row["n"]
    live = store_rows(data, "SELECT capabilities FROM workers WHERE last_seen >= ?", time.time() - 120)
    assert samples[("hartomat_workers_live", ())] == len(live) == 1
    for capability in json.loads(live[0]["capabilities"]):
        assert samples[("hartomat_workers_live_by_capability", (("capability", capability),))] == 1
    # histograms: one count per successful run (by output type) and per node of a finished run (by step)
    for row in store_rows(data, "SELECT j.output_type, count(*) AS n, sum(r.finished_at - r.started_at) AS s "
                                "FROM runs r JOIN jobs j ON j.id = r.job_id WHERE r.status = 'succeeded' "
                                "GROUP BY j.output_type"):
        labels = (("output_type", row["output_type"]),)
        assert samples[("hartomat_job_duration_seconds_count", labels)] == row["n"]
        assert samples[("hartomat_job_duration_seconds_sum", labels)] == pytest.approx(row["s"], abs=1e-6)
        assert samples[("hartomat_job_duration_seconds_bucket", (("le", "+Inf"), *labels))] == row["n"]
    for row in store_rows(data, "SELECT step, count(*) AS n FROM node_results WHERE wall_s IS NOT NULL GROUP BY step"):
        assert samples[("hartomat_node_duration_seconds_count", (("step", row["step"]),))] == row["n"]
    claims = store_rows(data, "SELECT count(*) AS n FROM runs")[0]["n"]
    assert samples[("hartomat_claim_seconds_count", ())] == claims  # one server process saw every claim
    files = store_rows(data, "SELECT count(*) AS n, sum(size) AS bytes FROM files")[0]
    assert samples[("hartomat_store_bytes", (("part", "files"),))] == files["bytes"]
    assert samples[("hartomat_store_files", ())] == files["n"]
    assert samples[("hartomat_store_bytes", (("part", "database"),))] >= (data / "farm.sqlite").stat().st_size
    assert ("hartomat_farm_cache_hits_total", ()) in samples and ("hartomat_farm_cache_bytes", ()) in samples


def test_the_farm_cache_counters_count_lookups(farm, rendered):
    server, tokens, _ = farm
    before = scrape(server, tokens["metrics"])
    reply = server.call("GET", f"/api/cache/entries/{'0' * 64}", tokens["worker"])
    assert reply.status_code == 404
    after = scrape(server, tokens["metrics"])
    assert after[("hartomat_farm_cache_misses_total", ())] == before[("hartomat_farm_cache_misses_total", ())] + 1
    assert after[("hartomat_farm_cache_hits_total", ())] == before[("hartomat_farm_cache_hits_total", ())]


def test_provenance_is_in_the_api_the_dashboard_and_the_files(farm, rendered, tmp_path: Path):
    import bpy

    server, tokens, data = farm
    still_order, turntable_order, _ = rendered
    status = order(server, tokens["submit"], still_order)
    view = server.call("GET", f"/api/dashboard/orders/{still_order}", tokens["submit"]).json()
    workflow_sha = store_rows(data, "SELECT workflow_sha256 FROM order_lines WHERE order_id = ?", still_order)[0][0]
    worker = store_rows(data, "SELECT id, name FROM workers")[0]
    for line, shown in zip(status["lines"], view["lines"], strict=True):
        assert [a["provenance"] for a in shown["assets"]] == [a["provenance"] for a in line["assets"]]
        for asset in line["assets"]:
            record = asset["provenance"]
            assert record["worker"] == {"id": worker["id"], "name": worker["name"]}
            assert record["blender"]["version"] == bpy.app.version_string
            assert record["blender"]["build_hash"] == bpy.app.build_hash.decode()
            assert record["blender"]["host"] == "bpy module"
            assert record["ocp"]["version"] and record["ocp"]["occt"], record["ocp"]
            assert record["hartomat"] and record["workflow_sha256"] == workflow_sha
            assert len(record["overrides_sha256"]) == 64
            if asset["role"] == "primary_render":
                assert record["render"]["engine"] == "CYCLES" and record["render"]["device"] == "CPU"
                assert record["render"]["denoiser"] in ("OPENIMAGEDENOISE", None)
                assert record["render"]["samples"] == 2
            # the file itself says the same (what the server knows of the worker aside)
            path = tmp_path / asset["name"]
            path.write_bytes(server.call("GET", f"/api/assets/{asset['id']}", tokens["submit"]).content)
            texts = png_texts(path)
            embedded = json.loads(texts["HartOMat-Provenance"])
            assert embedded == {**record, "worker": {"id": worker["id"], "name": "w-stats"}}
            assert texts["Software"].startswith(f"HartOMat {record['hartomat']}; Blender {bpy.app.version_string}")
    video = order(server, tokens["submit"], turntable_order)["lines"][0]["assets"]
    mp4 = next(a for a in video if a["role"] == "turntable_video")
    path = tmp_path / "turntable.mp4"
    path.write_bytes(server.call("GET", f"/api/assets/{mp4['id']}", tokens["submit"]).content)
    assert json.loads(mp4_comment(path) or "{}") == mp4["provenance"]
    assert mp4["provenance"]["render"]["engine"] == "CYCLES"
    probe = subprocess.run(["ffprobe", "-v", "error", "-count_frames", "-show_entries",
                            "stream=nb_read_frames:format_tags=comment", "-of", "json", str(path)],
                           capture_output=True, text=True, check=True)
    probed = json.loads(probe.stdout)
    assert json.loads(probed["format"]["tags"]["comment"]) == mp4["provenance"]
    assert probed["streams"][0]["nb_read_frames"] == "3"  # the video still decodes whole


def test_an_upload_with_bad_provenance_is_refused_naming_it(farm, rendered):
    server, tokens, _ = farm
    reply = server.call("POST", "/api/jobs/job-x/assets?worker_id=w&role=r&provenance=%5B1%5D", tokens["worker"],
                        data=b"x", headers={"X-Sha256": "0" * 64})
    assert reply.status_code == 422 and "query 'provenance': must be a JSON object" in reply.text, reply.text


def test_metrics_count_live_workers_by_tag_once_workers_have_tags(tmp_path: Path):
    """The tag hook: a `tags` column on workers (a JSON list or comma-separated) becomes labels."""
    from server_bridge import metrics
    from server_bridge.db import Store

    store = Store(tmp_path / "farm.sqlite")
    with store.tx() as c:
        if "tags" not in {row["name"] for row in c.execute("PRAGMA table_info(workers)")}:
            c.execute("ALTER TABLE workers ADD COLUMN tags TEXT")
        for worker_id, tags, seen in (("w1", '["studio-a", "big-memory"]', time.time()), ("w2", "studio-a", time.time()),
                                      ("w3", '["studio-b"]', time.time() - 3600)):  # w3: gone
            c.execute("INSERT INTO workers (id, name, token_id, caps, capabilities, registered_at, last_seen, tags) "
                      "VALUES (?, ?, 't', 1, '[\"bpy\"]', ?, ?, ?)", (worker_id, worker_id, seen, seen, tags))
    families = {f.name: f for f in text_string_to_metric_families(metrics.scrape(store).decode())}
    by_tag = {s.labels["tag"]: s.value for s in families["hartomat_workers_live_by_tag"].samples}
    assert by_tag == {"studio-a": 2, "big-memory": 1}
    assert [s.value for s in families["hartomat_workers_live_by_capability"].samples] == [2]
