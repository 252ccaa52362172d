"""Runs inside a background Blender (`blender -b --python addon_presets.py -- ZIP OUT STEP DEPS`):
installs the HartOMat extension zip with Blender's own operator, points its Deps Folder preference
at DEPS (made by `hartomat blender-deps`), then runs each of the four starter graphs with the Run
Locally operator on STEP with tiny render settings, as a user would from the sidebar. Finally it
opens the .blend that the still + exports graph exported, in this same Blender.

Prints one `RESULT {json}` line (per family: status and out folder; the Blender version; the
opened .blend's objects) for the test, which checks the outputs by their pixels.
"""

import json
import sys
from pathlib import Path

import bpy

FAMILIES = ("still", "turntable", "multi_angle", "still_with_exports")
RENDER = {"resolution_x": 64, "resolution_y": 64, "samples": 4, "denoise": False}
OVERRIDES = {
    "blender_still": RENDER,
    "blender_turntable": {**RENDER, "samples": 2, "frame_count": 4, "fps": 4, "keep_frames": True},
    "thumbnail_save": {"sizes": [32]},
    "threejs_render": {"width": 128, "height": 128},
}


def install(zip_path: str) -> None:
    result = bpy.ops.extensions.package_install_files(filepath=zip_path, repo="user_default",
                                                      enable_on_install=True)
    assert result == {"FINISHED"}, result


def use_deps(deps: str) -> None:
    from bl_ext.user_default.hartomat import ops_run
    from bl_ext.user_default.hartomat.prefs import addon_prefs, deps_problem

    prefs = addon_prefs()
    prefs.deps_folder = deps  # as a user sets it in the preferences
    assert deps_problem(prefs.deps_folder) == "", deps_problem(prefs.deps_folder)
    assert {"bpy", "ocp"} <= ops_run.capabilities(), ops_run.capabilities()


def run_family(family: str, out: Path, step: str) -> dict:
    before = set(bpy.data.node_groups.keys())
    assert bpy.ops.hartomat.load_starter(family=family) == {"FINISHED"}
    (name,) = set(bpy.data.node_groups.keys()) - before
    tree = bpy.data.node_groups[name]
    tree.hm_out_dir = str(out / family)
    try:
        bpy.ops.hartomat.run_local(tree_name=tree.name, step_path=step, overrides=json.dumps(OVERRIDES))
    except RuntimeError as exc:  # the operator's error report: keep going, the test names it
        print(f"{family} failed: {exc}", flush=True)
    return {"status": tree.hm_run_state, "out": tree.hm_out_dir, "message": tree.hm_progress_message}


def open_exported_blend(out: Path) -> dict:
    run = json.loads((out / "still_with_exports" / "run.json").read_text())
    (blend,) = [o["path"] for o in run["nodes"]["blend"]["outputs"] if o["kind"] == "blend_file"]
    bpy.ops.wm.open_mainfile(filepath=blend)
    return {"path": blend, "objects": sorted(o.name for o in bpy.data.objects),
            "meshes": len(bpy.data.meshes), "scenes": [s.name for s in bpy.data.scenes]}


def main() -> None:
    zip_path, out, step, deps = sys.argv[sys.argv.index("--") + 1:]
    install(zip_path)
    use_deps(deps)
    result = {"blender": list(bpy.app.version), "binary": bpy.app.binary_path,
              "families": {family: run_family(family, Path(out), step) for family in FAMILIES}}
    result["blend"] = open_exported_blend(Path(out))
    print("RESULT " + json.dumps(result), flush=True)


main()
