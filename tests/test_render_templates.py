"""Template library: built from code by scripts/build_templates.py, chosen by output type and category."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from render_support import node_call

from engine.errors import HartomatError, NodeInputError
from engine.model.artifacts import ArtifactKind
from engine.model.context import OrderLine
from engine.nodes import render
from engine.render.template_library import BUNDLED_DIR, TemplateLibrary

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The templates built afresh by the script into a temporary library."""
    out = tmp_path_factory.mktemp("templates")
    done = subprocess.run([sys.executable, str(ROOT / "scripts" / "build_templates.py"), "--out", str(out)],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    return out


CONTENTS = """
import json, sys, bpy
bpy.ops.wm.open_mainfile(filepath=sys.argv[1], load_ui=False)
scene = bpy.context.scene
print("RESULT" + json.dumps({
    "objects": {o.name: o.type for o in scene.objects},
    "camera": scene.camera.name, "world": bool(scene.world), "engine": scene.render.engine,
    "view": scene.view_settings.view_transform,
    "lights": sorted(o.data.type for o in scene.objects if o.type == "LIGHT"),
}))
"""


@pytest.mark.parametrize("name", ["studio_white", "studio_dark"])
def test_script_builds_each_template_with_studio_lights_camera_and_world(built, name):
    index = json.loads((built / "templates.json").read_text())
    entry = next(t for t in index["templates"] if t["name"] == name)
    done = subprocess.run([sys.executable, "-c", CONTENTS, str(built / entry["file"])], capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    scene = json.loads(next(x for x in done.stdout.splitlines() if x.startswith("RESULT"))[6:])
    assert scene["camera"] == entry["camera"] and scene["objects"]["Backdrop"] == "MESH"
    assert scene["lights"] == ["AREA", "AREA", "AREA"]
    assert scene["world"] and scene["engine"] == "CYCLES" and scene["view"] == "Standard"


def test_bundled_index_lists_output_types_categories_and_cameras():
    library = TemplateLibrary.load()
    assert {"studio_white", "studio_dark"} <= set(library.names())
    assert all(t.camera and t.output_types and t.categories for t in library.templates)


@pytest.mark.parametrize("output_type, category, expected", [
    ("still", "", "studio_white"),
    ("multi_angle", "bearings", "studio_white"),
    ("turntable", "", "studio_dark"),
    ("still", "tools", "studio_dark"),
])
def test_choice_by_output_type_and_category(output_type, category, expected):
    assert TemplateLibrary.load().choose(output_type, category).name == expected


def test_no_candidate_falls_back_to_the_default(tmp_path):
    index = {"default": "b", "templates": [{"name": "a", "file": "a.blend", "output_types": ["turntable"]},
                                           {"name": "b", "file": "b.blend", "output_types": ["turntable"]}]}
    (tmp_path / "templates.json").write_text(json.dumps(index))
    assert TemplateLibrary.load(tmp_path).choose("still").name == "b"
    assert TemplateLibrary.load(tmp_path).choose("turntable").name == "a"


def test_resolve_template_executor_uses_the_order_line(tmp_path):
    order = OrderLine(output_type="turntable", category="")
    out = render.resolve_template(node_call("resolve_template", tmp_path, {}, {}, order_line=order))
    template = out["template"]
    assert template.kind == ArtifactKind.TEMPLATE and template.data["name"] == "studio_dark"
    assert template.data["camera"] == "HartOMat_Camera" and Path(template.path).parent == BUNDLED_DIR
    assert template.sha256 and template.size


def test_resolve_template_category_setting_overrides_the_order_line(tmp_path):
    out = render.resolve_template(node_call("resolve_template", tmp_path, {"category": "tools"}, {}))
    assert out["template"].data == {"name": "studio_dark", "camera": "HartOMat_Camera", "category": "tools"}


def test_unknown_template_or_library_is_a_clear_error(tmp_path):
    with pytest.raises(NodeInputError, match="template: no template 'marble'.*have: studio_white"):
        render.resolve_template(node_call("resolve_template", tmp_path, {"template": "marble"}, {}))
    with pytest.raises(NodeInputError, match="has no templates.json"):
        render.resolve_template(node_call("resolve_template", tmp_path, {"library_dir": str(tmp_path)}, {}))
    (tmp_path / "templates.json").write_text('{"default": "x", "templates": [{"name": "x", "file": "x.blend"}]}')
    with pytest.raises(HartomatError, match="x.blend is missing; run scripts/setup.sh") as missing:
        render.resolve_template(node_call("resolve_template", tmp_path, {"library_dir": str(tmp_path)}, {}))
    assert missing.type is HartomatError  # the install's fault, not the order's: counts against the worker
    (tmp_path / "templates.json").write_text("{not json")
    with pytest.raises(NodeInputError, match="not a valid template index"):
        render.resolve_template(node_call("resolve_template", tmp_path, {"library_dir": str(tmp_path)}, {}))


def test_running_blender_reads_the_bundled_template_itself():
    from engine.render.template_library import readable_template

    bundled = BUNDLED_DIR / "studio_white.blend"
    assert readable_template(bundled) == bundled  # bpy 5.0 built it, bpy 5.0 reads it


def test_a_user_template_from_a_newer_blender_names_the_file_and_both_versions(tmp_path):
    import bpy

    from engine.render.template_library import readable_template

    newer = tmp_path / "from_blender_6.blend"
    newer.write_bytes(b"BLENDER17-01v0600" + bytes(256))
    running = ".".join(str(v) for v in bpy.app.version)
    with pytest.raises(ValueError) as caught:
        readable_template(newer)
    assert str(caught.value) == (
        f"template {newer} was saved by Blender 6.0; this is Blender {running}, which cannot open files from a "
        f"newer Blender: save it again from Blender {running.rsplit('.', 1)[0]} or pick another template")
    with pytest.raises(ValueError, match="template .*missing.blend does not exist"):
        readable_template(tmp_path / "missing.blend")


def test_built_blend_builds_once_per_blender_version_and_leaves_the_session_clean(tmp_path, monkeypatch):
    import bpy

    from engine.render.blend_header import blend_version
    from engine.render.blender.built_blend import built_blend
    from engine.render.blender.studio import save_studio

    monkeypatch.setenv("HARTOMAT_CACHE", str(tmp_path / "cache"))
    before = {kind: len(getattr(bpy.data, kind)) for kind in ("scenes", "objects", "meshes", "materials", "worlds")}
    builds: list[Path] = []

    def build(target: Path) -> None:
        builds.append(target)
        save_studio(target, "studio_dark", "probe")

    first = built_blend("probe", "k1", build)
    again = built_blend("probe", "k1", build)
    version = ".".join(str(v) for v in bpy.app.version)
    assert first == again == tmp_path / "cache" / "blend" / f"blender-{version}" / "probe-k1.blend"
    assert len(builds) == 1 and blend_version(first) == tuple(bpy.app.version[:2])
    assert sorted(p.name for p in first.parent.iterdir()) == ["probe-k1.blend"]  # no scratch file left
    after = {kind: len(getattr(bpy.data, kind)) for kind in before}
    assert after == before
    with bpy.data.libraries.load(str(first)) as (source, _):
        # a session that already holds a studio (a warm worker) gets Blender's .001 names in the
        # scratch scene; the render code finds the rig by name either way (studio.scene_object)
        assert source.scenes == ["probe"] and any(o.split(".")[0] == "HartOMat_Camera" for o in source.objects)
