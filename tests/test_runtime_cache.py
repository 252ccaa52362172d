"""The content-addressed node cache: hit, miss, invalidation by changed input and deleted file."""

from __future__ import annotations

from pathlib import Path

from runtime_helpers import edge, graph, node, order_line, runtime_registry

from engine.runtime import RunOptions, run_workflow
from engine.runtime.cache import NodeCache


def run(tmp_path: Path, wf, out: str = "out", **extra):
    extra.setdefault("use_cache", True)
    options = RunOptions(out_dir=tmp_path / out, registry=runtime_registry(), cache_dir=tmp_path / "cache",
                         capabilities=frozenset(), **extra)
    return run_workflow(wf, order_line(), options)


def statuses(result) -> dict[str, str]:
    return {k: r.status for k, r in result.node_results.items()}


def file_graph(source: Path, **policy):
    return graph([node("w", "t_file", policy=policy or None, source=str(source)),
                  node("save", "output_save", publish_check="off")],  # publishes stand-in text, not a render
                 [edge("w", "save", "image", "media")])


def test_miss_then_hit_with_the_same_outputs(tmp_path):
    source = tmp_path / "in.txt"
    source.write_text("abc")
    first = run(tmp_path, file_graph(source))
    second = run(tmp_path, file_graph(source), out="out2")
    assert statuses(first) == {"w": "succeeded", "save": "succeeded"}
    assert statuses(second) == {"w": "cached", "save": "succeeded"}  # side-effect nodes always run
    a, b = first.node_results["w"].outputs[0], second.node_results["w"].outputs[0]
    assert a.sha256 == b.sha256 and Path(b.path).read_text() == "ABC"
    assert first.node_results["w"].cache_key == second.node_results["w"].cache_key
    assert [p.sha256 for p in second.published] == [p.sha256 for p in first.published]


def test_changed_input_file_invalidates(tmp_path):
    source = tmp_path / "in.txt"
    source.write_text("abc")
    first = run(tmp_path, file_graph(source))
    source.write_text("xyz")
    second = run(tmp_path, file_graph(source))
    assert second.node_results["w"].status == "succeeded"
    assert second.node_results["w"].cache_key != first.node_results["w"].cache_key
    assert Path(second.node_results["w"].outputs[0].path).read_text() == "XYZ"


def test_changed_setting_invalidates_downstream_too(tmp_path):
    wf = graph([node("a", "t_noop"), node("b", "t_noop")], [edge("a", "b")])
    run(tmp_path, wf)
    wf.nodes[0].params["tag"] = "changed"
    assert statuses(run(tmp_path, wf)) == {"a": "succeeded", "b": "succeeded"}
    assert statuses(run(tmp_path, wf)) == {"a": "cached", "b": "cached"}


def test_deleted_or_altered_cache_file_is_a_miss(tmp_path):
    source = tmp_path / "in.txt"
    source.write_text("abc")
    first = run(tmp_path, file_graph(source))
    key = first.node_results["w"].cache_key
    entry = NodeCache(tmp_path / "cache").entry(key)
    cached_file = next(p for p in entry.rglob("*.txt"))
    cached_file.unlink()
    second = run(tmp_path, file_graph(source))
    assert second.node_results["w"].status == "succeeded"
    cached_file = next(p for p in entry.rglob("*.txt"))  # stored again
    cached_file.write_text("tampered")
    assert run(tmp_path, file_graph(source)).node_results["w"].status == "succeeded"
    assert run(tmp_path, file_graph(source)).node_results["w"].status == "cached"


def test_no_cache_option_and_policy_turn_it_off(tmp_path):
    source = tmp_path / "in.txt"
    source.write_text("abc")
    run(tmp_path, file_graph(source))
    assert run(tmp_path, file_graph(source), use_cache=False).node_results["w"].status == "succeeded"
    uncached = file_graph(source, cache=False)
    assert run(tmp_path, uncached).node_results["w"].status == "succeeded"
    assert run(tmp_path, uncached).node_results["w"].status == "succeeded"


def test_unknown_key_is_a_miss_and_no_staging_is_left(tmp_path):
    source = tmp_path / "in.txt"
    source.write_text("abc")
    run(tmp_path, file_graph(source))
    cache = NodeCache(tmp_path / "cache")
    assert cache.load("0" * 64) is None and not cache.contains("0" * 64)
    assert not [p for p in (tmp_path / "cache").rglob(".*")]  # staging folders were renamed into place


def test_a_broken_cache_index_never_fails_the_run(tmp_path):
    (tmp_path / "cache").mkdir()
    (tmp_path / "cache" / "index.sqlite").write_bytes(b"not sqlite at all" * 100)
    result = run(tmp_path, graph([node("a", "t_noop")], []))
    assert result.status == "succeeded"
    assert any("warning: not cached" in line for line in result.node_results["a"].logs)


def test_changed_upstream_file_invalidates_even_with_the_same_plan(tmp_path):
    # 'stamp' (never cached) writes new content every run; 'echo' has the same plan key each time
    # but must miss, because its input file's sha256 is part of its run key.
    wf = graph([node("stamp", "t_stamp", policy={"cache": False}), node("echo", "t_echo")],
               [edge("stamp", "echo", "image", "image")])
    first, second = run(tmp_path, wf), run(tmp_path, wf)
    assert statuses(second) == {"stamp": "succeeded", "echo": "succeeded"}
    for result in (first, second):
        stamp, echo = (Path(result.node_results[n].outputs[0].path).read_text() for n in ("stamp", "echo"))
        assert echo == stamp
    assert first.node_results["echo"].cache_key != second.node_results["echo"].cache_key
