"""Where the engine comes from: the copy vendored into the installed extension, else the repo's.

Blender installs every extension's wheels into one shared site-packages, so the extension ships
the engine as `<extension package>.vendor.engine`; in the repository (tests, the bpy module) the
top-level `engine` package is used. Every add-on module imports the engine through here.
"""

from __future__ import annotations

import importlib
from types import ModuleType


def _engine_package() -> str:
    vendored = f"{__package__}.vendor.engine"
    try:
        importlib.import_module(vendored)
    except ImportError:
        return "engine"
    return vendored


ENGINE_PACKAGE = _engine_package()


def engine_module(name: str) -> ModuleType:
    """`engine_module("model.validation")` is the engine's validation module, wherever it lives."""
    return importlib.import_module(f"{ENGINE_PACKAGE}.{name}")


artifacts = engine_module("model.artifacts")
node_definition = engine_module("model.node_definition")
registry = engine_module("model.registry")
workflow = engine_module("model.workflow")
validation = engine_module("model.validation")
presets = engine_module("legacy.presets")
context = engine_module("model.context")
errors = engine_module("errors")
vocabulary = engine_module("model.vocabulary")

REGISTRY = registry.REGISTRY
