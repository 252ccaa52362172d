"""GLB files in plain Python (numpy only): read and write the chunks, and exact scene bounds.

Used by the CAD nodes after OCCT writes a GLB, and by glb_bbox; far cheaper to import than
trimesh (which the tests use as the independent check).
"""

from __future__ import annotations

import json
import struct
from collections.abc import Callable
from pathlib import Path
from typing import Any, BinaryIO

GLB_MAGIC = 0x46546C67
JSON_CHUNK = 0x4E4F534A
BIN_CHUNK = 0x004E4942


def read_glb(path: str | Path) -> tuple[dict[str, Any], bytes]:
    """The JSON document and the binary chunk of a GLB file."""
    text, binary = read_glb_chunks(path)
    return json.loads(text), binary


def read_glb_chunks(path: str | Path) -> tuple[bytes, bytes]:
    """The raw JSON chunk (unparsed, with its padding) and the binary chunk of a GLB file."""
    data = Path(path).read_bytes()
    text, (start, end) = _split_chunks(data, path)
    return text, data[start:end]


def _split_chunks(data: bytes, path: str | Path) -> tuple[bytes, tuple[int, int]]:
    """The JSON chunk's bytes and the (start, end) offsets of the binary chunk's payload."""
    magic, version, _length = struct.unpack_from("<III", data, 0)
    if magic != GLB_MAGIC or version != 2:
        raise ValueError(f"not a glTF 2.0 binary file: {path}")
    json_length, json_type = struct.unpack_from("<II", data, 12)
    if json_type != JSON_CHUNK:
        raise ValueError(f"GLB without a JSON chunk first: {path}")
    offset = 20 + json_length
    if offset + 8 <= len(data):
        bin_length, bin_type = struct.unpack_from("<II", data, offset)
        if bin_type == BIN_CHUNK:
            return data[20:offset], (offset + 8, offset + 8 + bin_length)
    return data[20:offset], (0, 0)


def rewrite_glb_json(path: str | Path, edit: Callable[[bytes], bytes]) -> None:
    """Replace the JSON chunk of a GLB by `edit(old chunk)` in one open of the file: it runs right
    after OCCT writes every GLB, where each extra open, stat and copy shows on small parts."""
    with open(path, "r+b") as handle:
        data = handle.read()
        text, (start, end) = _split_chunks(data, path)
        handle.seek(0)
        _write_chunks(handle, edit(text), memoryview(data)[start:end])


def _chunk(kind: int, payload: bytes, pad: bytes) -> bytes:
    payload += pad * ((4 - len(payload) % 4) % 4)
    return struct.pack("<II", len(payload), kind) + payload


def write_glb(path: str | Path, document: dict[str, Any], binary: bytes) -> None:
    """Write the GLB; an existing file (the one OCCT just wrote) is overwritten in place and then
    cut to length, since truncating it to zero first costs more than the write itself (ext4)."""
    target = Path(path)
    with open(target, "r+b" if target.is_file() else "wb") as handle:
        _write_chunks(handle, json.dumps(document, separators=(",", ":")).encode(), binary)


def _write_chunks(handle: BinaryIO, text: bytes, binary: bytes | memoryview) -> None:
    """Header, padded JSON chunk and binary chunk (if any) from the handle's position, then cut
    the file there; the binary is written as given, not copied into one body first."""
    head = _chunk(JSON_CHUNK, text, b" ")
    pad = (4 - len(binary) % 4) % 4
    total = 12 + len(head) + (8 + len(binary) + pad if len(binary) else 0)
    handle.write(struct.pack("<III", GLB_MAGIC, 2, total) + head)
    if len(binary):
        handle.write(struct.pack("<II", len(binary) + pad, BIN_CHUNK))
        handle.write(binary)
        handle.write(b"\0" * pad)
    handle.truncate()


COMPONENTS = {5126: ("<f4", 4), 5123: ("<u2", 2), 5125: ("<u4", 4), 5121: ("<u1", 1)}


def node_matrix(node: dict[str, Any]) -> Any:
    """A node's local 4x4 matrix (column-major `matrix`, or translation/rotation/scale)."""
    import numpy as np

    if "matrix" in node:
        return np.array(node["matrix"], dtype=float).reshape(4, 4).T
    x, y, z, w = node.get("rotation", [0.0, 0.0, 0.0, 1.0])
    rotation = np.array([
        [1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)],
        [2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)],
        [2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)]])
    matrix = np.eye(4)
    matrix[:3, :3] = rotation * np.array(node.get("scale", [1.0, 1.0, 1.0]))
    matrix[:3, 3] = node.get("translation", [0.0, 0.0, 0.0])
    return matrix


def _positions(document: dict[str, Any], binary: bytes, accessor_index: int) -> Any:
    import numpy as np

    accessor = document["accessors"][accessor_index]
    view = document["bufferViews"][accessor["bufferView"]]
    dtype, size = COMPONENTS[accessor["componentType"]]
    stride = view.get("byteStride") or 3 * size
    start = view.get("byteOffset", 0) + accessor.get("byteOffset", 0)
    count = accessor["count"]
    raw = np.frombuffer(binary, dtype=np.uint8, count=(count - 1) * stride + 3 * size, offset=start)
    rows = np.lib.stride_tricks.as_strided(raw, shape=(count, 3 * size), strides=(stride, 1))
    return np.ascontiguousarray(rows).view(dtype).reshape(count, 3).astype(float)


def world_nodes(document: dict[str, Any]) -> list[tuple[int, Any]]:
    """(node index, world 4x4 matrix) of every node reachable from the default scene's roots."""
    import numpy as np

    nodes = document.get("nodes", [])
    scenes = document.get("scenes")
    roots = scenes[document.get("scene", 0)].get("nodes", []) if scenes else range(len(nodes))
    found, stack = [], [(index, np.eye(4)) for index in roots]
    while stack:
        index, parent = stack.pop()
        world = parent @ node_matrix(nodes[index])
        found.append((index, world))
        stack.extend((child, world) for child in nodes[index].get("children", []))
    return found


def scene_bounds(path: str | Path, parts: dict[str, tuple[list[float], list[float]]] | None = None,
                 ) -> tuple[list[float], list[float]] | None:
    """Min and max corner of every vertex of the default scene, in world coordinates; with
    `parts`, also fills it with each part's bounds (over its instances) by the part key in its
    node extras (`hartomat_part`)."""
    import numpy as np

    document, binary = read_glb(path)
    low, high = np.full(3, np.inf), np.full(3, -np.inf)
    for index, world in world_nodes(document):
        node = document["nodes"][index]
        key = (node.get("extras") or {}).get("hartomat_part")
        for primitive in document["meshes"][node["mesh"]]["primitives"] if "mesh" in node else []:
            points = _positions(document, binary, primitive["attributes"]["POSITION"])
            placed = points @ world[:3, :3].T + world[:3, 3]
            low, high = np.minimum(low, placed.min(axis=0)), np.maximum(high, placed.max(axis=0))
            if parts is not None and key is not None:
                seen = parts.get(key, ([np.inf] * 3, [-np.inf] * 3))
                parts[key] = (np.minimum(seen[0], placed.min(axis=0)).tolist(),
                              np.maximum(seen[1], placed.max(axis=0)).tolist())
    if not np.isfinite(low).all():
        return None
    return low.tolist(), high.tolist()
