"""Shared fixtures: sample STEP files built once per session by OCP (engine/cad/samples.py)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest


def _build(factory: pytest.TempPathFactory, name: str, builder: Callable[[Path], Path]) -> Path:
    return builder(factory.mktemp("step") / name)


@pytest.fixture(scope="session")
def bearing_step(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Deep-groove ball bearing: outer_ring, inner_ring, cage and 9 instances of one 'ball'."""
    from engine.cad.samples import make_bearing_step

    return _build(tmp_path_factory, "bearing.step", make_bearing_step)


@pytest.fixture(scope="session")
def single_part_step(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One solid named 'bracket', blue."""
    from engine.cad.samples import make_single_part_step

    return _build(tmp_path_factory, "bracket.step", make_single_part_step)


@pytest.fixture(scope="session")
def nested_step(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two-level assembly: frame + 2 wheel_unit (hub + 4 bolt each)."""
    from engine.cad.samples import make_nested_assembly_step

    return _build(tmp_path_factory, "nested.step", make_nested_assembly_step)


@pytest.fixture(scope="session")
def inch_step(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 2 x 1 x 0.5 inch block written with the file unit INCH."""
    from engine.cad.samples import make_inch_part_step

    return _build(tmp_path_factory, "inch_block.step", make_inch_part_step)


@pytest.fixture(scope="session")
def broken_step(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A bearing STEP truncated part-way through its DATA section."""
    from engine.cad.samples import make_broken_step

    return _build(tmp_path_factory, "broken.step", make_broken_step)


@pytest.fixture(scope="session")
def blender() -> list[str]:
    """The provisioned real Blender's command (fails where set-up could provision it, see real_blender)."""
    from real_blender import require_blender

    return require_blender()


@pytest.fixture(scope="session")
def blender_deps(blender: list[str], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A deps folder made by `hartomat blender-deps` for that Blender, offline from build/wheelhouse."""
    from real_blender import make_blender_deps

    return make_blender_deps(tmp_path_factory.mktemp("blender-deps"))
