"""The canonical workflow JSON as pydantic models, and loading it forward across versions.

The `ui` parts (positions, colours, labels) never change what a graph computes or its cache keys.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

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

    version: Literal[1] = CURRENT_VERSION
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


class WorkflowLoadError(ValueError):
    """A workflow document that cannot be read; the message names the source and the problem."""


def _v0_to_v1(doc: dict[str, Any]) -> dict[str, Any]:
    """Version 0 (the web editor's format) kept `pipeline_step` on nodes and `links` for edges."""
    nodes = []
    for node in doc.get("nodes", []):
        node = dict(node)
        if "pipeline_step" in node and "step" not in node:
            node["step"] = node.pop("pipeline_step")
        if "settings" in node and "params" not in node:
            node["params"] = node.pop("settings")
        if "position" in node:
            node.setdefault("ui", {})["position"] = node.pop("position")
        nodes.append(node)
    edges = []
    for link in doc.get("edges", doc.get("links", [])):
        link = dict(link)
        link.setdefault("source_output", link.pop("sourceHandle", None) or link.pop("from_port", "out"))
        link.setdefault("target_input", link.pop("targetHandle", None) or link.pop("to_port", "in"))
        edges.append(link)
    out = {k: v for k, v in doc.items() if k not in ("links",)}
    out.update(version=1, nodes=nodes, edges=edges)
    out.setdefault("family", "still")
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
    doc = migrate_document(doc)
    try:
        return Workflow.model_validate(doc)
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
    return load_workflow_text(file_path.read_bytes(), str(file_path))


def workflow_json_schema() -> dict[str, Any]:
    schema = Workflow.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = "urn:hartomat:workflow:v1"
    return schema
