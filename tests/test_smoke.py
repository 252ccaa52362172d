from engine.legacy.presets import PRESETS, preset_workflow
from engine.model.registry import REGISTRY
from engine.model.validation import validate_workflow


def test_registry_has_all_design_steps():
    assert len(REGISTRY) >= 17


def test_presets_validate():
    for name in PRESETS:
        assert validate_workflow(preset_workflow(name)).ok
