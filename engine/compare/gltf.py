"""GLB comparison: node names, instances per mesh, vertex counts and the world bounding box.

Reads the GLB's JSON chunk and POSITION accessor bounds directly: exact, fast, no mesh loading.
OCCT (and trimesh) write one glTF mesh entry per instance, all sharing the same accessors, so an
instance count is the number of placed nodes per shared geometry, named after its first mesh.
"""

from __future__ import annotations

import json
import struct
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np

from ..cad.glb import world_nodes
from .model import CompareInputError, ComparisonResult, Thresholds, Verdict, result

GLB_MAGIC = 0x46546C67
JSON_CHUNK = 0x4E4F534A


def read_gltf_json(path: Path) -> dict[str, Any]:
    data = path.read_bytes()
    if len(data) < 20 or struct.unpack_from("<I", data)[0] != GLB_MAGIC:
        raise CompareInputError(f"{path}: not a GLB file (no glTF binary header)")
    length, kind = struct.unpack_from("<II", data, 12)
    if kind != JSON_CHUNK or 20 + length > len(data):
        raise CompareInputError(f"{path}: GLB has no JSON chunk")
    try:
        doc = json.loads(data[20: 20 + length])
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise CompareInputError(f"{path}: GLB JSON chunk is not valid JSON: {exc}") from None
    if not isinstance(doc, dict):
        raise CompareInputError(f"{path}: GLB JSON chunk is not an object")
    return doc


def _mesh_box(doc: dict[str, Any], mesh: dict[str, Any]) -> tuple[np.ndarray, np.ndarray, int]:
    accessors = doc.get("accessors", [])
    lows, highs, vertices = [], [], 0
    for primitive in mesh.get("primitives", []):
        accessor = accessors[primitive["attributes"]["POSITION"]]
        vertices += int(accessor["count"])
        if "min" in accessor and "max" in accessor:
            lows.append(accessor["min"])
            highs.append(accessor["max"])
    if not lows:
        return np.zeros(3), np.zeros(3), vertices
    return np.min(lows, axis=0), np.max(highs, axis=0), vertices


def _geometry_labels(doc: dict[str, Any]) -> list[str]:
    """Per mesh index, the name of the first mesh with the same POSITION accessors."""
    first: dict[tuple[int, ...], str] = {}
    labels = []
    for index, mesh in enumerate(doc.get("meshes", [])):
        key = tuple(p.get("attributes", {}).get("POSITION", -1) for p in mesh.get("primitives", []))
        labels.append(first.setdefault(key, mesh.get("name", f"mesh#{index}")))
    return labels


def summarize_glb(path: Path) -> dict[str, Any]:
    """Names, instance counts, vertex counts and world bbox of a GLB."""
    doc = read_gltf_json(path)
    meshes = doc.get("meshes", [])
    names: Counter[str] = Counter()
    instances: Counter[str] = Counter()
    vertices, corners = 0, []
    try:
        labels = _geometry_labels(doc)
        for index, world in world_nodes(doc):
            node = doc["nodes"][index]
            names[node.get("name", f"#{index}")] += 1
            if "mesh" not in node:
                continue
            mesh = meshes[node["mesh"]]
            instances[labels[node["mesh"]]] += 1
            low, high, count = _mesh_box(doc, mesh)
            vertices += count
            box = np.array([[x, y, z, 1.0] for x in (low[0], high[0]) for y in (low[1], high[1])
                            for z in (low[2], high[2])])
            corners.append((box @ world.T)[:, :3])
    except (KeyError, IndexError, TypeError, ValueError) as exc:
        raise CompareInputError(f"{path}: GLB structure is broken: {type(exc).__name__}: {exc}") from None
    points = np.concatenate(corners) if corners else np.zeros((1, 3))
    low, high = points.min(axis=0), points.max(axis=0)
    return {"node_names": dict(sorted(names.items())), "instances": dict(sorted(instances.items())),
            "vertex_count": vertices, "bbox_min": low.round(9).tolist(), "bbox_max": high.round(9).tolist(),
            "diagonal": float(np.linalg.norm(high - low))}


def _differences(sa: dict[str, Any], sb: dict[str, Any], th: Thresholds) -> tuple[dict[str, Any], list[str]]:
    metrics: dict[str, Any] = {}
    notes = []
    missing, extra = sorted(set(sa["node_names"]) - set(sb["node_names"])), sorted(set(sb["node_names"]) - set(sa["node_names"]))
    metrics["missing_nodes"], metrics["extra_nodes"] = missing, extra
    if missing or extra:
        notes.append(f"node names differ: missing {missing[:10]}, extra {extra[:10]}")
    changed = {k: [sa["instances"].get(k, 0), sb["instances"].get(k, 0)]
               for k in sorted(set(sa["instances"]) | set(sb["instances"]))
               if sa["instances"].get(k, 0) != sb["instances"].get(k, 0)}
    metrics["instance_changes"] = changed
    if changed:
        notes.append(f"instances per mesh differ for {len(changed)} meshes: {dict(list(changed.items())[:5])}")
    va, vb = sa["vertex_count"], sb["vertex_count"]
    metrics["vertex_rel_diff"] = abs(va - vb) / max(va, vb, 1)
    if metrics["vertex_rel_diff"] > th.glb_vertex_tolerance:
        notes.append(f"vertex count {va} differs from {vb} by more than {th.glb_vertex_tolerance:.1%}")
    shift = np.abs(np.array(sa["bbox_min"] + sa["bbox_max"]) - np.array(sb["bbox_min"] + sb["bbox_max"])).max()
    metrics["bbox_rel_shift"] = float(shift / max(sa["diagonal"], 1e-12))
    if metrics["bbox_rel_shift"] > th.glb_bbox_tolerance:
        notes.append(f"bounding box moved by {metrics['bbox_rel_shift']:.2%} of the diagonal")
    return metrics, notes


def compare_glb(a: Path, b: Path, th: Thresholds, diff_dir: Path | None = None) -> ComparisonResult:
    sa, sb = summarize_glb(a), summarize_glb(b)
    metrics, notes = _differences(sa, sb, th)
    metrics.update({f"{key}_{side}": s[key] for side, s in (("a", sa), ("b", sb))
                    for key in ("vertex_count", "bbox_min", "bbox_max")})
    metrics["node_count_a"], metrics["node_count_b"] = sum(sa["node_names"].values()), sum(sb["node_names"].values())
    verdict: Verdict = "different" if notes else "identical" if sa == sb else "similar"
    score = 0.0 if notes else 1.0 - max(metrics["vertex_rel_diff"], metrics["bbox_rel_shift"])
    return result("glb", verdict, score, "structure", metrics, notes)
