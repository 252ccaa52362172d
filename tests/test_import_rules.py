"""The layers of docs/architecture.md, checked on the source: no package imports a package above
it (engine < server_bridge < hartomat_addon, and inside the engine core < model < cad, render,
chromium < compare, legacy, nodes < runtime < cli), anywhere in a module, lazily or not; and
the engine imports Blender and OpenCascade only inside functions, so it loads without them."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
PROJECT_PACKAGES = ("engine", "server_bridge", "hartomat_addon")
# What each package may import of the project's own packages (itself included).
ALLOWED = {
    "engine": {"engine"},
    "server_bridge": {"engine", "server_bridge"},
}
# The engine's own layers, bottom up: a subpackage may import the layers below its own, never its
# own layer's siblings or a layer above. "core" is the engine's top-level modules (errors, egress,
# locations); `engine/__init__.py` and `engine/__main__.py` are the package's doors, not a layer.
ENGINE_LAYERS: tuple[frozenset[str], ...] = (
    frozenset({"core"}),
    frozenset({"model"}),
    frozenset({"cad", "render", "chromium"}),
    frozenset({"compare", "legacy", "nodes"}),  # model's REGISTRY imports nodes by name, on first read
    frozenset({"runtime"}),
    frozenset({"cli"}),
)
HOST_MODULES = {"bpy", "bmesh", "mathutils", "OCP", "addon_utils"}  # Blender's and OpenCascade's


def imported_modules(path: Path, package: str, root: Path = REPO) -> Iterator[tuple[int, str, bool]]:
    """(line, absolute module name, at module level) of every import in a file of `package`."""
    tree = ast.parse(path.read_text(), str(path))
    module_parts = [package, *path.relative_to(root / package).with_suffix("").parts]
    if module_parts[-1] == "__init__":
        module_parts.pop()
    package_parts = module_parts if path.name == "__init__.py" else module_parts[:-1]
    top_level = {id(node) for node in tree.body}
    for node in ast.walk(tree):
        at_module_level = id(node) in top_level or _inside_only_blocks(tree, node)
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name, at_module_level
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package_parts[: len(package_parts) - node.level + 1]
                yield node.lineno, ".".join([*base, *([node.module] if node.module else [])]), at_module_level
            elif node.module:
                yield node.lineno, node.module, at_module_level


def _inside_only_blocks(tree: ast.Module, target: ast.AST) -> bool:
    """True when `target` runs at import time: reached from the module body through if/try/with
    blocks only, not through a function or class body."""
    def walk(nodes: list[ast.stmt]) -> bool:
        for node in nodes:
            if node is target:
                return True
            if isinstance(node, (ast.If, ast.Try, ast.With)):
                blocks = [getattr(node, "body", []), getattr(node, "orelse", []), getattr(node, "finalbody", [])]
                blocks += [handler.body for handler in getattr(node, "handlers", [])]
                if any(walk(block) for block in blocks):
                    return True
        return False
    return walk(tree.body)


def python_files(package: str) -> list[Path]:
    return sorted((REPO / package).rglob("*.py"))


@pytest.mark.parametrize("package", sorted(ALLOWED))
def test_no_package_imports_a_package_above_it(package: str):
    reaching_up = [f"{path.relative_to(REPO)}:{line} imports {module}"
                   for path in python_files(package)
                   for line, module, _ in imported_modules(path, package)
                   if module.split(".")[0] in PROJECT_PACKAGES and module.split(".")[0] not in ALLOWED[package]]
    assert not reaching_up, "\n".join(reaching_up)


def engine_layer(module: str) -> str | None:
    """The engine layer a module belongs to ('core' for the top-level modules), or None for the
    package itself, its entry point, and what is not the engine."""
    parts = module.split(".")
    if parts[0] != "engine" or len(parts) < 2 or parts[1] == "__main__":
        return None
    return parts[1] if (REPO / "engine" / parts[1]).is_dir() else "core"


def layer_rank(layer: str) -> int:
    return next(rank for rank, layers in enumerate(ENGINE_LAYERS) if layer in layers)


def test_every_engine_subpackage_has_a_layer():
    packages = {path.parent.name for path in (REPO / "engine").glob("*/__init__.py")}
    placed = set().union(*ENGINE_LAYERS)
    assert packages <= placed, f"engine subpackages without a layer: {sorted(packages - placed)}"


def test_no_engine_layer_imports_its_siblings_or_a_layer_above():
    reaching_up = []
    for path in python_files("engine"):
        source = ".".join(["engine", *path.relative_to(REPO / "engine").with_suffix("").parts])
        source_layer = engine_layer(source)
        if source_layer is None:
            continue
        for line, module, _ in imported_modules(path, "engine"):
            target_layer = engine_layer(module)
            if target_layer is None or target_layer == source_layer:
                continue
            if layer_rank(target_layer) >= layer_rank(source_layer):
                reaching_up.append(f"{path.relative_to(REPO)}:{line} ({source_layer}) imports {module} ({target_layer})")
    assert not reaching_up, "\n".join(reaching_up)


def test_the_engine_imports_blender_and_opencascade_only_inside_functions():
    at_load = [f"{path.relative_to(REPO)}:{line} imports {module} at module level"
               for path in python_files("engine")
               for line, module, module_level in imported_modules(path, "engine")
               if module_level and module.split(".")[0] in HOST_MODULES]
    assert not at_load, "\n".join(at_load)


def test_the_rules_see_imports_that_reach_up(tmp_path: Path):
    """The checker itself: a lazy import of the farm inside an engine function, a relative import
    climbing out of a subpackage and a guarded module-level `import bpy` are all found."""
    fake = tmp_path / "engine" / "runtime"
    fake.mkdir(parents=True)
    (tmp_path / "engine" / "__init__.py").write_text("")
    (fake / "__init__.py").write_text("")
    (fake / "bad.py").write_text("try:\n    import bpy\nexcept ImportError:\n    pass\n\n"
                                 "def f():\n    from server_bridge.client import FarmClient\n"
                                 "    from ..cli import main\n")
    found = list(imported_modules(fake / "bad.py", "engine", root=tmp_path))
    assert (2, "bpy", True) in found
    assert (7, "server_bridge.client", False) in found
    assert (8, "engine.cli", False) in found
