""".blend comparison: object names, materials (and which object uses which) and frame ranges.

The file is read by `bpy.data.libraries.load` in a child Python, so the caller's scene (a worker's
warm Blender, the add-on's open file) is never touched.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from .model import CompareInputError, ComparisonResult, Thresholds, result

MARK = "HARTOMAT_BLEND_SUMMARY:"
TIMEOUT_S = 300
READER = f"""
import json, sys
import bpy

def summary(path):
    bpy.ops.wm.read_factory_settings(use_empty=True)
    bpy.context.preferences.filepaths.use_scripts_auto_execute = False  # a compared file runs no code
    try:
        with bpy.data.libraries.load(path) as (src, dst):
            names = {{"objects": sorted(src.objects), "materials": sorted(src.materials),
                      "scenes": list(src.scenes)}}
            dst.scenes = list(src.scenes)
    except OSError as exc:
        return {{"error": str(exc)}}
    scenes = {{name: {{"frame_start": s.frame_start, "frame_end": s.frame_end, "fps": s.render.fps}}
              for name, s in zip(names["scenes"], dst.scenes)}}
    slots = {{ob.name: [x.material.name for x in ob.material_slots if x.material]
             for s in dst.scenes for ob in s.objects}}
    names.update(scenes=scenes, object_materials=dict(sorted(slots.items())))
    return names

for path in sys.argv[sys.argv.index("--") + 1:]:
    print("{MARK}" + json.dumps(summary(path)), flush=True)
"""


def summarize_blends(paths: list[Path], python: str | None = None) -> list[dict[str, Any]]:
    """Objects, materials, per-object material slots and per-scene frame ranges of each .blend,
    read by one child Python (starting Blender costs more than reading a file)."""
    cmd = [python or sys.executable, "-c", READER, "--", *map(str, paths)]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=TIMEOUT_S)
    lines = [x[len(MARK):] for x in done.stdout.splitlines() if x.startswith(MARK)]
    if len(lines) != len(paths):
        tail = (done.stderr.strip().splitlines() or ["no output"])[-1]
        raise CompareInputError(f"{paths[len(lines)]}: could not read the .blend with bpy: {tail}")
    summaries: list[dict[str, Any]] = [json.loads(line) for line in lines]
    for path, summary in zip(paths, summaries, strict=True):
        if "error" in summary:
            raise CompareInputError(f"{path}: not a readable .blend: {summary['error']}")
    return summaries


def _set_notes(label: str, a: list[str], b: list[str]) -> tuple[dict[str, list[str]], list[str]]:
    missing, extra = sorted(set(a) - set(b)), sorted(set(b) - set(a))
    notes = [f"{label} differ: missing {missing[:10]}, extra {extra[:10]}"] if missing or extra else []
    return {f"missing_{label}": missing, f"extra_{label}": extra}, notes


def compare_blend(a: Path, b: Path, th: Thresholds, diff_dir: Path | None = None) -> ComparisonResult:
    sa, sb = summarize_blends([a, b])
    metrics: dict[str, Any] = {"objects_a": len(sa["objects"]), "objects_b": len(sb["objects"]),
                               "scenes_a": sa["scenes"], "scenes_b": sb["scenes"]}
    notes: list[str] = []
    for label in ("objects", "materials"):
        found, more = _set_notes(label, sa[label], sb[label])
        metrics.update(found)
        notes += more
    ranges_a = [tuple(s.values()) for s in sa["scenes"].values()]
    ranges_b = [tuple(s.values()) for s in sb["scenes"].values()]
    if ranges_a != ranges_b:
        notes.append(f"frame ranges (start, end, fps) differ: {ranges_a} vs {ranges_b}")
    slots = {k: [sa["object_materials"].get(k), sb["object_materials"].get(k)]
             for k in sorted(set(sa["object_materials"]) & set(sb["object_materials"]))
             if sa["object_materials"][k] != sb["object_materials"][k]}
    metrics["material_slot_changes"] = slots
    if slots:
        notes.append(f"material slots differ on {len(slots)} objects: {dict(list(slots.items())[:5])}")
    if notes:
        return result("blend", "different", 0.0, "structure", metrics, notes)
    return result("blend", "identical", 1.0, "structure", metrics, ["same structure (bytes may differ)"])
