"""Golden cases (tests/golden/): fresh tiny runs of the four presets, in legacy and in graph mode,
compared with the stored references by engine.compare. Both modes matching the same reference
proves the preset's graph does what its legacy pipeline did (the `preset:` parity keys).

Refresh the references on purpose with: .venv/bin/python scripts/update_golden.py
"""

from __future__ import annotations

import shutil
from pathlib import Path
from types import ModuleType

import pytest
from _scripts import load_script

from engine.legacy.presets import PRESETS


@pytest.fixture(scope="module")
def golden() -> ModuleType:
    return load_script("update_golden")


def fixture_step(request: pytest.FixtureRequest, fixture: str) -> Path:
    return Path(request.getfixturevalue(f"{fixture}_step"))


def drift_message(report: dict) -> str:
    return (f"output drifted from the golden reference ({report['verdict']}, worst {report['worst']}); "
            f"report: {report['report_html']}")


# pytest.mark.parity takes literal keys: scripts/make_parity.py reads them without running the tests
CASES = [
    pytest.param("still_bearing", "legacy", id="still_bearing-legacy", marks=pytest.mark.parity("preset:still")),
    pytest.param("still_bearing", "graph", id="still_bearing-graph", marks=pytest.mark.parity("preset:still")),
    pytest.param("turntable_bearing", "legacy", id="turntable_bearing-legacy",
                 marks=pytest.mark.parity("preset:turntable")),
    pytest.param("turntable_bearing", "graph", id="turntable_bearing-graph",
                 marks=pytest.mark.parity("preset:turntable")),
    pytest.param("multi_angle_nested", "legacy", id="multi_angle_nested-legacy",
                 marks=pytest.mark.parity("preset:multi_angle")),
    pytest.param("multi_angle_nested", "graph", id="multi_angle_nested-graph",
                 marks=pytest.mark.parity("preset:multi_angle")),
    pytest.param("still_with_exports_single_part", "legacy", id="still_with_exports_single_part-legacy",
                 marks=pytest.mark.parity("preset:still_with_exports")),
    pytest.param("still_with_exports_single_part", "graph", id="still_with_exports_single_part-graph",
                 marks=pytest.mark.parity("preset:still_with_exports")),
]


def test_cases_cover_the_four_presets(golden: ModuleType) -> None:
    assert {case.preset for case in golden.CASES.values()} == set(PRESETS)
    assert {(c.values[0], c.values[1]) for c in CASES} == {(n, m) for n in golden.CASES for m in ("legacy", "graph")}
    for name in golden.CASES:
        assert (golden.GOLDEN_DIR / name / "manifest.json").is_file(), f"{name}: run scripts/update_golden.py"


@pytest.mark.slow
@pytest.mark.parametrize(("case_name", "mode"), CASES)
def test_golden_case(case_name: str, mode: str, golden: ModuleType, request: pytest.FixtureRequest,
                     tmp_path: Path) -> None:
    case = golden.CASES[case_name]
    report = golden.check_case(case, fixture_step(request, case.fixture), tmp_path, mode=mode)
    assert report["match"], drift_message(report)
    assert not report["missing_roles"]


RING_RUBBER = [{"name_pattern": "*ring*", "material": "rubber"}]


@pytest.mark.slow
@pytest.mark.parametrize("change", [pytest.param({"material_rules": RING_RUBBER}, id="material"),
                                    pytest.param({"margin": 0.4}, id="framing")])
def test_golden_case_fails_on_drift_and_passes_after_update(change: dict, golden: ModuleType, bearing_step: Path,
                                                           tmp_path: Path) -> None:
    case = golden.CASES["still_bearing"]
    committed = golden.GOLDEN_DIR / case.name
    before = {p.name: p.read_bytes() for p in committed.rglob("*") if p.is_file()}
    copy = tmp_path / "golden"
    shutil.copytree(committed, copy / case.name)

    drifted = golden.check_case(case, bearing_step, tmp_path / "drift", copy, extra=change)
    assert not drifted["match"]
    assert drifted["roles"]["primary_render"]["verdict"] == "different"
    assert Path(drifted["report_html"]).is_file() and drifted["report_html"] in drift_message(drifted)

    golden.update_case(case, bearing_step, tmp_path / "update", copy, extra=change)
    again = golden.check_case(case, bearing_step, tmp_path / "again", copy, extra=change)
    assert again["match"], drift_message(again)
    assert {p.name: p.read_bytes() for p in committed.rglob("*") if p.is_file()} == before


def test_missing_reference_names_the_update_command(golden: ModuleType, tmp_path: Path) -> None:
    with pytest.raises(golden.GoldenRunError, match="no reference.*update_golden.py"):
        golden.load_reference(golden.CASES["still_bearing"], tmp_path)
