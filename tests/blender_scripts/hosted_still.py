"""Runs inside a real Blender (`blender -b -P hosted_still.py -- REPO DEPS STEP OUT USER_TEMPLATE`):
the still preset through `hartomat render` in Blender's own Python, then the template library
on a template saved by a newer Blender. Prints one RESULT line of JSON for the test."""

import importlib.util
import json
import sys
from pathlib import Path

if __name__ == "__main__":
    repo, deps, step, out, user_template = sys.argv[sys.argv.index("--") + 1:]
    sys.path[:0] = [repo, deps]
    import bpy

    from engine.cli import main
    from engine.legacy.presets import preset_workflow
    from engine.model.capabilities import capability_report, detect_capabilities
    from engine.model.context import OrderLine
    from engine.render.blend_header import blend_version
    from engine.render.template_library import BUNDLED_DIR, readable_template
    from engine.runtime import RunOptions, plan_workflow

    result = {"blender": list(bpy.app.version), "pillow": importlib.util.find_spec("PIL") is not None,
              "denoise": capability_report(verify=True)["denoise"], "capabilities": sorted(detect_capabilities())}
    plan = plan_workflow(preset_workflow("still"), OrderLine(product="bearing", step_path=step, output_type="still"),
                         RunOptions(out_dir=Path(out) / "plan"))
    result["plan_warnings"] = plan.warnings
    result["exit"] = main(["render", step, "--preset", "still", "--resolution", "64", "--samples", "2",
                           "-o", out, "--no-cache"])
    built = readable_template(BUNDLED_DIR / "studio_white.blend")
    result["built"] = {"path": str(built), "version": blend_version(built)}
    try:
        readable_template(Path(user_template))
        result["user_error"] = None
    except ValueError as exc:
        result["user_error"] = str(exc)
    print("RESULT" + json.dumps(result), flush=True)
