"""STEP -> GLB in one call: read, mesh each unique product once (in parallel), write, post-process.

The occ_glb_export executor and bench/cad.py both use this, so the bench times what the node does.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from .gltf_export import write_document_glb
from .step_reader import shared_step
from .tessellate import MeshParams, ensure_meshed, product_labels


def step_to_glb(source: Path, target: Path, params: MeshParams, merge_faces: bool = True,
                instance_names: bool = False,
                progress: Callable[[float, str], None] = lambda fraction, message: None,
                check_cancelled: Callable[[], None] = lambda: None, fingerprint: str = "",
                codepage: str = "auto") -> dict[str, Any]:
    """Convert `source` to `target`; returns node/mesh counts and the code page read with.
    Raises NodeInputError on bad input."""
    progress(0.05, f"reading {source.name}")
    with shared_step(source, layers=None, fingerprint=fingerprint, codepage=codepage) as step:
        check_cancelled()
        labels = product_labels(step.shape_tool)
        progress(0.3, f"meshing {len(labels)} unique parts")
        ensure_meshed(step, labels, params)
        check_cancelled()
        progress(0.8, "writing GLB")
        counts: dict[str, Any] = write_document_glb(step, target, merge_faces, instance_names, params.parallel)
        counts["codepage"] = step.codepage.name
        return counts
