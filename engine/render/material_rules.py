"""Material rules as data: ordered rules from a part's name, product category, CAD colour and
geometry facts (`engine.cad.occ.geometry_facts`) to a library material, and the JSON rules file.

A rules file is `{"version": 1, "rules": [MaterialRule, ...]}`. The bundled one
(`DEFAULT_RULES_FILE`) holds the product categories, e.g. `bearing`: rings and balls steel,
cages brass or steel, seals rubber. The first rule that matches a part wins.
"""

from __future__ import annotations

import fnmatch
import json
import math
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ..model.node_settings import MaterialRule

DEFAULT_RULES_FILE = Path(__file__).parent.parent / "templates" / "material_rules.json"


class RulesFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    version: int = 1
    rules: list[MaterialRule] = Field(default_factory=list)


def load_rules(path: str | Path | None = None) -> list[MaterialRule]:
    """The rules of a rules file (the bundled defaults when `path` is empty); ValueError naming the
    file and the first problem when it is missing or invalid."""
    source = Path(path) if path else DEFAULT_RULES_FILE
    try:
        return RulesFile.model_validate(json.loads(source.read_text())).rules
    except OSError as exc:
        raise ValueError(f"material rules file {source} cannot be read: {exc.strerror or exc}") from None
    except json.JSONDecodeError as exc:
        raise ValueError(f"material rules file {source} is not JSON: {exc}") from None
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise ValueError(f"material rules file {source}: {where}: {first['msg']}") from None


def _rgb(colour: str) -> tuple[float, float, float]:
    return tuple(int(colour[i:i + 2], 16) / 255 for i in (1, 3, 5))  # type: ignore[return-value]


def _corners(bbox: dict[str, list[float]], matrix: list[float]) -> list[tuple[float, float, float]]:
    """The 8 corners of a part's box placed by a row-major 4x4 world matrix."""
    lo, hi = bbox["min"], bbox["max"]
    points = []
    for x in (lo[0], hi[0]):
        for y in (lo[1], hi[1]):
            for z in (lo[2], hi[2]):
                points.append(tuple(matrix[4 * r] * x + matrix[4 * r + 1] * y + matrix[4 * r + 2] * z + matrix[4 * r + 3]
                                    for r in range(3)))
    return points  # type: ignore[return-value]


def assembly_size(parts: list[dict[str, Any]]) -> float:
    """Diagonal (mm) of the box around every placed part: what part sizes are relative to."""
    points = [c for p in parts if p.get("bbox_mm") for m in (p.get("placements") or [[1, 0, 0, 0, 0, 1, 0, 0,
              0, 0, 1, 0, 0, 0, 0, 1]]) for c in _corners(p["bbox_mm"], m)]
    if not points:
        return 0.0
    return math.dist([min(c[i] for c in points) for i in range(3)], [max(c[i] for c in points) for i in range(3)])


class PartFacts:
    """What rules look at for one part of the extraction record."""

    def __init__(self, part: dict[str, Any], category: str, size_of_assembly: float) -> None:
        self.name = str(part.get("name", ""))
        self.colour: str | None = part.get("colour")
        self.category = category.lower()
        self.geometry: dict[str, Any] = part.get("geometry") or {}
        size = float(self.geometry.get("size_mm") or 0.0)
        self.relative_size = min(1.0, size / size_of_assembly) if size_of_assembly > 0 else 1.0


def _name_matches(pattern: str, name: str, case_sensitive: bool) -> bool:
    if case_sensitive:
        return fnmatch.fnmatchcase(name, pattern)
    return fnmatch.fnmatchcase(name.lower(), pattern.lower())


def _geometry_matches(rule: MaterialRule, part: PartFacts) -> bool:
    facts = part.geometry
    if rule.shape and facts.get("shape") != rule.shape:
        return False
    for fact in ("rotational", "thin_walled"):
        wanted = getattr(rule, fact)
        if wanted is not None and bool(facts.get(fact)) != wanted:
            return False
    return rule.min_size <= part.relative_size <= rule.max_size


def rule_matches(rule: MaterialRule, part: PartFacts, case_sensitive: bool = False) -> bool:
    """Every condition the rule sets holds for the part (an empty condition holds for any)."""
    if rule.category and rule.category.lower() != part.category:
        return False
    if rule.name_pattern and not any(_name_matches(p.strip(), part.name, case_sensitive)
                                     for p in rule.name_pattern.split("|")):
        return False
    if rule.colour and (not part.colour or math.dist(_rgb(part.colour), _rgb(rule.colour)) > rule.colour_tolerance):
        return False
    return _geometry_matches(rule, part)


def describe(rule: MaterialRule) -> str:
    """A rule's label, else its conditions in words, for the run record."""
    if rule.label:
        return rule.label
    parts = [f"{k}={v}" for k, v in rule.model_dump(exclude={"material", "label", "colour_tolerance"}).items()
             if v not in ("", None) and not (k == "min_size" and v == 0) and not (k == "max_size" and v == 1)]
    return " ".join(parts) or "any part"
