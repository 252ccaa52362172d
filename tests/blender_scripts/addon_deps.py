"""Inside a real Blender with the HartOMat extension installed (`-- DEPS WRONG_DEPS`): the
preferences' deps folder puts OCP on sys.path, so the add-on's engine finds the `ocp`
capability; a folder built for another Python is reported with both versions."""

import importlib
import sys

if __name__ == "__main__":
    deps, wrong = sys.argv[sys.argv.index("--") + 1:]
    import bpy

    package = "bl_ext.user_default.hartomat"
    prefs = bpy.context.preferences.addons[package].preferences
    capabilities = importlib.import_module(f"{package}.vendor.engine.model.capabilities")
    before = sorted(capabilities.detect_capabilities())
    prefs_module = importlib.import_module(f"{package}.prefs")
    wrong_problem = prefs_module.deps_problem(wrong)
    prefs.deps_folder = deps  # the update callback puts it on sys.path
    after = sorted(capabilities.detect_capabilities())
    import OCP  # noqa: F401  (from the deps folder: Debian's Blender has none)

    print(f"BEFORE {before}\nAFTER {after}\nWRONG {wrong_problem}\nOCP {OCP.__file__}", flush=True)
