"""Helpers of the render tests: a small coloured product GLB made with trimesh, and NodeCalls."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from engine.model.artifacts import Artifact, ArtifactKind
from engine.model.context import NodeCall, OrderLine, WorkflowContext

TINY = {"resolution_x": 64, "resolution_y": 64, "samples": 4, "denoise": False}


def _colour(mesh: Any, rgb: tuple[int, int, int]) -> None:
    import trimesh

    material = trimesh.visual.material.PBRMaterial(baseColorFactor=[*rgb, 255], metallicFactor=0.0,
                                                   roughnessFactor=0.5)
    mesh.visual = trimesh.visual.TextureVisuals(material=material)


def key_nodes_by_name(path: Path) -> None:
    """Give each mesh node the part key occ_glb_export would (here: its name) as node extras."""
    import json

    from engine.cad.glb import rewrite_glb_json

    def edit(text: bytes) -> bytes:
        document = json.loads(text)
        for node in document["nodes"]:
            if "mesh" in node:
                node["extras"] = {"hartomat_part": node["name"]}
        return json.dumps(document).encode()

    rewrite_glb_json(path, edit)


def make_product_glb(path: Path, size_m: float = 0.02) -> tuple[Artifact, Artifact]:
    """A 'bearing-like' product: a ring box, a 'ball' sphere and a 'cage' bar, `size_m` wide.

    Returns the glb and bbox artifacts in the agreed formats (metres, glTF Y-up).
    """
    import numpy as np
    import trimesh

    s = size_m
    ring = trimesh.creation.box((s, s * 0.4, s))
    _colour(ring, (200, 200, 210))
    ball = trimesh.creation.icosphere(subdivisions=2, radius=s * 0.25)
    ball.apply_translation((s * 0.3, s * 0.35, 0.0))
    _colour(ball, (40, 40, 200))
    cage = trimesh.creation.box((s * 0.2, s * 0.2, s * 1.6))
    cage.apply_translation((-s * 0.4, s * 0.1, 0.0))
    _colour(cage, (200, 40, 40))
    scene = trimesh.Scene()
    for name, mesh in (("outer_ring", ring), ("ball", ball), ("cage", cage)):
        scene.add_geometry(mesh, node_name=name, geom_name=name)
    path.write_bytes(scene.export(file_type="glb"))
    key_nodes_by_name(path)
    lo, hi = (np.asarray(b, dtype=float) for b in scene.bounds)
    size = hi - lo
    bbox = {"min": lo.tolist(), "max": hi.tolist(), "size": size.tolist(), "center": ((lo + hi) / 2).tolist(),
            "diagonal": float(np.linalg.norm(size)), "up": "Y"}
    glb = Artifact.from_file(ArtifactKind.GLB, path, role="glb_model", data={"nodes": 3, "meshes": 3})
    return glb, Artifact(kind=ArtifactKind.BBOX, data=bbox)


MATERIAL_MAP = Artifact(kind=ArtifactKind.MATERIAL_MAP, data={
    "assignments": {
        "outer_ring": {"material": "steel", "source": "rule", "rule": 0, "colour": None},
        "ball": {"material": "polished_steel", "source": "rule", "rule": 1, "colour": None},
        "cage": {"material": "cad_colour", "source": "colour", "rule": None, "colour": "#c82828"},
    },
    "assumed": ["cage"],
})


def node_call(step: str, workdir: Path, settings: Any, inputs: dict[str, list[Artifact]],
              log: list[str] | None = None, **context: Any) -> NodeCall:
    """A NodeCall as the runtime makes one, logging into `log`."""
    lines = log if log is not None else []
    ctx = WorkflowContext(order_line=context.pop("order_line", OrderLine(product="sample")), run_dir=workdir,
                          **context)
    return NodeCall(node_id=step, step=step, settings=settings, inputs=inputs, workdir=workdir / step,
                    context=ctx, log=lines.append)
