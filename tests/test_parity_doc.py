"""docs/parity.md is generated, current, and built from what the tests really mark."""

from __future__ import annotations

import textwrap
from pathlib import Path
from types import ModuleType

import pytest
from _scripts import load_script

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def make_parity() -> ModuleType:
    return load_script("make_parity")


def test_parity_doc_is_current(make_parity: ModuleType) -> None:
    committed = (ROOT / "docs" / "parity.md").read_text(encoding="utf-8")
    assert committed == make_parity.build_document(), \
        "docs/parity.md is stale: run .venv/bin/python scripts/make_parity.py"


def test_check_mode_flags_a_stale_file(make_parity: ModuleType, tmp_path: Path) -> None:
    stale = tmp_path / "parity.md"
    stale.write_text("# old\n")
    assert make_parity.main(["--check", "-o", str(stale)]) == 1
    assert make_parity.main(["-o", str(stale)]) == 0
    assert make_parity.main(["--check", "-o", str(stale)]) == 0


def test_scanner_finds_decorators_params_and_case_lists(make_parity: ModuleType, tmp_path: Path) -> None:
    tests = tmp_path / "tests"
    tests.mkdir()
    (tests / "test_sample.py").write_text(textwrap.dedent('''
        import pytest

        CASES = [pytest.param("a", id="first", marks=pytest.mark.parity("blender_still.samples")),
                 pytest.param("b", id="second")]

        @pytest.mark.parity("notify", "preset:still")
        def test_direct():
            pass

        @pytest.mark.parametrize("value", CASES)
        def test_cases(value):
            pass

        def helper():
            pytest.mark.parity("not_a_test")
    '''))
    found = make_parity.scan_markers(tests)
    assert found["notify"] == found["preset:still"] == ["tests/test_sample.py::test_direct"]
    assert found["blender_still.samples"] == ["tests/test_sample.py::test_cases[first]"]
    assert found["not_a_test"] == ["tests/test_sample.py"]


def test_scanner_refuses_computed_keys(make_parity: ModuleType, tmp_path: Path) -> None:
    tests = tmp_path / "tests"
    tests.mkdir()
    (tests / "test_bad.py").write_text("import pytest\nKEY = 'x'\n@pytest.mark.parity(KEY)\ndef test_x():\n    pass\n")
    with pytest.raises(make_parity.MarkerError, match=r"test_bad.py:3: .*string literals"):
        make_parity.scan_markers(tests)


def test_every_preset_stage_is_listed(make_parity: ModuleType) -> None:
    from engine.legacy.presets import PRESETS, migrate_preset

    text = (ROOT / "docs" / "parity.md").read_text(encoding="utf-8")
    for preset in PRESETS:
        section = text.split(f"### `{preset}`")[1].split("###")[0]
        for node in migrate_preset(PRESETS[preset]).nodes:
            assert f"`{node.id}` (`{node.step}`)" in section, (preset, node.id)
        for stage in make_parity.trace_legacy(preset):
            assert f"`{stage.node_id}` (`{stage.step}`)" in section, (preset, stage.node_id)


def test_every_preset_step_and_setting_is_proved(make_parity: ModuleType) -> None:
    proofs = make_parity.scan_markers()
    unproved = [(preset, row.step) for preset in make_parity.PRESET_NAMES for row in make_parity.preset_rows(preset)
                if not make_parity.step_proofs(row.step, preset, proofs)]
    assert unproved == [], "steps with no parity test (mark one with @pytest.mark.parity)"
    assert "**not proved**" not in make_parity.build_document(proofs)
