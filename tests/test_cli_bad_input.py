"""Bad input through the CLI: clear one-line errors or correct results, never a traceback."""

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).parents[1] / "bench" / "validate.py"


def validate(path, *flags):
    done = subprocess.run([sys.executable, "-m", "engine", "validate", *flags, str(path)],
                          capture_output=True, text=True, timeout=120)
    assert "Traceback" not in done.stderr + done.stdout
    return done


def generate_graph(nodes):
    if str(BENCH.parent) not in sys.path:
        sys.path.append(str(BENCH.parent))  # bench scripts import their sibling perfdoc
    spec = importlib.util.spec_from_file_location("bench_validate", BENCH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.generate_graph(nodes)


@pytest.mark.parametrize("content, message", [
    ('{"version": 1, "name": "x",', "not valid JSON"),
    ("[1, 2, 3]", "must be a JSON object, got list"),
    ('"just a string"', "must be a JSON object, got str"),
    ("", "not valid JSON"),
    (b"\xff\xfe\x00garbage", "not valid JSON"),
    ('{"version": 1, "name": "x", "family": "still", "nodes": {"a": 1}}', "nodes: Input should be a valid list"),
    ('{"version": 9, "name": "x", "family": "still"}', "newer than this HartOMat"),
    ("[" * 50_000, "nested too deeply"),
])
def test_bad_documents_give_one_clear_line(tmp_path, content, message):
    path = tmp_path / "bad.json"
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    done = validate(path)
    assert done.returncode == 2
    assert message in done.stderr and str(path) in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1


def test_bad_documents_as_json(tmp_path):
    path = tmp_path / "bad.json"
    path.write_text("[]")
    done = validate(path, "--json")
    assert done.returncode == 2  # unreadable input, as without --json; 1 means an invalid graph
    assert json.loads(done.stdout)["problems"][0]["code"] == "unreadable_workflow"


def test_missing_file_and_directory(tmp_path):
    for path in (tmp_path / "nope.json", tmp_path):
        done = validate(path)
        assert done.returncode == 2 and "cannot read" in done.stderr


def test_a_50_mb_file_is_refused_with_the_limit(tmp_path):
    path = tmp_path / "huge.json"
    padding = " " * (50 * 1024 * 1024)
    path.write_text('{"version": 1, "name": "x", "family": "still"' + padding + "}")
    done = validate(path)
    assert done.returncode == 2 and "larger than the" in done.stderr and "huge.json" in done.stderr


def test_a_10000_node_graph_validates(tmp_path):
    path = tmp_path / "big.json"
    path.write_text(json.dumps(generate_graph(10_000)))
    done = validate(path)
    assert done.returncode == 0, done.stdout[-2000:]
    assert "ok (10000 nodes" in done.stdout


def test_a_10000_node_graph_with_errors_reports_them_all(tmp_path):
    doc = generate_graph(10_000)
    for node in doc["nodes"][::1000]:
        node["params"] = {"samples": -5} if node["step"] == "blender_still" else {"bogus": 1}
    path = tmp_path / "big_bad.json"
    path.write_text(json.dumps(doc))
    done = validate(path)
    assert done.returncode == 1
    assert len([line for line in done.stdout.splitlines() if "invalid_setting" in line]) == 10
