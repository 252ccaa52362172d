"""Helpers for the CAD tests: calling executors directly, and checking GLBs with independent tools
(the Khronos glTF Validator in node, trimesh, Blender's glTF importer in a clean subprocess)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from engine.model.artifacts import Artifact
from engine.model.context import NodeCall, OrderLine, WorkflowContext
from engine.model.registry import REGISTRY

ROOT = Path(__file__).resolve().parent.parent
VALIDATOR = ROOT / "tools" / "node" / "validate_gltf.mjs"


def make_call(step: str, run_dir: Path, inputs: dict[str, list[Artifact]] | None = None,
              cache_dir: Path | None = None, order_line: OrderLine | None = None, **settings: Any) -> NodeCall:
    """A NodeCall for `step` with validated settings, as the runtime would build it."""
    definition = REGISTRY.get(step)
    context = WorkflowContext(order_line=order_line or OrderLine(), run_dir=run_dir, cache_dir=cache_dir)
    workdir = run_dir / step
    workdir.mkdir(parents=True, exist_ok=True)
    return NodeCall(node_id=step, step=step, settings=definition.settings_model(**settings),
                    inputs=inputs or {}, workdir=workdir, context=context, log=lambda line: None)


def run_step(step: str, run_dir: Path, inputs: dict[str, list[Artifact]] | None = None, **settings: Any) -> Any:
    call = make_call(step, run_dir, inputs, **settings)
    return REGISTRY.executor(step)(call)


def step_artifact(path: Path) -> Artifact:
    from engine.model.artifacts import ArtifactKind

    return Artifact.from_file(ArtifactKind.STEP_FILE, path, data={"product": path.stem, "file_name": path.name})


def validate_gltf(*paths: Path) -> dict[str, Any]:
    """The Khronos validator's summary per file (errors, warnings, messages)."""
    done = subprocess.run(["node", str(VALIDATOR), *map(str, paths)], capture_output=True, text=True, timeout=120)
    assert done.stdout, f"validator gave no report: {done.stderr}"
    return json.loads(done.stdout)


BLENDER_SCRIPT = r"""
import json, sys, bpy
report = {}
for path in sys.argv[1:]:
    bpy.ops.wm.read_factory_settings(use_empty=True)
    bpy.ops.import_scene.gltf(filepath=path)
    objects = []
    for obj in bpy.data.objects:
        entry = {"name": obj.name, "type": obj.type, "mesh": obj.data.name if obj.type == "MESH" else None,
                 "colours": [], "part": obj.get("hartomat_part"), "instance": obj.get("hartomat_instance")}
        if obj.type == "MESH":
            for slot in obj.material_slots:
                node = slot.material.node_tree.nodes.get("Principled BSDF") if slot.material else None
                if node:
                    entry["colours"].append(list(node.inputs["Base Color"].default_value)[:3])
        objects.append(entry)
    report[path] = {"objects": objects, "meshes": len(bpy.data.meshes)}
print("REPORT" + json.dumps(report))
"""


def blender_import(*paths: Path) -> dict[str, Any]:
    """What Blender's glTF importer makes of each file: objects, their meshes and base colours."""
    done = subprocess.run([sys.executable, "-c", BLENDER_SCRIPT, *map(str, paths)], capture_output=True,
                          text=True, timeout=300)
    lines = [line for line in done.stdout.splitlines() if line.startswith("REPORT")]
    assert lines, f"Blender import failed: {done.stderr[-2000:]}"
    return json.loads(lines[-1][len("REPORT"):])


def srgb_to_linear(hex_colour: str) -> list[float]:
    """'#rrggbb' (what CAD shows) as linear RGB (what glTF's baseColorFactor holds)."""
    out = []
    for i in (1, 3, 5):
        c = int(hex_colour[i:i + 2], 16) / 255
        out.append(c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4)
    return out


def close(a: list[float], b: list[float], tol: float) -> bool:
    return all(abs(x - y) <= tol for x, y in zip(a, b, strict=True))
