"""One vocabulary: modes, capabilities, presets, roles and job, order, run, node and webhook
states are spelled once, in engine/model/vocabulary.py, and every other module names the enum
member. Checked on the source (an AST scan of engine/, server_bridge/, hartomat_addon/), and
the enums are checked to survive JSON and SQLite and to cover every value the databases'
schemas name (defaults and CHECK constraints)."""

from __future__ import annotations

import ast
import json
import re
import sqlite3
from collections.abc import Iterator
from enum import StrEnum
from pathlib import Path

import pytest

from engine.model import vocabulary
from engine.model.vocabulary import (
    Capability,
    JobKind,
    JobStatus,
    Mode,
    NodeStatus,
    OrderStatus,
    Preset,
    Role,
    RunStatus,
    WebhookStatus,
)

REPO = Path(__file__).resolve().parent.parent
SCANNED = ("engine", "server_bridge", "hartomat_addon")
HOME = Path("engine/model/vocabulary.py")
ENUMS: tuple[type[StrEnum], ...] = tuple(
    value for value in vars(vocabulary).values()
    if isinstance(value, type) and issubclass(value, StrEnum) and value is not StrEnum)
WORDS = frozenset(member.value for enum in ENUMS for member in enum)
ENUM_NAMES = frozenset(enum.__name__ for enum in ENUMS)
SQL = re.compile(r"\b(SELECT|UPDATE|INSERT|DELETE)\b")
QUOTED = re.compile(r"'([a-z_]+)'")

# (file, word): why that string is not the vocabulary word. Keep it short.
ALLOWED: dict[tuple[str, str], str] = {
    ("engine/cad/occ/assembly.py", "none"): "a STEP file's codepage name, not a webhook state",
    ("hartomat_addon/prefs.py", "bpy"): "the module name in sys.modules, not the capability",
    ("engine/cad/category.py", "none"): "an order line's `category: none` (detection off), not a webhook state",
    ("engine/cad/occ/product_names.py", "none"): "a placeholder product name exporters write, not a state",
    ("engine/cad/occ/product_names.py", "part"): "a placeholder product name exporters write, not an artifact role",
}
# Whole files left out for now: helper S rewrites them into routers and response models (issue 16,
# point 6), which take the enums from engine.model.vocabulary. Drop these once that is merged.
def _sources() -> Iterator[tuple[str, ast.Module]]:
    for package in SCANNED:
        for path in sorted((REPO / package).rglob("*.py")):
            relative = path.relative_to(REPO)
            if relative == HOME or "vendor" in relative.parts:
                continue
            yield relative.as_posix(), ast.parse(path.read_text(), str(path))


def _word(node: ast.AST) -> str | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value in WORDS:
        return node.value
    return None


def _collection_words(node: ast.AST) -> list[str]:
    if isinstance(node, ast.Tuple | ast.List | ast.Set):
        items = node.elts
    elif isinstance(node, ast.Dict):
        items = [k for k in node.keys if k is not None]
    else:
        return []
    return [w for w in map(_word, items) if w is not None]


def _enum_name(node: ast.AST) -> str | None:
    name = node.id if isinstance(node, ast.Name) else node.attr if isinstance(node, ast.Attribute) else None
    return name if name in ENUM_NAMES else None


def vocabulary_literals(tree: ast.Module) -> Iterator[tuple[int, str, str]]:
    """(line, word, where) of each vocabulary word written out where code decides on it: compared
    with something, listed in a tuple/list/set/dict of two or more such words, or offered as a
    command-line choice. Plus `value in SomeEnum`, which raises TypeError on Python 3.11."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Compare):
            for operand in (node.left, *node.comparators):
                if (word := _word(operand)) is not None:
                    yield node.lineno, word, "comparison"
                for word in _collection_words(operand):
                    yield node.lineno, word, "comparison"
            for op, right in zip(node.ops, node.comparators, strict=True):
                if isinstance(op, ast.In | ast.NotIn) and (enum := _enum_name(right)) is not None:
                    yield node.lineno, enum, "`in` an enum class (TypeError on 3.11: use tuple(Enum))"
        elif isinstance(node, ast.Tuple | ast.List | ast.Set | ast.Dict):
            words = _collection_words(node)
            if len(words) >= 2:
                yield from ((node.lineno, word, "collection") for word in words)
        elif isinstance(node, ast.keyword) and node.arg == "choices":
            for word in _collection_words(node.value):
                yield node.value.lineno, word, "choices="
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and SQL.search(node.value):
            for word in QUOTED.findall(node.value):
                if word in WORDS:
                    yield node.lineno, word, "SQL literal (pass the member as a parameter)"


def test_vocabulary_words_are_written_only_in_the_vocabulary() -> None:
    found = sorted({(path, line, word, where) for path, tree in _sources()
                    for line, word, where in vocabulary_literals(tree) if (path, word) not in ALLOWED})
    assert not found, "name the enum member (engine/model/vocabulary.py) instead:\n" + "\n".join(
        f"{path}:{line}: {word!r} ({where})" for path, line, word, where in found)


def test_the_allow_list_is_still_needed() -> None:
    hits = {(path, word) for path, tree in _sources() for _, word, _ in vocabulary_literals(tree)}
    assert set(ALLOWED) <= hits, f"stale allow-list entries: {sorted(set(ALLOWED) - hits)}"


def test_the_scan_catches_each_kind_of_literal() -> None:
    tree = ast.parse("""
if mode == "shadow": pass
if status in ("queued", "running"): pass
MODES = ("graph", "legacy", "shadow")
COLOURS = {"succeeded": 1, "failed": 2}
parser.add_argument("--role", choices=("submit", "admin"))
ok = value in Mode
rows = conn.execute("SELECT id FROM jobs WHERE status = 'running'")
""")
    kinds = {(word, where.split(" ")[0]) for _, word, where in vocabulary_literals(tree)}
    assert {("shadow", "comparison"), ("queued", "comparison"), ("legacy", "collection"),
            ("succeeded", "collection"), ("admin", "choices="), ("Mode", "`in`"), ("running", "SQL")} <= kinds
    harmless = ast.parse('name = "still"\nrun(mode=Mode.GRAPH)\nif kind == "image": pass\nsub.add_parser("worker")\n')
    assert list(vocabulary_literals(harmless)) == []


@pytest.mark.parametrize("enum", ENUMS, ids=lambda e: e.__name__)
def test_members_round_trip_through_json(enum: type[StrEnum]) -> None:
    for member in enum:
        text = json.dumps({member: member, "list": [member]})
        assert json.loads(text) == {member.value: member.value, "list": [member.value]}
        assert enum(json.loads(text)[member.value]) is member
        assert f"{member}" == member.value and str(member) == member.value


@pytest.mark.parametrize("enum", ENUMS, ids=lambda e: e.__name__)
def test_members_round_trip_through_sqlite(enum: type[StrEnum]) -> None:
    conn = sqlite3.connect(":memory:")
    conn.execute("CREATE TABLE t (word TEXT NOT NULL)")
    conn.executemany("INSERT INTO t VALUES (?)", [(member,) for member in enum])
    for member in enum:
        (stored, kind), = conn.execute("SELECT word, typeof(word) FROM t WHERE word = ?", (member,)).fetchall()
        assert kind == "text" and type(stored) is str and enum(stored) is member and stored == member


def test_every_word_names_one_meaning_per_enum() -> None:
    for enum in ENUMS:
        values = [member.value for member in enum]
        assert len(values) == len(set(values)), enum.__name__
        assert all(re.fullmatch(r"[a-z][a-z_]*", v) for v in values), enum.__name__
    assert vocabulary.TERMINAL_JOB_STATUSES < set(JobStatus)
    assert vocabulary.FINISHED_ORDER_STATUSES < set(OrderStatus)
    assert set(vocabulary.MODE_ROLLOUT) == set(Mode)


# The columns that hold a vocabulary word, in the farm's store and in the engine's run store.
FARM_COLUMNS: dict[tuple[str, str], type[StrEnum]] = {
    ("tokens", "role"): Role,
    ("output_types", "mode"): Mode,
    ("mode_changes", "old_mode"): Mode,
    ("mode_changes", "new_mode"): Mode,
    ("orders", "status"): OrderStatus,
    ("orders", "webhook_status"): WebhookStatus,
    ("jobs", "mode"): Mode,
    ("jobs", "status"): JobStatus,
    ("jobs", "kind"): JobKind,
    ("runs", "mode"): Mode,
    ("runs", "status"): RunStatus,
    ("node_results", "status"): NodeStatus,
}
RUN_STORE_COLUMNS: dict[tuple[str, str], type[StrEnum]] = {
    ("runs", "mode"): Mode,
    ("runs", "status"): RunStatus,
    ("node_attempts", "phase"): Mode,
    ("node_attempts", "status"): NodeStatus,
}


def _schema(conn: sqlite3.Connection) -> dict[str, dict[str, tuple[str | None, str]]]:
    """table -> column -> (default, the table's CREATE text), from the live database."""
    tables: dict[str, dict[str, tuple[str | None, str]]] = {}
    for name, sql in conn.execute("SELECT name, sql FROM sqlite_master WHERE type = 'table'").fetchall():
        columns = conn.execute(f"PRAGMA table_info({name})").fetchall()
        tables[name] = {row[1]: (row[4], sql or "") for row in columns}
    return tables


def _schema_words(tables: dict[str, dict[str, tuple[str | None, str]]], table: str, column: str) -> set[str]:
    default, create = tables[table][column]
    words = set(re.findall(r"'([^']*)'", default or ""))
    for check in re.findall(rf"CHECK\s*\(\s*{column}\s+IN\s*\(([^)]*)\)\s*\)", create, re.IGNORECASE):
        words.update(re.findall(r"'([^']*)'", check))
    return words


def _check_columns(conn: sqlite3.Connection, columns: dict[tuple[str, str], type[StrEnum]]) -> None:
    tables = _schema(conn)
    for (table, column), enum in columns.items():
        assert column in tables.get(table, {}), f"{table}.{column} is gone: update the column map"
        unknown = _schema_words(tables, table, column) - {m.value for m in enum}
        assert not unknown, f"{table}.{column} names {sorted(unknown)}, which are not {enum.__name__} members"
    checked = {table for table, _ in columns}
    loose = [(table, create) for table, cols in tables.items() for _, create in list(cols.values())[:1]
             if table not in checked and re.search(r"CHECK\s*\(\s*\w+\s+IN", create, re.IGNORECASE)]
    assert not loose, f"CHECK constraints on tables the vocabulary test does not map: {loose}"


def test_the_farm_schema_names_only_vocabulary_words(tmp_path: Path) -> None:
    from server_bridge.db import Store

    store = Store(tmp_path / "farm.sqlite")
    try:
        _check_columns(store.conn, FARM_COLUMNS)
    finally:
        store.close()


def test_the_run_store_schema_names_only_vocabulary_words(tmp_path: Path) -> None:
    from engine.runtime.store import RunStore

    store = RunStore(tmp_path / "runs.sqlite")
    try:
        _check_columns(store.conn, RUN_STORE_COLUMNS)
    finally:
        store.close()


def test_pydantic_models_take_the_words_and_give_members() -> None:
    from engine.legacy.presets import PRESETS, LegacyPresetConfig
    from engine.model.registry import REGISTRY

    config = LegacyPresetConfig.model_validate({**PRESETS["turntable"].model_dump(mode="json")})
    assert config.preset is Preset.TURNTABLE and config.model_dump(mode="json")["preset"] == "turntable"
    assert set(PRESETS) == set(Preset)
    needed = {cap for definition in REGISTRY for cap in definition.capabilities}
    assert needed and all(isinstance(cap, Capability) for cap in needed)


def test_cli_choices_come_from_the_enums() -> None:
    import argparse

    from engine.cli import cmd_render, cmd_run

    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers()
    cmd_run.register(sub)
    cmd_render.register(sub)
    args = parser.parse_args(["render", "part.step", "--preset", "multi_angle", "--mode", "shadow"])
    assert args.preset == Preset.MULTI_ANGLE and args.mode == Mode.SHADOW
    assert parser.parse_args(["render", "part.step"]).mode == Mode.GRAPH
