"""`hartomat run` and `hartomat runs`: dry run, overrides, summaries, errors without tracebacks."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from engine.cli import main
from engine.model.workflow import Workflow

PURE_GRAPH = {
    "version": 1, "name": "pure", "family": "still",
    "nodes": [{"id": "setup", "step": "order_line_setup", "params": {"output_type": "still"}},
              {"id": "notify", "step": "notify", "params": {}}],
    "edges": [],
}


def write_graph(tmp_path: Path) -> Path:
    path = tmp_path / "pure.json"
    path.write_text(Workflow.model_validate(PURE_GRAPH).to_json())
    return path


def test_dry_run_json_prints_the_plan_and_writes_nothing(tmp_path, capsys):
    graph = write_graph(tmp_path)
    out = tmp_path / "out"
    code = main(["run", str(graph), "--dry-run", "--json", "-o", str(out), "--cache-dir", str(tmp_path / "c"),
                 "--set", "setup.work_subdir=here", "--set", "notify.max_attempts=2"])
    assert code == 0
    plan = json.loads(capsys.readouterr().out)
    assert plan["order"] == ["setup", "notify"]
    settings = {n["node_id"]: n["settings"] for n in plan["nodes"]}
    assert settings["setup"]["work_subdir"] == "here" and settings["notify"]["max_attempts"] == 2
    assert plan["cache_hits"] == [] and plan["capabilities_needed"] == []
    assert not out.exists() and not (tmp_path / "c").exists()


def test_run_then_runs_list_and_show(tmp_path, capsys):
    graph = write_graph(tmp_path)
    out = tmp_path / "out"
    assert main(["run", str(graph), "-o", str(out), "--no-cache", "--json", "-q"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["status"] == "succeeded" and set(summary["nodes"]) == {"setup", "notify"}
    assert json.loads((out / "run.json").read_text())["run_id"] == summary["run_id"]
    store = str(out / "hartomat-runs.sqlite")
    assert main(["runs", "list", "--store", store]) == 0
    table = capsys.readouterr().out
    assert summary["run_id"][:12] in table and "succeeded" in table
    assert main(["runs", "show", summary["run_id"][:8], "--store", store, "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert [a["node_id"] for a in shown["attempts"]] == ["setup", "notify"]
    assert any("no webhook set" in line for line in shown["attempts"][1]["logs"])
    assert main(["runs", "show", summary["run_id"], "--store", store, "--logs"]) == 0
    assert "no webhook set" in capsys.readouterr().out


def test_bad_input_gets_one_line_errors(tmp_path, capsys):
    graph = write_graph(tmp_path)
    assert main(["run", str(graph), "--set", "nodot=1", "--dry-run"]) == 2
    assert "expected NODE.FIELD=VALUE" in capsys.readouterr().err
    assert main(["run", str(graph), "--set", "setup.bogus=1", "--dry-run"]) == 2
    err = capsys.readouterr().err
    assert "node 'setup'" in err and "bogus" in err
    assert main(["run", str(tmp_path / "missing.json")]) == 2
    assert main(["run", str(graph), "--step", str(tmp_path / "none.step")]) == 2
    assert "none.step: no such file" in capsys.readouterr().err
    assert main(["runs", "show", "abc", "--store", str(tmp_path / "nostore.sqlite")]) == 2
    garbage = tmp_path / "garbage.sqlite"
    garbage.write_bytes(b"this is not a database" * 100)
    assert main(["runs", "list", "--store", str(garbage)]) == 2
    assert "not a usable run store" in capsys.readouterr().err


def test_cli_process_exit_code_and_progress_on_stderr(tmp_path):
    graph = write_graph(tmp_path)
    done = subprocess.run([sys.executable, "-m", "engine", "run", str(graph), "-o", str(tmp_path / "o"),
                           "--no-cache"], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "[succeeded] setup (order_line_setup)" in done.stderr
    assert "succeeded (graph)" in done.stdout and "Traceback" not in done.stderr
