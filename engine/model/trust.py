"""Trust levels of node settings: what an order line may set, and where operator paths may point.

The registry is the single source: each setting declares `trust` ('order' or 'operator') and, for
paths, the configured folder it must resolve inside (`path_root`: the worker's scratch folder, its
product library or its template library). The server refuses operator settings in an order line;
a worker refuses any path outside its folders with the same words whether or not the file exists.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from ..errors import NodeInputError
from .node_definition import NodeDefinition

PathRoots = Mapping[str, Sequence[Path]]
MISSING = object()  # a dotted setting name an override does not mention


def confine(value: str, roots: Sequence[Path], what: str) -> Path:
    """`value` as a resolved path inside one of `roots` (a relative value is taken from each root in
    turn). Refused with one message whether or not the file exists, so it reveals nothing."""
    path = Path(value).expanduser()
    for root in roots:
        base = Path(root).resolve()
        candidate = (base / path).resolve()
        if candidate.is_relative_to(base):
            return candidate
    raise NodeInputError(f"{what}: path refused: it is not inside a folder this worker allows")


def confine_settings(definition: NodeDefinition, node_id: str, settings: dict[str, Any],
                     roots: PathRoots | None) -> tuple[dict[str, Any], list[str]]:
    """Settings with every non-empty path resolved inside its configured root; `roots` None means
    an unconfined local run (the machine's own user is the operator)."""
    if roots is None:
        return settings, []
    problems = []
    for name, record in definition.operator_settings().items():
        value = lookup(settings, name)
        if not record["root"] or not isinstance(value, str) or not value:
            continue
        what = f"node '{node_id}' ({definition.key}): setting '{name}'"
        try:
            _store(settings, name, str(confine(value, roots.get(record["root"], ()), what)))
        except NodeInputError as exc:
            problems.append(str(exc))
    return settings, problems


def lookup(values: dict[str, Any], dotted: str) -> Any:
    for part in dotted.split("."):
        if not isinstance(values, dict) or part not in values:
            return MISSING
        values = values[part]
    return values


def _store(values: dict[str, Any], dotted: str, value: Any) -> None:
    *parents, last = dotted.split(".")
    for part in parents:
        values = values[part]
    values[last] = value
