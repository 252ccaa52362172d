"""Bad STEP input: each case is a NodeInputError naming the file, never a crash."""

from __future__ import annotations

from pathlib import Path

import pytest
from cad_support import make_call, run_step, step_artifact

from engine.cad.samples import make_no_solid_step
from engine.errors import NodeInputError
from engine.model.artifacts import Artifact, ArtifactKind
from engine.model.context import OrderLine

CAD_STEPS = ["occ_object_extract", "occ_glb_export", "stl_cache_generate"]


def bad_file(tmp_path: Path, case: str, broken_step: Path) -> tuple[Path, str]:
    """A bad STEP file of one kind and the words its error must contain."""
    path = tmp_path / f"{case}.step"
    if case == "empty":
        path.write_bytes(b"")
        return path, "empty"
    if case == "text":
        path.write_text("This is a README, not CAD data.\n")
        return path, "not a STEP file"
    if case == "truncated":
        return broken_step, "truncated"
    if case == "no_solids":
        return make_no_solid_step(path), "no solids"
    if case == "garbage_data":
        path.write_text("ISO-10303-21;\nHEADER;\nENDSEC;\nDATA;\n#1=NOT_AN_ENTITY((;\nENDSEC;\nEND-ISO-10303-21;\n")
        return path, "STEP file"
    raise AssertionError(case)


def unfingerprinted(path: Path) -> Artifact:
    return Artifact(kind=ArtifactKind.STEP_FILE, path=str(path), data={"product": path.stem})


@pytest.mark.parametrize("step", CAD_STEPS)
@pytest.mark.parametrize("case", ["empty", "text", "truncated", "no_solids", "garbage_data"])
def test_bad_step_file_is_a_clear_error(step, case, tmp_path, broken_step):
    path, words = bad_file(tmp_path, case, broken_step)
    with pytest.raises(NodeInputError) as caught:
        run_step(step, tmp_path / "run", {"step_file": [step_artifact(path)]}, cache_dir=str(tmp_path / "c"))
    message = str(caught.value)
    assert str(path) in message and words in message, message


@pytest.mark.parametrize("step", CAD_STEPS)
def test_missing_file_is_a_clear_error(step, tmp_path):
    missing = tmp_path / "nope.step"
    with pytest.raises(NodeInputError, match="not found.*nope.step"):
        run_step(step, tmp_path / "run", {"step_file": [unfingerprinted(missing)]})


def test_resolve_missing_explicit_path(tmp_path):
    call = make_call("resolve_step_path", tmp_path, step_path=str(tmp_path / "gone.stp"))
    from engine.nodes.cad import resolve_step_path

    with pytest.raises(NodeInputError, match="STEP file not found: .*gone.stp"):
        resolve_step_path(call)


def test_resolve_with_nothing_to_go_on(tmp_path):
    from engine.nodes.cad import resolve_step_path

    with pytest.raises(NodeInputError, match="no STEP file given.*'P-42'"):
        resolve_step_path(make_call("resolve_step_path", tmp_path, order_line=OrderLine(product="P-42")))


def test_resolve_library_miss_names_product_and_folder(tmp_path):
    from engine.nodes.cad import resolve_step_path

    (tmp_path / "lib").mkdir()
    (tmp_path / "lib" / "other.step").write_text("x")
    call = make_call("resolve_step_path", tmp_path, library_dir=str(tmp_path / "lib"), product_number="BRG-6200")
    with pytest.raises(NodeInputError, match=r"no STEP file for product 'BRG-6200' in library .*lib"):
        resolve_step_path(call)
    with pytest.raises(NodeInputError, match="library folder not found"):
        resolve_step_path(make_call("resolve_step_path", tmp_path, library_dir=str(tmp_path / "nolib"),
                                    product_number="X"))
