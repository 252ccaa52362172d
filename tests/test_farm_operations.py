"""Running the farm day to day (issue 27 points 1-4, issue 30's fair share), against a real
server on 127.0.0.1 and real `hartomat worker` processes: priorities (set at submission, changed
live, inherited by fan-out jobs), pause and resume (an order or one line), worker tags, fair
share between tenants, and deleting and archiving orders (files reclaimed, shared ones kept,
a delete raced against claims and uploads).

The probe output type (pure nodes, milliseconds a job) measures the queue; the clean-up tests
publish real GLB and STL files made by OCP from STEP fixtures.
"""

from __future__ import annotations

import hashlib
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

import pytest
import requests
from farm_support import FarmServer, farm_cli, start_worker, stop_process, token, wait_until

from server_bridge.client import FarmClient, FarmError
from server_bridge.probe import PROBE_OUTPUT_TYPE, install_probe

TAGGED = "probe-big"  # the probe, requiring the worker tag big-memory
EXPORTS = "glb-exports"  # STEP -> GLB and STL files, published (OCP only, deterministic)


@pytest.fixture
def farm(tmp_path: Path):
    data = tmp_path / "farm"
    tokens = {role: token(data, role) for role in ("submit", "worker", "admin")}
    tokens["tenant-b"] = token(data, "submit", "tenant-b")
    server = FarmServer(data, lease_s=5).start()
    admin = FarmClient(server.url, tokens["admin"])
    probe = install_probe(admin)
    assert admin.put_output_type(TAGGED, {"family": probe["family"], "artifact_kind": "step_file",
                                          "workflow_id": probe["workflow_id"], "tags": ["big-memory"]})["tags"] \
        == ["big-memory"]
    yield server, tokens
    server.stop()


def step_sha(server: FarmServer, tok: str, text: str) -> str:
    content = f"ISO-10303-21; {text} {time.monotonic_ns()}".encode()
    sha = hashlib.sha256(content).hexdigest()
    assert server.call("POST", "/api/files", tok, data=content, headers={"X-Sha256": sha}).status_code == 201
    return sha


def submit(server: FarmServer, tok: str, lines: int = 1, output_type: str = PROBE_OUTPUT_TYPE,
           **extra: Any) -> dict[str, Any]:
    sha = step_sha(server, tok, "probe")
    line_extra = {"tags": extra.pop("tags")} if "tags" in extra else {}
    reply = server.call("POST", "/api/orders", tok, json={"lines": [
        {"output_type": output_type, "step_sha256": sha, "product": f"p{i}", **line_extra} for i in range(lines)],
        **extra})
    assert reply.status_code == 201, reply.text
    order: dict[str, Any] = reply.json()
    return order


def order(server: FarmServer, tok: str, order_id: str) -> dict[str, Any]:
    reply = server.call("GET", f"/api/orders/{order_id}", tok)
    assert reply.status_code == 200, reply.text
    result: dict[str, Any] = reply.json()
    return result


def settled(server: FarmServer, tok: str, order_id: str, timeout: float = 120) -> dict[str, Any]:
    done: dict[str, Any] = wait_until(lambda: (o := order(server, tok, order_id))["finished_at"] and o, timeout,
                                      f"order {order_id} to finish")
    return done


def claim_order(server: FarmServer, tok: str, order_ids: list[str]) -> list[str]:
    """The orders' line jobs by when their (first) run started: the order the farm took them in."""
    started = []
    for order_id in order_ids:
        for line in order(server, tok, order_id)["lines"]:
            job = server.call("GET", f"/api/jobs/{line['job']['id']}", tok).json()
            started.append((job["runs"][0]["started_at"], order_id))
    return [order_id for _, order_id in sorted(started)]


def test_a_high_priority_order_submitted_last_finishes_first_and_a_changed_priority_reorders(farm, tmp_path):
    server, tokens = farm
    tok = tokens["submit"]
    first, second, third = (submit(server, tok, lines=2)["id"] for _ in range(3))
    urgent = submit(server, tok, lines=2, priority=90)
    assert urgent["priority"] == 90 and order(server, tok, first)["priority"] == 50
    moved = farm_cli(server, tok, "farm", "priority", third, "70")  # a waiting order moves up
    assert moved.returncode == 0 and f"{third}: priority 70" in moved.stdout, moved.stdout + moved.stderr
    worker = start_worker(server, tokens["worker"], tmp_path / "w1", "w1", "--capabilities", "")
    try:
        for order_id in (first, second, third, urgent["id"]):
            assert settled(server, tok, order_id)["status"] == "succeeded"
    finally:
        stop_process(worker)
    assert claim_order(server, tok, [first, second, third, urgent["id"]]) == \
        [urgent["id"]] * 2 + [third] * 2 + [first] * 2 + [second] * 2


def test_priority_bounds_and_a_settled_order_are_refused_naming_the_field(farm, tmp_path):
    server, tokens = farm
    tok = tokens["submit"]
    sha = step_sha(server, tok, "bounds")
    for bad in (101, -1, "high", 1.5):
        reply = server.call("POST", "/api/orders", tok, json={
            "lines": [{"output_type": PROBE_OUTPUT_TYPE, "step_sha256": sha}], "priority": bad})
        assert reply.status_code == 422 and "priority" in reply.json()["detail"], reply.text
    waiting = submit(server, tok)["id"]
    reply = server.call("POST", f"/api/orders/{waiting}/priority", tok, json={"priority": 101})
    assert reply.status_code == 422 and "priority" in reply.json()["detail"], reply.text
    other = server.call("POST", f"/api/orders/{waiting}/priority", tokens["tenant-b"], json={"priority": 60})
    assert other.status_code == 404, other.text  # another tenant's order is not there for it
    assert server.call("POST", f"/api/orders/{waiting}/priority", tokens["admin"], json={"priority": 60}).ok
    server.call("POST", f"/api/orders/{waiting}/cancel", tok)
    reply = server.call("POST", f"/api/orders/{waiting}/priority", tok, json={"priority": 70})
    assert reply.status_code == 409 and "is cancelled" in reply.json()["detail"], reply.text


def test_fan_out_parts_and_assemble_jobs_inherit_and_follow_the_order_priority(farm, single_part_step):
    server, tokens = farm
    admin, tok = FarmClient(server.url, tokens["admin"]), FarmClient(server.url, tokens["submit"])
    preset = admin.output_type("turntable")
    admin.put_output_type("tt-chunks", {"family": "turntable", "artifact_kind": "video",
                                        "workflow_id": preset["workflow_id"],
                                        "overrides": {"turntable": {"frame_count": 8, "chunk_size": 4}}})
    placed = tok.submit([single_part_step], "tt-chunks", priority=20)
    line = placed["lines"][0]
    jobs = [line["job"]["id"], line["prep"]["id"], *(p["id"] for p in line["parts"])]
    assert len(jobs) == 4 and {tok.job(j)["priority"] for j in jobs} == {20}
    tok.set_priority(placed["id"], 80)
    assert {tok.job(j)["priority"] for j in jobs} == {80}
    tok.cancel_order(placed["id"])


def test_a_paused_order_or_line_is_not_claimed_until_resumed(farm, tmp_path):
    server, tokens = farm
    tok = tokens["submit"]
    held = submit(server, tok, lines=2)["id"]
    half = submit(server, tok, lines=2)["id"]
    paused = farm_cli(server, tok, "farm", "pause", held)
    assert paused.returncode == 0 and "paused (paused)" in paused.stdout, paused.stdout + paused.stderr
    assert server.call("POST", f"/api/orders/{half}/pause", tok, params={"line": f"{half}-l1"}).ok
    free = submit(server, tok)["id"]
    worker = start_worker(server, tokens["worker"], tmp_path / "w1", "w1", "--capabilities", "")
    try:
        assert settled(server, tok, free)["status"] == "succeeded"
        wait_until(lambda: order(server, tok, half)["lines"][1]["job"]["status"] == "succeeded", 60, "line 2")
        time.sleep(5)  # two long polls of an idle worker: nothing paused is handed out
        status = order(server, tok, held)
        assert status["status"] == "paused" and status["pause"]["by"] == "submit", status
        assert [ln["job"]["status"] for ln in status["lines"]] == ["queued", "queued"]
        assert status["lines"][0]["job"]["waiting"] == "paused by submit"
        shown = farm_cli(server, tok, "status", held).stdout
        assert f"order {held}: paused by submit, priority 50" in shown and "- paused by submit" in shown, shown
        split = order(server, tok, half)
        assert split["status"] == "paused" and split["pause"] is None and split["lines"][0]["pause"]["by"] == "submit"
        assert split["lines"][0]["job"]["status"] == "queued" and split["lines"][0]["job"]["attempts"] == 0
        assert server.call("POST", f"/api/orders/{held}/resume", tok).ok
        assert farm_cli(server, tok, "farm", "resume", half, "--line", f"{half}-l1").returncode == 0
        for order_id in (held, half):
            done = settled(server, tok, order_id)
            assert done["status"] == "succeeded" and done["pause"] is None, done
    finally:
        stop_process(worker)
    refused = server.call("POST", f"/api/orders/{free}/pause", tok)
    assert refused.status_code == 409 and f"order '{free}' is succeeded" in refused.json()["detail"], refused.text
    cli = farm_cli(server, tok, "farm", "pause", free)
    assert cli.returncode != 0 and "is succeeded" in cli.stderr, cli.stdout + cli.stderr
    again = server.call("POST", f"/api/orders/{held}/resume", tok)
    assert again.status_code == 409 and "succeeded" in again.json()["detail"], again.text
    waiting = submit(server, tok)["id"]
    not_paused = server.call("POST", f"/api/orders/{waiting}/resume", tok)
    assert not_paused.status_code == 409 and "is not paused" in not_paused.json()["detail"], not_paused.text
    no_line = server.call("POST", f"/api/orders/{waiting}/pause", tok, params={"line": "nope"})
    assert no_line.status_code == 404 and "no line 'nope'" in no_line.json()["detail"], no_line.text
    server.call("POST", f"/api/orders/{waiting}/cancel", tok)


def test_a_job_requiring_a_tag_waits_with_a_reason_until_a_tagged_worker_starts(farm, tmp_path):
    server, tokens = farm
    tok = tokens["submit"]
    unknown = server.call("POST", "/api/orders", tok, json={"lines": [
        {"output_type": PROBE_OUTPUT_TYPE, "step_sha256": step_sha(server, tok, "t"), "tags": ["studio-a"]}]})
    assert unknown.status_code == 422 and "lines[0].tags: unknown tag(s) 'studio-a'" in unknown.json()["detail"]
    malformed = server.call("POST", "/api/orders", tok, json={"lines": [
        {"output_type": PROBE_OUTPUT_TYPE, "step_sha256": step_sha(server, tok, "t"), "tags": ["Big Memory"]}]})
    assert malformed.status_code == 422 and "tags" in malformed.json()["detail"], malformed.text
    big = submit(server, tok, output_type=TAGGED)["id"]
    plain = start_worker(server, tokens["worker"], tmp_path / "plain", "plain", "--capabilities", "")
    tagged = None
    try:
        line = wait_until(lambda: (j := order(server, tok, big)["lines"][0]["job"])["waiting"] != "waiting: no live "
                          "worker" and j, 30, "the untagged worker to be live")
        assert line["waiting"] == "waiting: needs tag(s) big-memory; no live worker has it", line
        assert line["needs_tags"] == ["big-memory"] and line["status"] == "queued"
        time.sleep(4)  # the untagged worker keeps polling and never takes it
        assert order(server, tok, big)["lines"][0]["job"]["attempts"] == 0
        tagged = start_worker(server, tokens["worker"], tmp_path / "tagged", "tagged", "--capabilities", "",
                              "--tags", "big-memory,studio-a")
        done = settled(server, tok, big)
        assert done["status"] == "succeeded"
        studio = submit(server, tok, tags=["studio-a"])["id"]  # known now: a worker offers it
        assert settled(server, tok, studio)["status"] == "succeeded"
        workers = {w["name"]: w for w in FarmClient(server.url, tokens["admin"]).workers()}
        assert workers["tagged"]["tags"] == ["big-memory", "studio-a"] and workers["plain"]["tags"] == []
        for order_id in (big, studio):
            assert order(server, tok, order_id)["lines"][0]["job"]["worker_id"] == workers["tagged"]["id"]
        listed = farm_cli(server, tokens["admin"], "farm", "workers")
        assert "tagged [] tags: big-memory, studio-a" in listed.stdout, listed.stdout + listed.stderr
        types = farm_cli(server, tokens["admin"], "output-type", "list").stdout
        assert f"{TAGGED}: graph (legacy fallback), family still, step_file, workflow wf-probe, needs tags big-memory" \
            in types, types
    finally:
        stop_process(plain)
        if tagged is not None:
            stop_process(tagged)


def test_fair_share_one_big_order_does_not_starve_another_tenant(farm, tmp_path):
    server, tokens = farm
    big = submit(server, tokens["submit"], lines=30)["id"]
    small = submit(server, tokens["tenant-b"], lines=3)["id"]
    worker = start_worker(server, tokens["worker"], tmp_path / "w1", "w1", "--capabilities", "")
    try:
        settled(server, tokens["submit"], big)
        settled(server, tokens["tenant-b"], small)
    finally:
        stop_process(worker)
    admin = tokens["admin"]
    taken = claim_order(server, admin, [big, small])
    turns = [i for i, order_id in enumerate(taken) if order_id == small]
    assert turns in ([0, 2, 4], [1, 3, 5]), taken  # alternating (who goes first: the tenant's token id)
    urgent = submit(server, tokens["submit"], lines=4, priority=80)["id"]  # a priority still wins over turns
    later = submit(server, tokens["tenant-b"], lines=2)["id"]
    worker = start_worker(server, tokens["worker"], tmp_path / "w2", "w2", "--capabilities", "")
    try:
        settled(server, admin, urgent)
        settled(server, admin, later)
    finally:
        stop_process(worker)
    assert claim_order(server, admin, [urgent, later]) == [urgent] * 4 + [later] * 2


def exports_type(server: FarmServer, admin_tok: str) -> None:
    """An output type publishing the GLB and the per-part STL files of the STEP (no Blender)."""
    admin = FarmClient(server.url, admin_tok)
    document = {"version": 1, "name": "exports", "family": "still", "nodes": [
        {"id": "setup", "step": "order_line_setup"}, {"id": "step", "step": "resolve_step_path"},
        {"id": "glb", "step": "occ_glb_export"}, {"id": "stl", "step": "stl_cache_generate"},
        {"id": "save", "step": "output_save"}], "edges": [
        {"source": "setup", "source_output": "order_line", "target": "step", "target_input": "order_line"},
        {"source": "step", "source_output": "step_file", "target": "glb", "target_input": "step_file"},
        {"source": "step", "source_output": "step_file", "target": "stl", "target_input": "step_file"},
        {"source": "glb", "source_output": "glb", "target": "save", "target_input": "media"},
        {"source": "stl", "source_output": "stl_set", "target": "save", "target_input": "media"}]}
    saved = admin.save_workflow(document, "wf-exports")
    admin.put_output_type(EXPORTS, {"family": "still", "artifact_kind": "glb", "workflow_id": saved["id"]})


def stored(server: FarmServer, sha: str) -> Path:
    return server.data / "files" / sha[:2] / sha


def test_delete_and_archive_reclaim_files_and_leave_shared_ones(farm, tmp_path, single_part_step, bearing_step):
    server, tokens = farm
    exports_type(server, tokens["admin"])
    client = FarmClient(server.url, tokens["submit"])
    first = client.submit([single_part_step], EXPORTS)["id"]
    worker = start_worker(server, tokens["worker"], tmp_path / "w1", "w1", "--capabilities", "ocp",
                          "--no-farm-cache")
    try:
        settled(server, tokens["submit"], first, 300)
        twin = client.submit([single_part_step], EXPORTS)["id"]  # the same product: the same GLB and STL files
        other = client.submit([bearing_step], EXPORTS)["id"]
        for order_id in (twin, other):
            assert settled(server, tokens["submit"], order_id, 300)["status"] == "succeeded"
    finally:
        stop_process(worker)
    assets = {o: order(server, tokens["submit"], o)["lines"][0]["assets"] for o in (first, twin, other)}
    shas = {o: {a["sha256"] for a in found} for o, found in assets.items()}
    assert shas[first] and shas[first] == shas[twin] and not shas[first] & shas[other], shas
    for found in assets.values():
        assert all(stored(server, a["sha256"]).is_file() for a in found)

    refused = server.call("DELETE", f"/api/orders/{other}", tokens["tenant-b"])
    assert refused.status_code == 404, refused.text  # another tenant's order
    gone = farm_cli(server, tokens["submit"], "farm", "delete", other)
    assert gone.returncode == 0 and f"{other}: deleted" in gone.stdout, gone.stdout + gone.stderr
    assert not any(stored(server, sha).exists() for sha in shas[other])
    assert server.call("GET", f"/api/orders/{other}", tokens["submit"]).status_code == 410
    said = server.call("GET", f"/api/orders/{other}", tokens["admin"]).json()["detail"]
    assert f"order '{other}' was deleted by submit at " in said and "bytes freed" in said, said

    record = client.delete_order(first)
    assert record["files_removed"] == 0 and record["files_kept"] == len(shas[first]) and record["bytes_freed"] == 0
    for asset in assets[twin]:  # the twin's files stay, and still download whole
        body = server.call("GET", f"/api/assets/{asset['id']}", tokens["submit"])
        assert body.status_code == 200 and hashlib.sha256(body.content).hexdigest() == asset["sha256"]

    dry = farm_cli(server, tokens["admin"], "farm", "archive", "--older-than", "0s", "--dry-run")
    assert dry.returncode == 0 and f"would archive 1 order(s): {len(shas[twin])} file(s)" in dry.stdout, dry.stdout
    assert order(server, tokens["submit"], twin)["status"] == "succeeded"
    assert all(stored(server, sha).is_file() for sha in shas[twin])
    with pytest.raises(FarmError, match="HTTP 403"):
        client.archive(0.0)  # archiving is an admin's
    admin = FarmClient(server.url, tokens["admin"])
    assert admin.archive(3600.0)["orders"] == []  # nothing settled that long ago
    archived = admin.archive(0.0)
    size = sum(a["size"] for a in assets[twin])
    assert [r["order_id"] for r in archived["orders"]] == [twin] and archived["bytes_freed"] == size, archived
    assert archived["orders"][0]["removed_by"] == "admin" and archived["orders"][0]["action"] == "archived"
    assert not any(stored(server, sha).exists() for sha in shas[twin])
    assert stored(server, assets[twin][0]["sha256"]).parent.is_dir()
    store = sqlite3.connect(server.data / "farm.sqlite")
    for table in ("order_lines", "jobs", "media_assets"):
        assert store.execute(f"SELECT count(*) FROM {table}").fetchone()[0] == 0, table
    assert store.execute("SELECT count(*) FROM order_removals").fetchone()[0] == 3


def test_deleting_a_live_order_needs_cancel_and_is_refused_for_others(farm, tmp_path):
    server, tokens = farm
    tok = tokens["submit"]
    live = submit(server, tok, lines=2)["id"]
    refused = server.call("DELETE", f"/api/orders/{live}", tok)
    assert refused.status_code == 409, refused.text
    assert "is queued (0 job(s) running, 2 waiting): delete it with cancel=true" in refused.json()["detail"]
    cli = farm_cli(server, tok, "farm", "delete", live)
    assert cli.returncode != 0 and "--cancel" in cli.stderr, cli.stdout + cli.stderr
    worker_client = FarmClient(server.url, tokens["worker"])
    wid = worker_client.register("racer", [])["worker_id"]
    job = worker_client.claim(wid, 0)
    assert job is not None and job["order_id"] == live
    refused = server.call("DELETE", f"/api/orders/{live}", tok).json()["detail"]
    assert "is running (1 job(s) running, 1 waiting)" in refused, refused
    done = farm_cli(server, tok, "farm", "delete", live, "--cancel")
    assert done.returncode == 0 and f"{live}: deleted (2 job(s)" in done.stdout, done.stdout + done.stderr
    late = server.call("POST", f"/api/jobs/{job['job_id']}/complete", tokens["worker"],
                       json={"worker_id": wid, "status": "succeeded"})
    assert late.status_code == 409, late.text  # the worker learns its job is gone
    assert server.call("GET", f"/api/orders/{live}", tok).status_code == 410


def _upload(server: FarmServer, tok: str, wid: str, job_id: str, content: bytes) -> requests.Response:
    return server.call("POST", f"/api/jobs/{job_id}/assets", tok, data=content,
                       params={"worker_id": wid, "role": "image", "name": "x.png", "kind": "image"},
                       headers={"X-Sha256": hashlib.sha256(content).hexdigest()})


def _race(server: FarmServer, tokens: dict[str, str], wid: str, doomed: list[str], live: str,
          content: bytes) -> dict[str, Any]:
    """Delete the `doomed` orders (cancelling) while a worker claims and reports every job it
    can, uploading `content` as the asset of `live`'s job; all start at one barrier."""
    wtok, wc = tokens["worker"], FarmClient(server.url, tokens["worker"])
    barrier = threading.Barrier(len(doomed) + 1)
    results: dict[str, Any] = {"reports": {}}

    def delete(order_id: str) -> None:
        barrier.wait()
        results[order_id] = server.call("DELETE", f"/api/orders/{order_id}", tokens["submit"],
                                        params={"cancel": "true"})

    def work() -> None:
        barrier.wait()
        while (job := wc.claim(wid, 0)) is not None:
            if job["order_id"] == live:
                results["upload"] = _upload(server, wtok, wid, job["job_id"], content)
            results["reports"][job["order_id"]] = server.call(
                "POST", f"/api/jobs/{job['job_id']}/complete", wtok, json={"worker_id": wid, "status": "succeeded"})

    threads = [*(threading.Thread(target=delete, args=(order_id,)) for order_id in doomed),
               threading.Thread(target=work)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    return results


def test_a_delete_raced_against_claims_and_uploads_never_removes_what_a_live_order_uses(farm):
    """Each round: order A (settled, its asset has content X) is deleted while a worker claims
    order B's job and uploads the same content X; and order C is deleted (cancel) while the
    worker claims. B's asset must stay downloadable whatever the interleaving; C is gone at the
    end, its job's report (if it was handed out) taken before the delete or refused after it;
    nothing answers 500."""
    server, tokens = farm
    wtok, tok = tokens["worker"], tokens["submit"]
    wc = FarmClient(server.url, wtok)
    wid = wc.register("racer", [])["worker_id"]
    statuses: list[int] = []
    for round_ in range(12):
        content = f"shared output {round_} {time.monotonic_ns()}".encode() * 2000
        a = submit(server, tok)["id"]
        job = wc.claim(wid, 0)
        assert job is not None and job["order_id"] == a
        assert _upload(server, wtok, wid, job["job_id"], content).status_code == 201
        wc.complete(job["job_id"], wid, {"status": "succeeded"})
        b, c = submit(server, tok)["id"], submit(server, tok)["id"]
        results = _race(server, tokens, wid, [a, c], b, content)
        reports = results["reports"]
        statuses += [results[a].status_code, results[c].status_code, results["upload"].status_code,
                     *(r.status_code for r in reports.values())]
        assert results[a].status_code == 200 and results[c].status_code == 200, results
        assert results["upload"].status_code == 201, results["upload"].text
        assert reports[b].status_code == 200, reports[b].text
        if c in reports:  # claimed before the delete: reported before it, or refused after it
            assert reports[c].status_code in (200, 409), reports[c].text
        assert server.call("GET", f"/api/orders/{c}", tok).status_code == 410
        done = order(server, tok, b)
        assert done["status"] == "succeeded"
        (asset,) = done["lines"][0]["assets"]
        body = server.call("GET", f"/api/assets/{asset['id']}", tok)
        assert body.status_code == 200 and body.content == content, f"round {round_}: {body.status_code}"
    assert 500 not in statuses
