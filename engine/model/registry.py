"""NodeDefinitionRegistry: looks steps up and finds their executors by module key."""

from __future__ import annotations

import difflib
import importlib
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from .node_definition import NodeDefinition

Executor = Callable[..., Any]


class UnknownStepError(KeyError):
    pass


class NodeDefinitionRegistry:
    """Definitions by key, plus executors: shipped ones by module key, test ones by override."""

    def __init__(self, definitions: Iterable[NodeDefinition] = ()) -> None:
        self._definitions: dict[str, NodeDefinition] = {}
        self._executors: dict[str, Executor] = {}
        for definition in definitions:
            self.register(definition)

    def register(self, definition: NodeDefinition, executor: Executor | None = None) -> None:
        self._definitions[definition.key] = definition
        if executor is not None:
            self._executors[definition.key] = executor

    def unregister(self, key: str) -> None:
        self._definitions.pop(key, None)
        self._executors.pop(key, None)

    def __contains__(self, key: object) -> bool:
        return key in self._definitions

    def __iter__(self) -> Iterator[NodeDefinition]:
        return iter(self._definitions.values())

    def __len__(self) -> int:
        return len(self._definitions)

    def keys(self) -> list[str]:
        return list(self._definitions)

    def get(self, key: str) -> NodeDefinition:
        try:
            return self._definitions[key]
        except KeyError:
            raise UnknownStepError(key) from None

    def closest(self, key: str) -> str | None:
        matches = difflib.get_close_matches(key, self.keys(), n=1, cutoff=0.5)
        return matches[0] if matches else None

    def executor(self, key: str) -> Executor:
        """The callable that runs a step: `module_key` 'cad.occ_glb_export' is
        `engine.executors.cad.occ_glb_export`, imported on first use."""
        if key in self._executors:
            return self._executors[key]
        definition = self.get(key)
        module_name, _, func_name = definition.module_key.rpartition(".")
        package = __name__.rsplit(".", 2)[0]  # the engine package, vendored or not
        module = importlib.import_module(f"{package}.executors.{module_name}")
        func: Executor = getattr(module, func_name)
        self._executors[key] = func
        return func

    def describe(self) -> dict[str, Any]:
        from .artifacts import ARTIFACT_DESCRIPTIONS

        return {
            "schema_version": 1,
            "artifact_kinds": {str(k): v for k, v in ARTIFACT_DESCRIPTIONS.items()},
            "families": sorted({d.family for d in self}),
            "definitions": [d.describe() for d in self],
        }

    def copy(self) -> NodeDefinitionRegistry:
        clone = NodeDefinitionRegistry(self._definitions.values())
        clone._executors = dict(self._executors)
        return clone


def default_registry() -> NodeDefinitionRegistry:
    from .node_catalog import ALL_DEFINITIONS

    return NodeDefinitionRegistry(ALL_DEFINITIONS)


REGISTRY = default_registry()
