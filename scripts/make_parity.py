"""Generates docs/parity.md: each legacy step and setting against the graph node and setting that
covers it, and the tests that prove the parity.

Nothing in the matrix is typed by hand. Steps come from the legacy pipeline (engine/legacy/pipeline.py) and
the migrated preset graphs (engine/legacy/presets.py), settings from LEGACY_SETTING_MAP and the node
registry, proofs from `@pytest.mark.parity(KEY, ...)` markers found in tests/ by parsing the files:

  "<step>"          the graph step does what the legacy step did, in every preset
  "<step>.<field>"  the graph setting does what the legacy setting did
  "<step>.*"        the step is in the graph exactly when the legacy setting asks for it
  "preset:<name>"   end to end: every step of that preset's graph (legacy and graph agree)

Usage: .venv/bin/python scripts/make_parity.py [--check]   (--check: exit 1 if the file is stale)
"""

from __future__ import annotations

import argparse
import ast
import sys
from collections import defaultdict
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Any

from engine.model.vocabulary import Preset

ROOT = Path(__file__).resolve().parents[1]
OUTPUT = ROOT / "docs" / "parity.md"
TESTS = ROOT / "tests"
PRESET_NAMES: tuple[str, ...] = tuple(Preset)  # the column order of the matrix


class MarkerError(Exception):
    """A parity marker the scanner cannot read statically."""


# ---- proofs: @pytest.mark.parity markers in tests/ -------------------------------------------

def _is_parity(call: ast.Call) -> bool:
    return ast.unparse(call.func) in ("pytest.mark.parity", "mark.parity")


def _is_param(call: ast.Call) -> bool:
    return ast.unparse(call.func) in ("pytest.param", "param")


def _param_id(call: ast.Call) -> str | None:
    for keyword in call.keywords:
        if keyword.arg == "id" and isinstance(keyword.value, ast.Constant):
            return str(keyword.value.value)
    return None


def _marker_keys(call: ast.Call, where: str) -> list[str]:
    keys = []
    for arg in call.args:
        if not (isinstance(arg, ast.Constant) and isinstance(arg.value, str)):
            raise MarkerError(f"{where}: pytest.mark.parity takes string literals only, got {ast.unparse(arg)}")
        keys.append(arg.value)
    return keys


def _walk(node: ast.AST, label: str, where: str, found: dict[str, set[str]]) -> None:
    """Collects parity keys under `node`; test functions and pytest.param ids refine the label."""
    if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name.startswith("test"):
        label = f"{where}::{node.name}"
    elif isinstance(node, ast.Call) and _is_param(node) and _param_id(node):
        label = f"{label}[{_param_id(node)}]"
    if isinstance(node, ast.Call) and _is_parity(node):
        for key in _marker_keys(node, f"{where}:{node.lineno}"):
            found[key].add(label)
    for child in ast.iter_child_nodes(node):
        _walk(child, label, where, found)


def _users(tree: ast.Module, name: str, where: str) -> list[str]:
    """Test functions whose decorators use the module-level `name` (e.g. a list of cases)."""
    return [f"{where}::{fn.name}" for fn in tree.body
            if isinstance(fn, ast.FunctionDef | ast.AsyncFunctionDef) and fn.name.startswith("test")
            and any(isinstance(n, ast.Name) and n.id == name for d in fn.decorator_list for n in ast.walk(d))]


def _scan_file(tree: ast.Module, where: str, found: dict[str, set[str]]) -> None:
    for statement in tree.body:
        targets = statement.targets if isinstance(statement, ast.Assign) else []
        names = [t.id for t in targets if isinstance(t, ast.Name) and t.id != "pytestmark"]
        for label in (_users(tree, names[0], where) if names else []) or [where]:
            _walk(statement, label, where, found)


def scan_markers(tests_dir: Path = TESTS) -> dict[str, list[str]]:
    """Parity key -> the tests (file::function[param]) that carry it."""
    found: dict[str, set[str]] = defaultdict(set)
    for path in sorted(tests_dir.rglob("test_*.py")):
        where = path.relative_to(tests_dir.parent).as_posix()
        _scan_file(ast.parse(path.read_text(encoding="utf-8"), str(path)), where, found)
    return {key: sorted(labels) for key, labels in found.items()}


# ---- the two sides -----------------------------------------------------------------------------

@dataclass(frozen=True)
class Stage:
    """One step as a pipeline runs it: node id, step key, and the settings it is given."""

    node_id: str
    step: str
    settings: dict[str, Any]


def trace_legacy(preset: str) -> list[Stage]:
    """The legacy pipeline's stages for a preset, found by running it with recording stand-ins
    for the executors (each returns one placeholder artifact per output port)."""
    from engine.legacy.pipeline import run_legacy_pipeline
    from engine.legacy.presets import PRESETS
    from engine.model.artifacts import Artifact
    from engine.model.publishing import MediaAsset
    from engine.model.registry import REGISTRY

    stages: list[Stage] = []

    def run_step(node_id: str, step: str, settings: dict[str, Any], inputs: Any) -> dict[str, list[Artifact]]:
        stages.append(Stage(node_id, step, settings))
        return {port.name: [Artifact(kind=port.kind, role=port.role)] for port in REGISTRY.get(step).outputs}

    def publish(artifact: Artifact, role: str, primary: bool, node_id: str) -> MediaAsset:
        return MediaAsset(role=role, path="", sha256="", size=0, kind=str(artifact.kind), primary=primary)

    run_legacy_pipeline(PRESETS[preset], run_step, publish)
    return stages


def graph_stages(preset: str) -> list[Stage]:
    from engine.legacy.presets import PRESETS, migrate_preset

    return [Stage(n.id, n.step, dict(n.params)) for n in migrate_preset(PRESETS[preset]).nodes]


@dataclass(frozen=True)
class StepRow:
    legacy: Stage | None
    graph: Stage | None

    @property
    def step(self) -> str:
        return (self.graph or self.legacy).step  # type: ignore[union-attr]

    def settings_agree(self) -> str:
        """Whether legacy and graph give the step the same settings (graph defaults filled in)."""
        if self.legacy is None or self.graph is None:
            return "—"
        from engine.model.registry import REGISTRY

        model = REGISTRY.get(self.step).settings_model
        legacy = model(**self.legacy.settings).model_dump(mode="json")
        graph = model(**self.graph.settings).model_dump(mode="json")
        differ = sorted(k for k in legacy if legacy[k] != graph[k])
        return "same" if not differ else "differ: " + ", ".join(f"`{k}`" for k in differ)


def preset_rows(preset: str) -> list[StepRow]:
    """Legacy stages and graph nodes joined on node id, in graph order, legacy-only stages last."""
    legacy = {(s.node_id, s.step): s for s in trace_legacy(preset)}
    rows = [StepRow(legacy.pop((g.node_id, g.step), None), g) for g in graph_stages(preset)]
    return rows + [StepRow(stage, None) for stage in legacy.values()]


def settings_fields(step: str) -> set[str]:
    from engine.model.registry import REGISTRY

    return set(REGISTRY.get(step).settings_model.model_fields)


# ---- proof lookup ------------------------------------------------------------------------------

def step_proofs(step: str, preset: str, proofs: dict[str, list[str]]) -> list[str]:
    return sorted({*proofs.get(step, []), *proofs.get(f"preset:{preset}", [])})


def setting_proofs(step: str, field: str, proofs: dict[str, list[str]]) -> list[str]:
    return proofs.get(f"{step}.{field}", [])


def _cell(tests: list[str]) -> str:
    return "<br>".join(f"`{t}`" for t in tests) if tests else "**not proved**"


def _value(value: Any) -> str:
    if isinstance(value, list):
        return f"{len(value)} items" if value and not isinstance(value[0], int | float | str) else repr(value)
    text = repr(value.value if isinstance(value, Enum) else value)  # a vocabulary member as its word
    return text if len(text) <= 24 else text[:21] + "..."


# ---- the document ------------------------------------------------------------------------------

def _stage(stage: Stage | None, absent: str) -> str:
    return f"`{stage.node_id}` (`{stage.step}`)" if stage else absent


def steps_section(proofs: dict[str, list[str]], totals: list[int]) -> list[str]:
    lines = ["## Steps of the four presets", "",
             "Each stage the legacy pipeline runs (traced from `engine/legacy/pipeline.py`) against the node of "
             "the preset's migrated graph that does its work, whether both give the step the same "
             "settings, and the tests that prove the graph does what the legacy pipeline did.", ""]
    for preset in PRESET_NAMES:
        lines += [f"### `{preset}`", "", "| legacy stage | graph node | settings | proved by |", "|---|---|---|---|"]
        for row in preset_rows(preset):
            tests = step_proofs(row.step, preset, proofs)
            totals[0] += 1
            totals[1] += bool(tests)
            legacy = _stage(row.legacy, "— (graph only)")
            graph = _stage(row.graph, "— (legacy only)")
            lines.append(f"| {legacy} | {graph} | {row.settings_agree()} | {_cell(tests)} |")
        lines.append("")
    return lines


def settings_section(proofs: dict[str, list[str]], totals: list[int]) -> list[str]:
    from engine.legacy.presets import LEGACY_SETTING_MAP, PRESETS, LegacyPresetConfig

    header = " | ".join(f"`{p}`" for p in PRESET_NAMES)
    lines = ["## Legacy settings", "",
             "Each setting of the flat legacy config (`LegacyPresetConfig`), its value in each preset, "
             "the graph settings that carry it (`step.field`; `step.*` = the step exists when the "
             "setting asks for it) and the tests that prove it.", "",
             f"| legacy setting | {header} | graph setting | proved by |", "|---|" + "---|" * len(PRESET_NAMES) + "---|---|"]
    for name in LegacyPresetConfig.model_fields:
        targets = LEGACY_SETTING_MAP.get(name, [])
        values = " | ".join(_value(getattr(PRESETS[p], name)) for p in PRESET_NAMES)
        covered = []
        for step, field in targets:
            known = field == "*" or field in settings_fields(step)
            covered.append(f"`{step}.{field}`" + ("" if known else " **(no such field)**"))
        tests = sorted({t for step, field in targets for t in setting_proofs(step, field, proofs)})
        proved = bool(targets) and all(setting_proofs(s, f, proofs) for s, f in targets)
        totals[0] += 1
        totals[1] += proved
        cell = _cell(tests) if proved else ("**not proved**" + ("<br>" + _cell(tests) if tests else ""))
        lines.append(f"| `{name}` | {values} | {'<br>'.join(covered) or '**no graph setting**'} | {cell} |")
    return lines + [""]


def graph_only_section() -> list[str]:
    from engine.legacy.presets import LEGACY_SETTING_MAP
    from engine.model.registry import REGISTRY

    mapped = {(step, field) for targets in LEGACY_SETTING_MAP.values() for step, field in targets}
    steps = {stage.step for preset in PRESET_NAMES for stage in graph_stages(preset)}
    lines = ["## Graph-only settings", "",
             "Settings the legacy config never had: migrated graphs use their defaults.", "",
             "| step | settings |", "|---|---|"]
    for step in sorted(steps):
        fields = sorted(f for f in REGISTRY.get(step).settings_model.model_fields if (step, f) not in mapped)
        if fields:
            lines.append(f"| `{step}` | {', '.join(f'`{f}`' for f in fields)} |")
    return lines + [""]


def build_document(proofs: dict[str, list[str]] | None = None) -> str:
    proofs = scan_markers() if proofs is None else proofs
    step_totals, setting_totals = [0, 0], [0, 0]
    body = steps_section(proofs, step_totals) + settings_section(proofs, setting_totals) + graph_only_section()
    head = [
        "# Parity matrix: legacy pipeline → workflow graphs", "",
        "Generated by `scripts/make_parity.py` from the node registry, `engine/legacy/presets.py` and "
        "`engine/legacy/pipeline.py`; proofs are the `@pytest.mark.parity(...)` markers in `tests/`. "
        "Do not edit by hand: run `.venv/bin/python scripts/make_parity.py`.", "",
        f"- Preset steps proved by tests: **{step_totals[1]} of {step_totals[0]}**",
        f"- Legacy settings proved by tests: **{setting_totals[1]} of {setting_totals[0]}**", "",
    ]
    return "\n".join(head + body)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--check", action="store_true", help="exit 1 if docs/parity.md is not current")
    parser.add_argument("-o", "--output", type=Path, default=OUTPUT)
    args = parser.parse_args(argv)
    try:
        text = build_document()
    except MarkerError as exc:
        print(f"make_parity: {exc}", file=sys.stderr)
        return 2
    if args.check:
        current = args.output.read_text(encoding="utf-8") if args.output.is_file() else ""
        if current != text:
            print(f"{args.output} is stale: run .venv/bin/python scripts/make_parity.py", file=sys.stderr)
            return 1
        return 0
    args.output.write_text(text, encoding="utf-8")
    print(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
