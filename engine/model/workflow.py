"""The canonical workflow JSON as pydantic models, and loading it forward across versions.

The `ui` parts (positions, colours, labels) never change what a graph computes or its cache keys.
"""

from __future__ import annotations

import gc
import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from .vocabulary import Preset

CURRENT_VERSION = 1
MAX_WORKFLOW_BYTES = 20 * 1024 * 1024

OnFail = Literal["fail_run", "continue", "fallback_legacy"]


class NodePolicy(BaseModel):
    """Retry and failure policy of one node; defaults are the safe choice."""

    model_config = ConfigDict(extra="forbid")

    max_attempts: int = Field(1, ge=1, le=20)
    backoff_s: float = Field(0.0, ge=0, le=3600)
    timeout_s: float | None = Field(None, gt=0)
    on_fail: OnFail = "fail_run"
    cache: bool = True


class WorkflowNode(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str = Field(min_length=1, max_length=128)
    step: str = Field(min_length=1, max_length=128)
    params: dict[str, Any] = Field(default_factory=dict)
    policy: NodePolicy | None = None
    ui: dict[str, Any] | None = None


class WorkflowEdge(BaseModel):
    model_config = ConfigDict(extra="forbid")

    source: str
    source_output: str
    target: str
    target_input: str


class Workflow(BaseModel):
    """A render workflow: nodes with settings, edges between named ports."""

    model_config = ConfigDict(extra="forbid")

    version: Literal[1] = 1
    name: str = Field(min_length=1, max_length=256)
    family: str = Field(min_length=1, max_length=64)
    nodes: list[WorkflowNode] = Field(default_factory=list)
    edges: list[WorkflowEdge] = Field(default_factory=list)
    ui: dict[str, Any] | None = None

    def node(self, node_id: str) -> WorkflowNode:
        for node in self.nodes:
            if node.id == node_id:
                return node
        raise KeyError(node_id)

    def canonical(self) -> dict[str, Any]:
        """The workflow as plain JSON data, `ui` parts included, defaults omitted where unset."""
        return self.model_dump(mode="json", exclude_none=True)

    def to_json(self) -> str:
        return json.dumps(self.canonical(), indent=2, sort_keys=False) + "\n"


@contextmanager
def gc_paused() -> Iterator[None]:
    """Pause CPython's cyclic garbage collector while building or walking a big graph.

    Tens of thousands of long-lived model objects make each collection re-walk the whole heap,
    so loading and validation grew faster than the graph (2x per node from 1,000 to 10,000
    nodes, see docs/performance.md). They make no reference cycles, so nothing is left behind.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


class WorkflowLoadError(ValueError):
    """A workflow document that cannot be read; the message names the source and the problem."""


def _v0_node(node: Any) -> Any:
    """One v0 node renamed to v1 fields; anything that is not an object is left for the model to reject."""
    if not isinstance(node, dict):
        return node
    node = dict(node)
    if "pipeline_step" in node and "step" not in node:
        node["step"] = node.pop("pipeline_step")
    if "settings" in node and "params" not in node:
        node["params"] = node.pop("settings")
    if "position" in node:
        ui = node.get("ui")
        node["ui"] = {**(ui if isinstance(ui, dict) else {}), "position": node.pop("position")}
    return node


def _v0_edge(link: Any) -> Any:
    """One v0 link (React-Flow handles or from/to ports) as a v1 edge."""
    if not isinstance(link, dict):
        return link
    link = dict(link)
    source_handle, from_port = link.pop("sourceHandle", None), link.pop("from_port", None)
    target_handle, to_port = link.pop("targetHandle", None), link.pop("to_port", None)
    link.setdefault("source_output", source_handle or from_port or "out")
    link.setdefault("target_input", target_handle or to_port or "in")
    return link


def _v0_to_v1(doc: dict[str, Any]) -> dict[str, Any]:
    """Version 0 (the web editor's format) kept `pipeline_step` on nodes and `links` for edges."""
    nodes = doc.get("nodes", [])
    edges = doc["edges"] if "edges" in doc else doc.get("links", [])
    out = {k: v for k, v in doc.items() if k != "links"}
    out.update(version=1,
               nodes=[_v0_node(n) for n in nodes] if isinstance(nodes, list) else nodes,
               edges=[_v0_edge(e) for e in edges] if isinstance(edges, list) else edges)
    out.setdefault("family", Preset.STILL.value)
    out.setdefault("name", "migrated workflow")
    return out


MIGRATIONS: dict[int, Callable[[dict[str, Any]], dict[str, Any]]] = {0: _v0_to_v1}


def migrate_document(doc: dict[str, Any]) -> dict[str, Any]:
    """Bring an older saved graph forward, one version at a time, to CURRENT_VERSION."""
    version = doc.get("version", 0)
    if not isinstance(version, int) or isinstance(version, bool):
        raise WorkflowLoadError(f"'version' must be an integer, got {version!r}")
    if version > CURRENT_VERSION:
        raise WorkflowLoadError(
            f"workflow version {version} is newer than this HartOMat understands ({CURRENT_VERSION})"
        )
    while version < CURRENT_VERSION:
        step = MIGRATIONS.get(version)
        if step is None:
            raise WorkflowLoadError(f"no migration from workflow version {version}")
        doc = step(doc)
        version = doc["version"]
    return doc


def parse_workflow_document(doc: Any, source: str = "workflow") -> Workflow:
    """Turn decoded JSON into a Workflow, with one readable error naming every bad field."""
    if not isinstance(doc, dict):
        raise WorkflowLoadError(
            f"{source}: a workflow must be a JSON object, got {type(doc).__name__}"
        )
    try:
        doc = migrate_document(doc)
    except WorkflowLoadError as exc:
        raise WorkflowLoadError(f"{source}: {exc}") from None
    try:
        with gc_paused():
            return Workflow.model_validate(doc)
    except RecursionError:
        raise WorkflowLoadError(f"{source}: nested too deeply to be a workflow") from None
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or '<root>'}: {err['msg']}"
            for err in exc.errors()[:20]
        )
        more = len(exc.errors()) - 20
        suffix = f" (and {more} more)" if more > 0 else ""
        raise WorkflowLoadError(f"{source}: not a valid workflow: {problems}{suffix}") from None


def load_workflow_text(text: str | bytes, source: str = "workflow") -> Workflow:
    if len(text) > MAX_WORKFLOW_BYTES:
        raise WorkflowLoadError(
            f"{source}: {len(text)} bytes is larger than the {MAX_WORKFLOW_BYTES} byte limit for a workflow"
        )
    try:
        doc = json.loads(text)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise WorkflowLoadError(f"{source}: not valid JSON: {exc}") from None
    except RecursionError:
        raise WorkflowLoadError(f"{source}: JSON nested too deeply to be a workflow") from None
    return parse_workflow_document(doc, source)


def load_workflow(path: str | Path) -> Workflow:
    file_path = Path(path)
    try:
        size = file_path.stat().st_size
    except OSError as exc:
        raise WorkflowLoadError(f"{file_path}: cannot read: {exc.strerror}") from None
    if size > MAX_WORKFLOW_BYTES:
        raise WorkflowLoadError(
            f"{file_path}: {size} bytes is larger than the {MAX_WORKFLOW_BYTES} byte limit for a workflow"
        )
    try:
        data = file_path.read_bytes()
    except OSError as exc:
        raise WorkflowLoadError(f"{file_path}: cannot read: {exc.strerror}") from None
    return load_workflow_text(data, str(file_path))


def workflow_json_schema() -> dict[str, Any]:
    schema = Workflow.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = "urn:hartomat:workflow:v1"
    return schema
