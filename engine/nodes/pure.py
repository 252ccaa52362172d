"""Nodes that need neither bpy nor OCP and make no output: the order line's set-up and the
material map (rules, then defaults)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..cad.category import resolve_category
from ..errors import NodeInputError
from ..model.artifacts import Artifact, ArtifactKind
from ..model.artifacts import ArtifactKind as K
from ..model.context import NodeCall
from ..model.node_definition import NodeDefinition, NodeSettings, inp, out
from ..model.node_settings import MaterialRule, path_setting, setting
from ..model.registry import node
from ..model.trust import confine
from ..model.vocabulary import Preset
from ..render.material_rules import PartFacts, assembly_size, describe, load_rules, rule_matches
from ..render.materials import LIBRARY

MAX_RULES = 500


# -- order_line_setup ------------------------------------------------------------------------------
class OrderLineSetupSettings(NodeSettings):
    output_type: str = setting(Preset.STILL, "Order", "Output type this run produces, unless the order line says")
    product_category: str = setting("", "Order", "Product category used to pick a template; empty = any")
    work_subdir: str = setting("", "Order", "Sub-folder of the run folder for this line's files; empty = line id",
                               operator="path")


@node(NodeDefinition(
    key="order_line_setup", label="Order Line Setup", family="input", icon="FILE_NEW",
    description="Opens a run for one order line: working folder, product, output type, invocation overrides.",
    settings_model=OrderLineSetupSettings,
    outputs=(out("order_line", K.ORDER_LINE),),
))
def order_line_setup(call: NodeCall) -> dict[str, Artifact]:
    """The order line as an artifact, with its working folder created under the run folder."""
    line = call.context.order_line
    settings = call.settings
    work_dir = confine(settings.work_subdir or line.id, [call.context.run_dir],
                       f"node '{call.node_id}' (order_line_setup): setting 'work_subdir'")
    work_dir.mkdir(parents=True, exist_ok=True)
    data = line.model_dump(mode="json")
    if "output_type" not in line.model_fields_set:
        data["output_type"] = settings.output_type
    data["category"] = line.category or settings.product_category
    data["work_dir"] = str(work_dir)
    call.log(f"order line {line.id}: product {line.product or '-'}, output {data['output_type']}, folder {work_dir}")
    return {"order_line": Artifact(kind=ArtifactKind.ORDER_LINE, data=data)}


# -- material_map_resolve ----------------------------------------------------------------------------
class MaterialMapResolveSettings(NodeSettings):
    rules: list[MaterialRule] = setting(
        [], "Rules", "Ordered rules from part name and CAD colour to library materials",
        max_length=MAX_RULES)
    library: str = setting("default", "Library", "Material library to resolve keys against")
    case_sensitive: bool = setting(False, "Rules", "Match part-name patterns case-sensitively")
    material_rules: str = path_setting(
        "", "Rules", "Rules file (JSON) applied after the rules above; empty = the bundled default rules",
        root="templates")
    material_library: str = path_setting(
        "", "Library", "Material library .blend whose materials the rules name; empty = the built-in library",
        root="templates")
    category: str = setting("", "Rules", "Product category for category rules; empty = the order line's")


def _parts(call: NodeCall) -> list[dict[str, Any]]:
    artifact = call.require("cad_parts")
    parts = artifact.data.get("parts")
    if not isinstance(parts, list):
        raise NodeInputError(f"node '{call.node_id}': cad_parts from {artifact.path or 'upstream'} has no 'parts' list")
    return parts


def part_key(part: dict[str, Any]) -> str:
    """The key a part's material map entry goes under: its part key (names can repeat); parts
    listed without one (hand-made lists) go by name."""
    return str(part.get("key") or part.get("name", ""))


def _rules(call: NodeCall) -> list[tuple[Any, int, str]]:
    """The node's own rules ('inline'), then those of its rules file, each with its index and source."""
    settings = call.settings
    try:
        from_file = load_rules(settings.material_rules or None)
    except ValueError as exc:
        raise NodeInputError(f"node '{call.node_id}': material_rules: {exc}") from None
    source = settings.material_rules or "default"
    return [(r, i, "inline") for i, r in enumerate(settings.rules)] + [(r, i, source) for i, r in enumerate(from_file)]


def _check_materials(call: NodeCall, rules: list[tuple[Any, int, str]]) -> None:
    """Keys of the built-in library are known here; a studio library's names are checked on render."""
    if call.settings.material_library:
        if not Path(call.settings.material_library).is_file():
            raise NodeInputError(f"node '{call.node_id}': material_library: {call.settings.material_library} "
                                 "is not a file")
        return
    for rule, index, source in rules:
        if rule.material not in LIBRARY:
            where = f"rules[{index}]" if source == "inline" else f"material_rules ({source}) rule {index}"
            raise NodeInputError(f"node '{call.node_id}': {where}.material '{rule.material}' is not in the "
                                 f"material library; known: {', '.join(LIBRARY)}")


@node(NodeDefinition(
    key="material_map_resolve", label="Resolve Materials", family="materials", icon="MATERIAL",
    description="Maps part names and colours to library materials by ordered rules.",
    settings_model=MaterialMapResolveSettings,
    inputs=(inp("cad_parts", K.CAD_PARTS),),
    outputs=(out("material_map", K.MATERIAL_MAP),),
))
def material_map_resolve(call: NodeCall) -> dict[str, Artifact]:
    """Each part gets the material of the first rule that matches its name, the order line's
    category, its colour and its geometry facts; the map records which rule it was."""
    rules = _rules(call)
    _check_materials(call, rules)
    parts = _parts(call)
    chosen = resolve_category(call.settings.category, call.context.order_line.category or "",
                              call.require("cad_parts").data.get("detected_category"))
    category = chosen["name"]
    size = assembly_size(parts)
    assignments: dict[str, dict[str, Any]] = {}
    for part in parts:
        facts = PartFacts(part, category, size)
        for rule, index, source in rules:
            if rule_matches(rule, facts, call.settings.case_sensitive):
                assignments[part_key(part)] = {"material": rule.material, "source": "rule", "rule": index,
                                               "rule_source": source, "rule_label": describe(rule),
                                               "colour": facts.colour, "name": facts.name}
                break
    call.log(f"{len(assignments)} of {len(parts)} parts matched a rule (category '{category or '-'}' from "
             f"{chosen['source']})")
    data: dict[str, Any] = {"assignments": assignments, "assumed": [], "category": chosen}
    if call.settings.material_library:
        data["library"] = str(Path(call.settings.material_library).resolve())
    return {"material_map": Artifact(kind=ArtifactKind.MATERIAL_MAP, data=data)}


# -- auto_populate_materials ---------------------------------------------------------------------
class AutoPopulateMaterialsSettings(NodeSettings):
    default_material: str = setting("plastic_grey", "Defaults", "Material for parts with no rule and no colour")
    derive_from_colour: bool = setting(True, "Defaults", "Unmatched parts get a plastic in their CAD colour")


@node(NodeDefinition(
    key="auto_populate_materials", label="Auto-populate Materials", family="materials", icon="SHADING_RENDERED",
    description="Assigns defaults to unmatched parts and records what it assumed.",
    settings_model=AutoPopulateMaterialsSettings,
    inputs=(inp("cad_parts", K.CAD_PARTS), inp("material_map", K.MATERIAL_MAP, required=False)),
    outputs=(out("material_map", K.MATERIAL_MAP),),
))
def auto_populate_materials(call: NodeCall) -> dict[str, Artifact]:
    """Parts no rule matched get their CAD colour as a plastic, else the default material."""
    default = call.settings.default_material
    upstream = call.input("material_map")
    library = upstream.data.get("library") if upstream else None
    if default not in LIBRARY and not library:
        raise NodeInputError(f"node '{call.node_id}': default_material '{default}' is not in the material library; "
                             f"known: {', '.join(LIBRARY)}")
    assignments = dict(upstream.data.get("assignments", {})) if upstream else {}
    assumed = list(upstream.data.get("assumed", [])) if upstream else []
    for part in _parts(call):
        name, colour, key = str(part.get("name", "")), part.get("colour"), part_key(part)
        if key in assignments:
            continue
        if colour and call.settings.derive_from_colour:
            assignments[key] = {"material": "cad_colour", "source": "colour", "rule": None, "colour": colour,
                                "name": name}
        else:
            assignments[key] = {"material": default, "source": "default", "rule": None, "colour": colour,
                                "name": name}
            assumed.append(name)
    if assumed:
        call.log(f"assumed '{default}' for {len(assumed)} part(s): {', '.join(assumed[:10])}")
    data: dict[str, Any] = {"assignments": assignments, "assumed": assumed}
    if upstream and "category" in upstream.data:
        data["category"] = upstream.data["category"]  # which category the rules used, and why
    if library:
        data["library"] = library
    return {"material_map": Artifact(kind=ArtifactKind.MATERIAL_MAP, data=data)}
