"""Reads a template .blend that carries a scripted driver, the way the render nodes read one, in a
Blender whose preferences switch Python auto-execution on (as a user's may), then evaluates it;
prints whether Blender refused the driver. `engine` reads it through engine.render.blender.scene (what
workers and `hartomat render` do); `control` appends the same scene without the engine, to show
the driver would run. Args after `--`: REPO TEMPLATE engine|control [DEPS (pydantic for Blender's
own Python)]."""

import json
import sys
from pathlib import Path

repo, template, mode, *deps = sys.argv[sys.argv.index("--") + 1:]
sys.path[:0] = [repo, *deps]

import bpy  # noqa: E402

from engine.render.blender.scene import activate, new_render_scene  # noqa: E402

bpy.context.preferences.filepaths.use_scripts_auto_execute = True
if mode == "engine":
    scene = new_render_scene(Path(template))
else:
    with bpy.data.libraries.load(template, link=False) as (source, target):
        target.scenes = [source.scenes[0]]
    scene = target.scenes[0]
    activate(scene)
scene.frame_set(1)
bpy.context.view_layer.update()
print("HARTOMAT_RESULT " + json.dumps({"autoexec_fail": bpy.app.autoexec_fail,
                                       "message": bpy.app.autoexec_fail_message}), flush=True)
