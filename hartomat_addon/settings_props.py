"""Blender properties derived from a settings model's JSON Schema.

Scalars become typed properties (bounds, enums, defaults, descriptions as tooltips); lists and
objects (material rules, composite settings) become a JSON text property checked on export.
Each property is named PREFIX + field so no setting can shadow a `bpy.types.Node` attribute.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import bpy

from .engine_link import node_definition

PREFIX = "hm_s_"
FLOAT_DIGITS = 7  # FloatProperty is single precision: values go back to JSON at 7 digits


@dataclass(frozen=True)
class FieldSpec:
    """How one settings field maps to a property: its name there and how values convert."""

    field: str
    prop: str
    kind: str  # "bool" | "int" | "float" | "enum" | "str" | "json"


def prop_name(field: str) -> str:
    return PREFIX + field


def _resolve(schema: dict[str, Any], root: dict[str, Any]) -> dict[str, Any]:
    ref = schema.get("$ref")
    if ref and ref.startswith("#/$defs/"):
        return {**root.get("$defs", {})[ref.split("/")[-1]], **{k: v for k, v in schema.items() if k != "$ref"}}
    return schema


def field_kind(schema: dict[str, Any]) -> str:
    if "enum" in schema:
        return "enum"
    return {"boolean": "bool", "integer": "int", "number": "float", "string": "str"}.get(
        str(schema.get("type")), "json")


def _bounds(schema: dict[str, Any], cast: Callable[[Any], Any]) -> dict[str, Any]:
    bounds: dict[str, Any] = {}
    low = schema.get("minimum", schema.get("exclusiveMinimum"))
    high = schema.get("maximum", schema.get("exclusiveMaximum"))
    if low is not None:
        bounds["min"] = cast(low)
    if high is not None:
        bounds["max"] = cast(high)
    return bounds


def _string_subtype(field: str) -> dict[str, Any]:
    if field.endswith("_path"):
        return {"subtype": "FILE_PATH"}
    if field.endswith("_dir"):
        return {"subtype": "DIR_PATH"}
    return {}


def _tooltip(schema: dict[str, Any]) -> str:
    """The schema's description, plus why an order may not set it when it is operator-only."""
    text = str(schema.get("description", ""))
    if schema.get("trust") == "operator":
        text += f" (operator-only: {schema.get('trust_reason', 'not settable by an order')})"
    return text


def make_property(field: str, schema: dict[str, Any], root: dict[str, Any],
                  update: Callable[..., None]) -> tuple[FieldSpec, Any]:
    """The `bpy.props` definition of one field, and the spec to read it back."""
    schema = _resolve(schema, root)
    kind = field_kind(schema)
    common = {"name": schema.get("title", field), "description": _tooltip(schema), "update": update}
    default = schema.get("default")
    if kind == "bool":
        prop = bpy.props.BoolProperty(default=bool(default), **common)
    elif kind == "int":
        prop = bpy.props.IntProperty(default=int(default or 0), **_bounds(schema, int), **common)
    elif kind == "float":
        prop = bpy.props.FloatProperty(default=float(default or 0.0), **_bounds(schema, float),
                                       precision=3, **common)
    elif kind == "enum":
        items = [(str(v), node_definition.words(str(v)) or "(any)", "") for v in schema["enum"]]
        prop = bpy.props.EnumProperty(items=items, default=str(default if default is not None else schema["enum"][0]),
                                      **common)
    elif kind == "str":
        prop = bpy.props.StringProperty(default=str(default or ""), **_string_subtype(field), **common)
    else:
        common["description"] = (common["description"] + " (JSON)").strip()
        prop = bpy.props.StringProperty(default=json.dumps(default), **common)
    return FieldSpec(field=field, prop=prop_name(field), kind=kind), prop


def _updater(on_change: Callable[[Any, str], None], field: str) -> Callable[[Any, Any], None]:
    """Blender wants an update callback of exactly (owner, context)."""

    def update(owner: Any, _context: Any) -> None:
        on_change(owner, field)

    return update


def settings_properties(schema: dict[str, Any], on_change: Callable[[Any, str], None]
                        ) -> tuple[list[FieldSpec], dict[str, Any]]:
    """Property annotations for a node class, in the schema's field order; `on_change(owner,
    field)` runs when a user edits one (it must only mark things dirty)."""
    specs: list[FieldSpec] = []
    annotations: dict[str, Any] = {}
    for field, field_schema in schema.get("properties", {}).items():
        spec, prop = make_property(field, field_schema, schema, _updater(on_change, field))
        specs.append(spec)
        annotations[spec.prop] = prop
    return specs, annotations


class SettingError(ValueError):
    """A JSON-text setting that does not parse; names the node and field."""


def read_value(owner: Any, spec: FieldSpec, node_id: str = "") -> Any:
    """The JSON value of a property (floats rounded back from single precision)."""
    value = getattr(owner, spec.prop)
    if spec.kind == "float":
        return float(f"{value:.{FLOAT_DIGITS}g}")
    if spec.kind == "json":
        try:
            return json.loads(value)
        except json.JSONDecodeError as exc:
            raise SettingError(f"node '{node_id}': setting '{spec.field}' is not valid JSON: {exc}") from None
    return value


def write_value(owner: Any, spec: FieldSpec, value: Any) -> None:
    """Sets a property from a JSON value; values the property cannot hold raise ValueError/TypeError."""
    if spec.kind == "json":
        setattr(owner, spec.prop, json.dumps(value))
    elif spec.kind == "float" and isinstance(value, (int, float)) and not isinstance(value, bool):
        setattr(owner, spec.prop, float(value))
    else:
        setattr(owner, spec.prop, value)
