"""The shape of a node definition: one typed record per step, the single source of truth.

The add-on's node classes, the editor palettes, the HTTP `node-definitions` endpoint and the
validation all read these records.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from .artifacts import ArtifactKind
from .vocabulary import Capability, Preset

Execution = Literal["inline", "process", "main_thread"]
WORKFLOW_FAMILIES: tuple[str, ...] = tuple(p.value for p in Preset)


class Port(BaseModel):
    """A named input or output. Inputs may accept several kinds; outputs produce one."""

    model_config = ConfigDict(frozen=True)

    name: str
    kinds: tuple[ArtifactKind, ...]
    label: str = ""
    description: str = ""
    required: bool = True
    multiple: bool = False
    role: str | None = None

    @property
    def kind(self) -> ArtifactKind:
        return self.kinds[0]


SPELLED = {"cad": "CAD", "glb": "GLB", "stl": "STL", "step": "STEP", "png": "PNG", "jpeg": "JPEG", "mp4": "MP4",
           "mkv": "MKV", "webp": "WEBP", "html": "HTML", "bbox": "BBox", "exr": "EXR", "open": "Open"}


def words(name: str) -> str:
    """A key as a label: 'cad_parts' -> 'CAD Parts', 'OPEN_EXR' -> 'Open EXR' (never 'Cad', 'Png')."""
    return " ".join(SPELLED.get(part.lower(), part.capitalize()) for part in name.split("_") if part)


def inp(name: str, *kinds: ArtifactKind, required: bool = True, multiple: bool = False,
        description: str = "") -> Port:
    return Port(name=name, kinds=kinds, required=required, multiple=multiple,
                label=words(name), description=description)


def out(name: str, kind: ArtifactKind, role: str | None = None, description: str = "") -> Port:
    return Port(name=name, kinds=(kind,), role=role, label=words(name), description=description)


class NodeSettings(BaseModel):
    """Base of every node's settings model: unknown fields are errors, not silently dropped;
    NaN and infinities are refused, and no text runs longer than a path may (1024 characters)."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False, str_max_length=1024)


def settings_trust(model: type[BaseModel], prefix: str = "") -> dict[str, dict[str, Any]]:
    """Each setting's trust record by dotted name (a bridge's wrapped settings included):
    trust 'order' or 'operator', why it is operator-only, and the folder a path must lie in."""
    records: dict[str, dict[str, Any]] = {}
    for name, field in model.model_fields.items():
        annotation = field.annotation
        if isinstance(annotation, type) and issubclass(annotation, NodeSettings):
            records.update(settings_trust(annotation, f"{prefix}{name}."))
            continue
        extra = field.json_schema_extra if isinstance(field.json_schema_extra, dict) else {}
        records[prefix + name] = {"trust": extra.get("trust", "order"), "reason": extra.get("trust_reason", ""),
                                  "root": extra.get("path_root")}
    return records


class FanOut(BaseModel):
    """How the farm may split a node over several jobs: a frame range (chunks of `size` frames
    out of `count`, set through `start`/`end`) or a view (each such node its own job when its
    `switch` setting is on). `assembler` ("module:function") builds the node's unsplit outputs
    from the parts' files (tests/test_node_registry.py checks that it resolves); `parts` names
    the output ports a part job hands to the assemble job."""

    model_config = ConfigDict(frozen=True)

    kind: Literal["frames", "views"]
    count: str = ""
    start: str = ""
    end: str = ""
    size: str = ""
    switch: str = ""
    parts: tuple[str, ...] = ()
    assembler: str = ""


# the longest one attempt of a node may run when neither its definition nor the graph's policy
# says: by node family, so a hung step fails (and its worker moves on) instead of holding a job forever
DEFAULT_TIMEOUTS: dict[str, float] = {"input": 600, "materials": 600, "scene": 600, "output": 1800, "cad": 3600,
                                      "render": 6 * 3600, "bridge": 6 * 3600}
FALLBACK_TIMEOUT = 3600.0


class NodeDefinition(BaseModel):
    """Everything the system knows about one step, apart from its executor's code; registered
    with that executor by `engine.model.registry.node` in the step's `engine/nodes/` module."""

    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True)

    key: str
    version: int = 1
    label: str
    description: str
    family: str
    settings_model: type[NodeSettings]
    inputs: tuple[Port, ...] = ()
    outputs: tuple[Port, ...] = ()
    capabilities: tuple[Capability, ...] = ()
    optional_capabilities: tuple[Capability, ...] = ()
    workflow_families: tuple[str, ...] = WORKFLOW_FAMILIES
    execution: Execution = "inline"
    self_publishes: bool = False
    is_render: bool = False
    composite_of: tuple[str, ...] = ()
    icon: str = "NODE"
    deprecated: bool = False
    fan_out: FanOut | None = None
    timeout_s: float | None = None  # one attempt's default timeout; None: its family's (DEFAULT_TIMEOUTS)

    def attempt_timeout(self) -> float:
        """The timeout of one attempt when the graph's policy sets none."""
        return self.timeout_s or DEFAULT_TIMEOUTS.get(self.family, FALLBACK_TIMEOUT)

    def input(self, name: str) -> Port | None:
        return next((p for p in self.inputs if p.name == name), None)

    def output(self, name: str) -> Port | None:
        return next((p for p in self.outputs if p.name == name), None)

    def default_settings(self) -> dict[str, Any]:
        return self.settings_model().model_dump(mode="json")

    def settings_schema(self) -> dict[str, Any]:
        return self.settings_model.model_json_schema()

    def field_groups(self) -> list[dict[str, Any]]:
        """Fields grouped for an editor panel, in declaration order, from each field's `group`."""
        groups: dict[str, list[str]] = {}
        for name, field in self.settings_model.model_fields.items():
            extra = field.json_schema_extra if isinstance(field.json_schema_extra, dict) else {}
            groups.setdefault(str(extra.get("group", "General")), []).append(name)
        return [{"name": group, "label": group, "fields": fields} for group, fields in groups.items()]

    def setting_trust(self) -> dict[str, dict[str, Any]]:
        return settings_trust(self.settings_model)

    def operator_settings(self) -> dict[str, dict[str, Any]]:
        """Settings only an output type's admin or the worker's config may set, never an order."""
        return {name: record for name, record in self.setting_trust().items() if record["trust"] == "operator"}

    def artifact_roles(self) -> dict[str, str]:
        return {p.name: p.role for p in self.outputs if p.role}

    def describe(self) -> dict[str, Any]:
        """The public, JSON-ready description served to the editor, the API and the CLI."""

        def port(p: Port) -> dict[str, Any]:
            return {
                "name": p.name,
                "label": p.label,
                "kinds": [str(k) for k in p.kinds],
                "required": p.required,
                "multiple": p.multiple,
                "role": p.role,
                "description": p.description,
            }

        return {
            "key": self.key,
            "version": self.version,
            "label": self.label,
            "description": self.description,
            "family": self.family,
            "settings_schema": self.settings_schema(),
            "defaults": self.default_settings(),
            "field_groups": self.field_groups(),
            "setting_trust": {name: record["trust"] for name, record in self.setting_trust().items()},
            "operator_settings": {name: record["reason"] for name, record in self.operator_settings().items()},
            "inputs": [port(p) for p in self.inputs],
            "outputs": [port(p) for p in self.outputs],
            "artifact_roles": self.artifact_roles(),
            "capabilities": list(self.capabilities),
            "optional_capabilities": list(self.optional_capabilities),
            "workflow_families": list(self.workflow_families),
            "execution": self.execution,
            "self_publishes": self.self_publishes,
            "is_render": self.is_render,
            "composite_of": list(self.composite_of),
            "icon": self.icon,
            "deprecated": self.deprecated,
        }
