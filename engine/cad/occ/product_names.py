"""Which label names are names, and the PRODUCT a nameless label was transferred from.

OCCT names a label after its PRODUCT only when it can tie the product definition to the label's
shape; when a product's shape reaches its geometry through a chain of representations (Pro/E:
`SHAPE_REPRESENTATION('SOLID')` related to an `ADVANCED_BREP_SHAPE_REPRESENTATION('SOLID')`) it
cannot, and the label keeps no name while its instances keep OCCT's reference names (`=>[0:1:1:3]`).
The transfer results still map the label's shape to the STEP item it came from; from that item
through the representation holding it, plain representation relationships and the shape
definition using the representation, an index of the model reaches the PRODUCT_DEFINITION and its
PRODUCT, whose name (else id) is the part's name. The index is built only when a label needs it.

Exporters also write placeholders that are not names (`NONE`, `UNIDENTIFIED_PRODUCT`, Euclid's
`the product name`): they count as no name, so a real id, instance or generated name is used.
"""

from __future__ import annotations

import re
from typing import Any

# Compared case-folded, with surrounding blanks removed.
PLACEHOLDER_NAMES = frozenset({
    "", "none", "null", "unidentified_product", "unidentified product", "the product name", "unnamed",
    "no name", "noname", "untitled", "unknown", "undefined", "n/a", "product", "part", "default"})
_REFERENCE = re.compile(r"^=>\s*\[[\d:]+\]$|^\[[\d:]+\]$")  # OCCT's names for labels it had no name for
_NUMBERED = re.compile(r"^(part|body|product|solid|component)[\s_\-.]*\d+$", re.I)  # `PART12`, `Body 3`
MAX_LEVELS = 8  # item -> representation -> (relationship -> representation)* -> shape definition


def is_reference_name(name: str | None) -> bool:
    """Whether `name` is OCCT's generated reference (`=>[0:1:1:3]`), not a name from the file."""
    return bool(_REFERENCE.match((name or "").strip()))


def is_placeholder_name(name: str | None) -> bool:
    """Whether `name` is what an exporter writes when it has no name: empty, `NONE`,
    `UNIDENTIFIED_PRODUCT`, `the product name`, an OCCT reference name."""
    text = (name or "").strip()
    return text.casefold() in PLACEHOLDER_NAMES or is_reference_name(text)


def is_numbered_name(name: str | None) -> bool:
    """`PART12`, `Body 3`: a name only where the file gives nothing better."""
    return bool(_NUMBERED.match((name or "").strip()))


def _of_type(model: Any, kind: Any) -> list[Any]:
    """The model's entities of `kind` (a subclass counts), filtered in OCCT, not in Python."""
    entities = model.Entities()
    entities.SelectType(kind.get_type_descriptor_s(), True)
    found = []
    entities.Start()
    while entities.More():
        found.append(entities.Value())
        entities.Next()
    return found


class ProductIndex:
    """Which PRODUCT_DEFINITION each representation item belongs to, built from the file's shape
    definitions, representations and plain representation relationships (never placements).

    Entities are compared as the Python objects the bindings hand out: kept alive here, the same
    STEP entity comes back as the same object (the model's own lookup by entity answers 0 through
    the bindings)."""

    def __init__(self, model: Any) -> None:
        from OCP.StepRepr import (
            StepRepr_Representation,
            StepRepr_ShapeRepresentationRelationship,
            StepRepr_ShapeRepresentationRelationshipWithTransformation,
        )
        from OCP.StepShape import StepShape_ShapeDefinitionRepresentation

        self.keep: list[Any] = []
        self.owners: dict[int, list[Any]] = {}  # id(item) -> representations holding it
        self.related: dict[int, list[Any]] = {}  # id(representation) -> representations related to it
        self.definitions: dict[int, Any] = {}  # id(representation) -> its PRODUCT_DEFINITION
        for rep in _of_type(model, StepRepr_Representation):
            items = rep.Items()
            for index in range(1, (items.Length() if items is not None else 0) + 1):
                item = items.Value(index)
                self.keep.append(item)
                self.owners.setdefault(id(item), []).append(rep)
            self.keep.append(rep)
        for link in _of_type(model, StepRepr_ShapeRepresentationRelationship):
            if isinstance(link, StepRepr_ShapeRepresentationRelationshipWithTransformation):
                continue  # a placement in an assembly, not another form of the same product
            one, two = link.Rep1(), link.Rep2()
            if one is not None and two is not None:
                self.related.setdefault(id(one), []).append(two)
                self.related.setdefault(id(two), []).append(one)
                self.keep.extend((one, two))
        for sdr in _of_type(model, StepShape_ShapeDefinitionRepresentation):
            definition = sdr.Definition().PropertyDefinition()
            product = definition.Definition().ProductDefinition() if definition is not None else None
            rep = sdr.UsedRepresentation()
            if product is not None and rep is not None:
                self.definitions.setdefault(id(rep), product)
                self.keep.extend((rep, product))

    def definition_of(self, entity: Any) -> Any:
        """The PRODUCT_DEFINITION of the representation `entity` is (or is an item of), nearest
        through relationships first; None where none is found."""
        frontier = [entity, *self.owners.get(id(entity), [])]
        seen = {id(e) for e in frontier}
        for _level in range(MAX_LEVELS):
            for rep in frontier:
                if id(rep) in self.definitions:
                    return self.definitions[id(rep)]
            frontier = [other for rep in frontier for other in self.related.get(id(rep), []) if id(other) not in seen]
            seen.update(id(e) for e in frontier)
            if not frontier:
                return None
        return None


def _text(value: Any) -> str:
    """An ASCII STEP string; 8-bit bytes (decoded by OCCT only on the way into labels) give ''."""
    try:
        return str(value.ToCString()).strip() if value is not None else ""
    except UnicodeDecodeError:
        return ""


def product_of_shape(transfer: Any, index: ProductIndex, shape: Any) -> tuple[str, str] | None:
    """(name, id) of the PRODUCT `shape` was transferred from, through the reader's results."""
    for mode in (1, -1):  # 1: the shape itself or a located copy; -1: also a shape holding it
        entity = transfer.EntityFromShapeResult(shape, mode)
        if entity is not None:
            definition = index.definition_of(entity)
            if definition is not None and definition.Formation() is not None:
                product = definition.Formation().OfProduct()
                if product is not None:
                    return _text(product.Name()), _text(product.Id())
    return None


def unnamed_product_names(reader: Any, shape_tool: Any) -> dict[str, tuple[str, str]]:
    """For each product label OCCT left without a real name: label entry -> the (name, id) of its
    PRODUCT in the file."""
    from OCP.OCP.collections import Sequence_TDF_Label as Labels
    from OCP.XCAFDoc import XCAFDoc_ShapeTool

    from .assembly import is_representation_name, label_entry, label_name

    labels = Labels()
    shape_tool.GetShapes(labels)
    nameless = [labels.Value(i) for i in range(1, len(labels) + 1)]
    nameless = [label for label in nameless if not _named(label_name(label), is_representation_name)]
    if not nameless:
        return {}  # the usual file: no need to look into the STEP model
    work_session = reader.ChangeReader().WS()
    index, transfer = ProductIndex(work_session.Model()), work_session.TransferReader()
    found: dict[str, tuple[str, str]] = {}
    for label in nameless:
        product = product_of_shape(transfer, index, XCAFDoc_ShapeTool.GetShape_s(label))
        if product is not None:
            found[label_entry(label)] = product
    return found


def _named(name: str | None, is_representation: Any) -> bool:
    return bool(name) and not is_placeholder_name(name) and not is_representation(name)
