"""NodeDefinitionRegistry: every step's definition and executor, registered together.

A node lives in one module of `engine/nodes/`: its settings model, its definition and its
executor, tied by the `@node(definition)` decorator on the executor. The shared REGISTRY imports
`engine.nodes` on its first read, by name, so the model layer never imports the layer above it
and loads without the nodes' dependencies.
"""

from __future__ import annotations

import difflib
import importlib
import threading
from collections.abc import Callable, Iterable, Iterator
from typing import Any, TypeVar

from .node_definition import NodeDefinition

Executor = Callable[..., Any]
E = TypeVar("E", bound=Executor)


class UnknownStepError(KeyError):
    pass


class DuplicateStepError(ValueError):
    """A second node registered under a key already taken (pass replace=True to mean it)."""


class NodeDefinitionRegistry:
    """Definitions and their executors by step key; `load` names modules (relative to the engine
    package) imported on the first read, whose `@node` decorators fill the registry."""

    def __init__(self, nodes: Iterable[tuple[NodeDefinition, Executor]] = (), *, load: tuple[str, ...] = ()) -> None:
        self._definitions: dict[str, NodeDefinition] = {}
        self._executors: dict[str, Executor] = {}
        self._load_names = load
        self._loaded = not load
        self._loading = False
        self._lock = threading.RLock()
        for definition, executor in nodes:
            self.register(definition, executor)

    def _load(self) -> None:
        """Import the pending node modules once; a read from inside them (a bridge node looking up
        the steps it wraps) sees what is registered so far."""
        if self._loaded:
            return
        with self._lock:  # another thread waits here until the nodes are in
            if self._loaded or self._loading:
                return
            self._loading = True
            try:
                package = __name__.rsplit(".", 2)[0]  # the engine package, vendored or not
                for name in self._load_names:
                    importlib.import_module(f"{package}.{name}")
                self._loaded = True
            finally:
                self._loading = False

    def register(self, definition: NodeDefinition, executor: Executor, *, replace: bool = False) -> None:
        if not callable(executor):
            raise TypeError(f"step '{definition.key}': executor {executor!r} is not callable")
        if definition.key in self._definitions and not replace:
            raise DuplicateStepError(f"step '{definition.key}' is registered twice "
                                     f"({self._executors[definition.key].__module__} and {executor.__module__})")
        self._definitions[definition.key] = definition
        self._executors[definition.key] = executor

    def unregister(self, key: str) -> None:
        self._load()
        self._definitions.pop(key, None)
        self._executors.pop(key, None)

    def __contains__(self, key: object) -> bool:
        self._load()
        return key in self._definitions

    def __iter__(self) -> Iterator[NodeDefinition]:
        self._load()
        return iter(list(self._definitions.values()))

    def __len__(self) -> int:
        self._load()
        return len(self._definitions)

    def keys(self) -> list[str]:
        self._load()
        return list(self._definitions)

    def get(self, key: str) -> NodeDefinition:
        self._load()
        try:
            return self._definitions[key]
        except KeyError:
            raise UnknownStepError(key) from None

    def closest(self, key: str) -> str | None:
        matches = difflib.get_close_matches(key, self.keys(), n=1, cutoff=0.5)
        return matches[0] if matches else None

    def executor(self, key: str) -> Executor:
        """The callable that runs a step."""
        self.get(key)
        return self._executors[key]

    def describe(self) -> dict[str, Any]:
        from .artifacts import ARTIFACT_DESCRIPTIONS

        return {
            "schema_version": 1,
            "artifact_kinds": {str(k): v for k, v in ARTIFACT_DESCRIPTIONS.items()},
            "families": sorted({d.family for d in self}),
            "definitions": [d.describe() for d in self],
        }

    def copy(self) -> NodeDefinitionRegistry:
        self._load()
        return NodeDefinitionRegistry((d, self._executors[d.key]) for d in self._definitions.values())


REGISTRY = NodeDefinitionRegistry(load=("nodes",))
"""The shipped nodes: `engine/nodes/`, imported on first read."""


def node(definition: NodeDefinition) -> Callable[[E], E]:
    """Register the decorated function as `definition`'s executor in REGISTRY; a second node
    with the same key fails at import, not at run time."""

    def register(executor: E) -> E:
        REGISTRY.register(definition, executor)
        return executor

    return register
