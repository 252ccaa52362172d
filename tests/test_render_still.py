"""blender_still / blender_render on the real bpy: not blank, framed inside the margin, materials."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from render_support import MATERIAL_MAP, TINY, make_product_glb, node_call

from engine.errors import NodeInputError
from engine.model.artifacts import Artifact, ArtifactKind
from engine.nodes import render
from engine.nodes.render import BlenderRenderSettings, BlenderStillSettings

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def product(tmp_path_factory: pytest.TempPathFactory) -> tuple[Artifact, Artifact]:
    """A 20 mm product: small enough that Blender's default 0.1 m clip_start would hide it."""
    return make_product_glb(tmp_path_factory.mktemp("glb") / "product.glb", size_m=0.02)


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Artifact:
    out = render.resolve_template(node_call("resolve_template", tmp_path_factory.mktemp("tpl"), {}, {}))
    return out["template"]  # type: ignore[return-value]


def _still(tmp_path: Path, product, template=None, materials=True, **settings) -> Artifact:
    glb, bbox = product
    inputs = {"glb": [glb], "bbox": [bbox]}
    if materials:
        inputs["material_map"] = [MATERIAL_MAP]
    if template is not None:
        inputs["template"] = [template]
    out = render.blender_still(node_call("blender_still", tmp_path, BlenderStillSettings(**{**TINY, **settings}),
                                         inputs))
    return out["image"]  # type: ignore[return-value]


def test_still_is_not_blank_and_follows_the_agreed_format(tmp_path, product, template):
    image = _still(tmp_path, product, template)
    assert image.kind == ArtifactKind.IMAGE and image.role == "primary_render"
    assert {k: image.data[k] for k in ("width", "height", "view", "camera")} == \
        {"width": 64, "height": 64, "view": "still", "camera": "auto"}
    pixels = np.asarray(Image.open(image.path).convert("RGB"), dtype=float)
    assert pixels.shape == (64, 64, 3)
    # the product (steel, a red cage) stands out from the white studio: a clear spread of values
    assert pixels.std() > 10
    assert (np.abs(pixels - np.median(pixels, axis=(0, 1))).sum(axis=2) > 60).mean() > 0.05


def test_materials_from_the_map_are_built_and_assigned(tmp_path, product, template):
    import bpy

    _still(tmp_path, product, template)
    scene = bpy.data.scenes["HartOMat_Render"]
    by_object = {o.name: o.material_slots[0].material for o in scene.objects if o.type == "MESH" and o.name != "Backdrop"}
    assert by_object["outer_ring"].name == "HM_steel"
    assert by_object["ball"]["hartomat_material"] == "polished_steel"
    cage = by_object["cage"].node_tree.nodes["hartomat_cad_colour"].outputs[0].default_value
    assert cage[0] > 0.5 and cage[1] < 0.1  # '#c82828' as a linear red


ANGLES = [(0, 0), (90, 10), (180, 30), (270, -20), (45, 80), (-30, 45)]


@pytest.mark.parametrize("azimuth, elevation", ANGLES)
def test_projected_bbox_lies_inside_the_margin(tmp_path, product, template, azimuth, elevation):
    import bpy
    from bpy_extras.object_utils import world_to_camera_view
    from mathutils import Vector

    margin = 0.12
    _still(tmp_path, product, template, engine="WORKBENCH", azimuth=azimuth, elevation=elevation, margin=margin,
           transparent=True)
    scene = bpy.data.scenes["HartOMat_Render"]
    corners = [o.matrix_world @ Vector(c) for o in scene.objects if o.type == "MESH" and o.name != "Backdrop"
               for c in o.bound_box]
    lo = Vector([min(c[i] for c in corners) for i in range(3)])
    hi = Vector([max(c[i] for c in corners) for i in range(3)])
    box = [Vector((x, y, z)) for x in (lo.x, hi.x) for y in (lo.y, hi.y) for z in (lo.z, hi.z)]
    view = [world_to_camera_view(scene, scene.camera, c) for c in box]
    eps = 1e-4
    assert all(margin - eps <= v.x <= 1 - margin + eps and margin - eps <= v.y <= 1 - margin + eps for v in view)
    assert all(v.z > scene.camera.data.clip_start for v in view)
    touches = min(min(v.x, v.y, 1 - v.x, 1 - v.y) for v in view)
    assert touches == pytest.approx(margin, abs=1e-3), "the product fills the frame to the margin"


def test_transparent_png_has_alpha_only_around_the_product(tmp_path, product, template):
    image = _still(tmp_path, product, template, engine="WORKBENCH", transparent=True, margin=0.1)
    rgba = np.asarray(Image.open(image.path))
    assert rgba.shape == (64, 64, 4)
    alpha = rgba[:, :, 3] > 0
    rows, cols = np.nonzero(alpha)
    assert alpha.mean() > 0.05
    assert rows.min() >= 5 and cols.min() >= 5 and rows.max() <= 58 and cols.max() <= 58
    assert rgba[0, 0, 3] == 0


@pytest.mark.parametrize("file_format, suffix", [("JPEG", ".jpg"), ("OPEN_EXR", ".exr")])
def test_other_file_formats(tmp_path, product, file_format, suffix):
    image = _still(tmp_path, product, None, materials=False, file_format=file_format, engine="WORKBENCH")
    assert Path(image.path).suffix == suffix and Path(image.path).stat().st_size > 100
    if file_format == "JPEG":
        assert Image.open(image.path).format == "JPEG"
    else:
        assert Path(image.path).read_bytes()[:4] == b"\x76\x2f\x31\x01"  # OpenEXR magic


def test_blender_render_uses_the_template_camera_angle(tmp_path, product, template):
    import bpy

    from engine.render.blender.camera import view_angles

    glb, bbox = product
    out = render.blender_render(node_call("blender_render", tmp_path, BlenderRenderSettings(**TINY),
                                          {"glb": [glb], "bbox": [bbox], "template": [template]}))
    assert Path(out["image"].path).is_file()  # type: ignore[union-attr]
    azimuth, elevation = view_angles(bpy.data.scenes["HartOMat_Render"].camera)
    assert azimuth == pytest.approx(34.8, abs=1) and 15 < elevation < 35  # the template camera's view


def test_repeated_renders_do_not_pile_up_scenes(tmp_path, product, template):
    import bpy

    for _ in range(3):
        _still(tmp_path, product, template, engine="WORKBENCH")
    names = [s.name for s in bpy.data.scenes]
    assert names.count("HartOMat_Render") == 1 and not any(n.startswith("HartOMat_Render.") for n in names)
    assert len([o for o in bpy.data.objects if o.name.startswith("outer_ring")]) == 1


def test_bad_inputs_name_the_field(tmp_path, product):
    glb, bbox = product
    missing = glb.model_copy(update={"path": str(tmp_path / "nope.glb")})
    with pytest.raises(NodeInputError, match="input 'glb'.*nope.glb"):
        render.blender_still(node_call("blender_still", tmp_path, TINY, {"glb": [missing], "bbox": [bbox]}))
    flat = Artifact(kind=ArtifactKind.BBOX, data={"min": [0, 0, 0], "max": [0, 0, 0]})
    with pytest.raises(NodeInputError, match="input 'bbox'.*empty"):
        render.blender_still(node_call("blender_still", tmp_path, TINY, {"glb": [glb], "bbox": [flat]}))
    unknown = Artifact(kind=ArtifactKind.MATERIAL_MAP, data={"assignments": {"ball": {"material": "unobtainium"}}})
    with pytest.raises(NodeInputError, match="material_map.*unobtainium"):
        render.blender_still(node_call("blender_still", tmp_path, TINY,
                                       {"glb": [glb], "bbox": [bbox], "material_map": [unknown]}))
    junk = tmp_path / "junk.glb"
    junk.write_bytes(b"glTF but not really")
    with pytest.raises(NodeInputError, match="input 'glb'"):
        render.blender_still(node_call("blender_still", tmp_path, TINY,
                                       {"glb": [Artifact.from_file(ArtifactKind.GLB, junk)], "bbox": [bbox]}))
    bad_template = Artifact.from_file(ArtifactKind.TEMPLATE, junk)
    with pytest.raises(NodeInputError, match="input 'template': cannot load"):
        render.blender_still(node_call("blender_still", tmp_path, TINY,
                                       {"glb": [glb], "bbox": [bbox], "template": [bad_template]}))
    with pytest.raises(NodeInputError, match="input 'bbox' has no artifact"):
        render.blender_still(node_call("blender_still", tmp_path, TINY, {"glb": [glb]}))


def test_reset_keeps_the_sessions_own_unused_data(tmp_path, product, template):
    import bpy

    keep = bpy.data.node_groups.new("users_unsaved_graph", "ShaderNodeTree")  # no users, no fake user
    spare = bpy.data.materials.new("users_spare_material")
    _still(tmp_path, product, template, engine="WORKBENCH")
    _still(tmp_path, product, template, engine="WORKBENCH")
    assert "users_unsaved_graph" in bpy.data.node_groups and "users_spare_material" in bpy.data.materials
    assert keep.users == 0 and spare.users == 0
    # the first render's own data went with its scene
    assert len([m for m in bpy.data.materials if m.name.startswith("HM_steel")]) == 1
    assert len([m for m in bpy.data.meshes if m.name.startswith("Backdrop")]) == 1


def test_renders_while_the_template_itself_is_the_open_file(tmp_path, product, template):
    import bpy

    bpy.ops.wm.open_mainfile(filepath=template.path, load_ui=False)
    try:
        image = _still(tmp_path, product, template, engine="WORKBENCH")
        assert Path(image.path).is_file() and bpy.data.filepath == template.path
        # the appended scene's rig came in as 'HartOMat_Rig.001' and is still scaled to the product
        render_scene = bpy.data.scenes["HartOMat_Render"]
        (rig,) = [o for o in render_scene.objects if o.name.startswith("HartOMat_Rig")]
        assert rig.name != "HartOMat_Rig" and rig.scale[0] < 0.5, (rig.name, tuple(rig.scale))
    finally:  # later tests in this process expect no template file open (its names would clash)
        bpy.ops.wm.read_homefile(use_empty=True)
