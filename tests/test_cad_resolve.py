"""resolve_step_path: explicit path, order line path, product library lookup; fingerprints."""

from __future__ import annotations

import shutil

from cad_support import make_call

from engine.model.artifacts import sha256_file
from engine.model.context import OrderLine
from engine.nodes.cad import resolve_step_path


def test_library_lookup_is_case_insensitive_on_name_and_suffix(tmp_path, single_part_step):
    library = tmp_path / "library" / "brackets"
    library.mkdir(parents=True)
    target = library / "Bracket-A12.STP"
    shutil.copyfile(single_part_step, target)
    (library / "bracket-a12.txt").write_text("not cad")
    call = make_call("resolve_step_path", tmp_path / "run", library_dir=str(tmp_path / "library"),
                     order_line=OrderLine(product="BRACKET-a12"))
    artifact = resolve_step_path(call)["step_file"]
    assert artifact.path == str(target.resolve())
    assert artifact.sha256 == sha256_file(target) and artifact.size == target.stat().st_size
    assert artifact.data == {"product": "BRACKET-a12", "file_name": "Bracket-A12.STP"}


def test_setting_product_number_overrides_order_line_product(tmp_path, single_part_step):
    shutil.copyfile(single_part_step, tmp_path / "p-2.step")
    call = make_call("resolve_step_path", tmp_path / "run", library_dir=str(tmp_path), product_number="P-2",
                     order_line=OrderLine(product="P-1"))
    assert resolve_step_path(call)["step_file"].data["file_name"] == "p-2.step"


def test_explicit_setting_beats_order_line_path(tmp_path, single_part_step, bearing_step):
    call = make_call("resolve_step_path", tmp_path, step_path=str(single_part_step),
                     order_line=OrderLine(product="x", step_path=str(bearing_step)))
    assert resolve_step_path(call)["step_file"].path == str(single_part_step.resolve())
    call = make_call("resolve_step_path", tmp_path, order_line=OrderLine(product="x", step_path=str(bearing_step)))
    artifact = resolve_step_path(call)["step_file"]
    assert artifact.path == str(bearing_step.resolve()) and artifact.data["product"] == "x"
