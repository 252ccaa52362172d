"""Workflows and output types: stored canonical JSON, validated on save, seeded from presets.

An output type names what an order line asks for (`still`, `turntable`, ...): the workflow
family, the artifact kind it delivers, the linked workflow, invocation overrides and the
execution mode. Saving one that disagrees with its workflow is refused.
"""

from __future__ import annotations

import json
from typing import Any

from engine.model.vocabulary import Capability, Mode, Preset

from .db import Store, loads, new_id, now

# a job's `caps` column: the capabilities it needs, one bit each (a worker claims a job whose bits it has)
CAPABILITY_BITS: dict[str, int] = {Capability.BPY: 1, Capability.OCP: 2, Capability.BROWSER: 4, Capability.DENOISE: 8}
LEGACY_CAPABILITIES = (Capability.BPY, Capability.OCP)


class CatalogError(ValueError):
    """Refused workflow or output type; `problems` are structured records for a 422 answer."""

    def __init__(self, message: str, problems: list[dict[str, Any]] | None = None, status: int = 422) -> None:
        super().__init__(message)
        self.problems = problems or [{"code": "invalid", "message": message, "severity": "error"}]
        self.status = status


def caps_mask(capabilities: list[str] | tuple[str, ...] | frozenset[str]) -> int:
    return sum(CAPABILITY_BITS.get(c, 0) for c in set(capabilities))


def parse_and_validate(document: Any, source: str = "workflow") -> Any:
    """The canonical Workflow of a document, or CatalogError listing every problem."""
    from engine.model.validation import validate_workflow
    from engine.model.workflow import WorkflowLoadError, parse_workflow_document

    try:
        workflow = parse_workflow_document(document, source)
    except WorkflowLoadError as exc:
        raise CatalogError(str(exc), [{"code": "unreadable_workflow", "message": str(exc),
                                       "severity": "error"}]) from None
    if not workflow.nodes:  # `{}` parses (as a migrated v0 document) but runs nothing
        message = f"{source}: has no nodes; a stored workflow needs at least one"
        raise CatalogError(message, [{"code": "empty_workflow", "message": message, "severity": "error"}])
    report = validate_workflow(workflow)
    if not report.ok:
        problems = [p.model_dump(mode="json") for p in report.problems]
        raise CatalogError(f"{source}: {len(report.errors)} problem(s)", problems)
    return workflow


def required_capabilities(workflow: Any, mode: str) -> list[str]:
    """What a worker needs to run this workflow in this mode (optional capabilities excluded)."""

    needed: set[str] = set()
    if mode in (Mode.LEGACY, Mode.SHADOW):
        needed.update(LEGACY_CAPABILITIES)
    if mode in (Mode.GRAPH, Mode.SHADOW):
        needed.update(step_capabilities([node.step for node in workflow.nodes]))
    return sorted(needed)


def step_capabilities(steps: list[str]) -> list[str]:
    """What a worker needs to run these steps (optional capabilities excluded)."""
    from engine.model.registry import REGISTRY

    return sorted({cap for step in steps if step in REGISTRY for cap in REGISTRY.get(step).capabilities})


def delivered_kinds(workflow: Any) -> set[str]:
    """Artifact kinds a workflow delivers: what its render nodes produce (what any node
    produces, for a workflow without a render node, such as a CAD-only or test graph)."""
    from engine.model.registry import REGISTRY

    definitions = [REGISTRY.get(node.step) for node in workflow.nodes if node.step in REGISTRY]
    renders = [d for d in definitions if d.is_render] or definitions
    return {str(port.kind) for d in renders for port in d.outputs}


def save_workflow(store: Store, document: Any, workflow_id: str | None = None) -> dict[str, Any]:
    workflow = parse_and_validate(document)
    text = json.dumps(workflow.canonical(), sort_keys=True)
    t = now()
    with store.tx() as c:
        if workflow_id and c.execute("SELECT 1 FROM workflows WHERE id = ?", (workflow_id,)).fetchone():
            c.execute("UPDATE workflows SET name = ?, family = ?, document = ?, updated_at = ? WHERE id = ?",
                      (workflow.name, workflow.family, text, t, workflow_id))
        else:
            workflow_id = workflow_id or new_id("wf")
            c.execute("INSERT INTO workflows VALUES (?, ?, ?, ?, ?, ?)",
                      (workflow_id, workflow.name, workflow.family, text, t, t))
    return {"id": workflow_id, "name": workflow.name, "family": workflow.family}


def stored_workflow(store: Store, workflow_id: str) -> tuple[str, Any]:
    """A workflow's stored canonical text (what an order line freezes) and its parsed model."""
    from engine.model.workflow import parse_workflow_document

    row = store.one("SELECT document FROM workflows WHERE id = ?", workflow_id)
    if row is None:
        raise CatalogError(f"workflow {workflow_id!r} does not exist", status=404)
    return row["document"], parse_workflow_document(loads(row["document"]), f"workflow {workflow_id}")


def load_workflow_row(store: Store, workflow_id: str) -> Any:
    return stored_workflow(store, workflow_id)[1]


def check_output_type(store: Store, spec: dict[str, Any]) -> Any:
    """The linked workflow, once the output type's family and artifact kind agree with it."""
    from engine.model.overrides import override_problems
    from engine.model.registry import REGISTRY

    workflow = load_workflow_row(store, spec["workflow_id"])
    problems = []
    if workflow.family != spec["family"]:
        problems.append({"code": "family_mismatch", "field": "family", "severity": "error",
                         "message": f"output type family {spec['family']!r} but workflow "
                                    f"{spec['workflow_id']!r} is family {workflow.family!r}"})
    kinds = delivered_kinds(workflow)
    if spec["artifact_kind"] not in kinds:
        problems.append({"code": "artifact_kind_mismatch", "field": "artifact_kind", "severity": "error",
                         "message": f"artifact kind {spec['artifact_kind']!r} is not produced by workflow "
                                    f"{spec['workflow_id']!r} (it renders {sorted(kinds) or 'nothing'})"})
    problems.extend({"code": "bad_override", "field": "overrides", "severity": "error", "message": message}
                    for message in override_problems(workflow, REGISTRY, spec.get("overrides") or {}))
    if spec["mode"] not in tuple(Mode):
        problems.append({"code": "bad_mode", "field": "mode", "severity": "error",
                         "message": f"mode must be one of {', '.join(Mode)}"})
    if problems:
        raise CatalogError(f"output type {spec['name']!r} does not match its workflow", problems)
    return workflow


def save_output_type(store: Store, spec: dict[str, Any], changed_by: str) -> dict[str, Any]:
    check_output_type(store, spec)
    t = now()
    with store.tx() as c:
        old = c.execute("SELECT mode FROM output_types WHERE name = ?", (spec["name"],)).fetchone()
        c.execute(
            """INSERT INTO output_types (name, family, artifact_kind, workflow_id, overrides, mode,
                   legacy_fallback, mode_changed_by, mode_changed_at, created_at, tags)
               VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
               ON CONFLICT(name) DO UPDATE SET family = excluded.family, artifact_kind = excluded.artifact_kind,
                   workflow_id = excluded.workflow_id, overrides = excluded.overrides,
                   legacy_fallback = excluded.legacy_fallback, tags = excluded.tags""",
            (spec["name"], spec["family"], spec["artifact_kind"], spec["workflow_id"],
             json.dumps(spec.get("overrides") or {}), spec["mode"], int(spec.get("legacy_fallback", True)),
             changed_by, t, t, json.dumps(sorted(set(spec.get("tags") or [])))))
        if old is None or old["mode"] != spec["mode"]:
            _record_mode(c, spec["name"], old["mode"] if old else None, spec["mode"], changed_by)
    return get_output_type(store, spec["name"])


def _record_mode(c: Any, name: str, old: str | None, new: str, changed_by: str) -> None:
    t = now()
    c.execute("UPDATE output_types SET mode = ?, mode_changed_by = ?, mode_changed_at = ? WHERE name = ?",
              (new, changed_by, t, name))
    c.execute("INSERT INTO mode_changes (output_type, old_mode, new_mode, changed_by, changed_at) "
              "VALUES (?, ?, ?, ?, ?)", (name, old, new, changed_by, t))


def set_mode(store: Store, name: str, mode: str, changed_by: str) -> dict[str, Any]:
    """Roll an output type forward or back (legacy -> shadow -> graph), recording who and when."""
    if mode not in tuple(Mode):
        raise CatalogError(f"mode must be one of {', '.join(Mode)}, got {mode!r}",
                           [{"code": "bad_mode", "field": "mode", "message": f"unknown mode {mode!r}",
                             "severity": "error"}])
    with store.tx() as c:
        row = c.execute("SELECT mode FROM output_types WHERE name = ?", (name,)).fetchone()
        if row is None:
            raise CatalogError(f"output type {name!r} does not exist", status=404)
        if row["mode"] != mode:
            _record_mode(c, name, row["mode"], mode, changed_by)
    return get_output_type(store, name)


def get_output_type(store: Store, name: str) -> dict[str, Any]:
    row = store.one("SELECT * FROM output_types WHERE name = ?", name)
    if row is None:
        raise CatalogError(f"output type {name!r} does not exist", status=404)
    history = store.all("SELECT old_mode, new_mode, changed_by, changed_at FROM mode_changes "
                        "WHERE output_type = ? ORDER BY id", name)
    return {**dict(row), "overrides": loads(row["overrides"], {}), "legacy_fallback": bool(row["legacy_fallback"]),
            "tags": loads(row["tags"], []), "mode_history": [dict(h) for h in history]}


def list_output_types(store: Store) -> list[dict[str, Any]]:
    return [get_output_type(store, row["name"]) for row in store.all("SELECT name FROM output_types ORDER BY name")]


def seed_presets(store: Store) -> None:
    """A fresh server gets one output type per legacy preset, linked to its migrated graph."""
    from engine.legacy.presets import PRESETS, preset_workflow

    if store.one("SELECT 1 FROM output_types LIMIT 1"):
        return
    for name in PRESETS:
        workflow = preset_workflow(name)
        saved = save_workflow(store, workflow.canonical(), workflow_id=f"wf-preset-{name}")
        kind = "video" if name == Preset.TURNTABLE else "image"
        save_output_type(store, {"name": name, "family": workflow.family, "artifact_kind": kind,
                                 "workflow_id": saved["id"], "overrides": {}, "mode": Mode.GRAPH,
                                 "legacy_fallback": True}, changed_by="seed")
