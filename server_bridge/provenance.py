"""Provenance of a media asset: which Blender (or bpy module) rendered it with which Cycles
device and denoiser, which OCP/OCCT and HartOMat, on which worker, from which frozen workflow
and overrides. The worker builds it per asset, writes it into the file (PNG text chunks, the
MP4's comment: engine/render/media_tags.py) and sends it with the upload; the server keeps it
on the asset and the API and dashboard show it.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.metadata
import importlib.util
import json
import re
import sys
from pathlib import Path
from typing import Any

from engine.model.artifacts import Artifact

PNG_KEY = "HartOMat-Provenance"  # the tEXt chunk holding the record as JSON
OCP_DISTRIBUTIONS = ("cadquery-ocp-novtk", "cadquery-ocp")


@functools.cache
def host_facts() -> dict[str, Any]:
    """This process's software, read once: Blender (the executable or the bpy module), OCP and
    the OCCT it links, HartOMat, Python."""
    return {"blender": _blender(), "ocp": _ocp(), "hartomat": _hartomat(), "python": sys.version.split()[0]}


def _blender() -> dict[str, Any] | None:
    bpy = sys.modules.get("bpy")  # a bpy worker imported it while warming up; never imported here
    if bpy is None:
        return None
    app = bpy.app
    build_hash = app.build_hash.decode() if isinstance(app.build_hash, bytes) else str(app.build_hash)
    return {"version": app.version_string, "build_hash": build_hash,
            "host": "blender" if app.binary_path else "bpy module",
            "executable": Path(app.binary_path).name if app.binary_path else None}  # a name: no worker folders


def _ocp() -> dict[str, Any] | None:
    """OCP's distribution version and the OCCT version of its TKernel library (from its file
    name), found without importing OCP (half a second and 250 MB)."""
    spec = importlib.util.find_spec("OCP")
    if spec is None or not spec.origin:
        return None
    version = None
    for name in OCP_DISTRIBUTIONS:
        try:
            version = importlib.metadata.version(name)
            break
        except importlib.metadata.PackageNotFoundError:
            continue
    root = Path(spec.origin).parent.parent
    occt = None
    for library in sorted(root.glob("*.libs/libTKernel*.so*")) + sorted(root.glob("OCP/libTKernel*.so*")):
        match = re.search(r"\.so\.(\d+(?:\.\d+)+)$", library.name)
        if match:
            occt = match.group(1)
            break
    return {"version": version, "occt": occt}


def _hartomat() -> str:
    try:
        return importlib.metadata.version("hartomat")
    except importlib.metadata.PackageNotFoundError:
        from engine import __version__

        return __version__


def digest(value: Any) -> str:
    """sha256 of a JSON value in canonical form (sorted keys, no spaces)."""
    return hashlib.sha256(json.dumps(value, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def for_job(job: dict[str, Any], worker_id: str, worker_name: str,
            worker_overrides: dict[str, Any]) -> dict[str, Any]:
    """What every asset of a job shares: software, worker, and digests of what the job ran (the
    frozen workflow's stored hash as the server sent it; the merged overrides, and the worker's
    own settings when it has any)."""
    record = {**host_facts(), "worker": {"id": worker_id, "name": worker_name},
              "job": {"id": job.get("job_id"), "order_id": job.get("order_id"), "run_id": job.get("run_id")},
              "workflow_sha256": job.get("workflow_sha256") or digest(job.get("workflow")),
              "overrides_sha256": job.get("overrides_sha256") or digest(job.get("overrides") or {})}
    if worker_overrides:
        record["worker_overrides_sha256"] = digest(worker_overrides)
    return record


def for_asset(base: dict[str, Any], artifact: Artifact, node_id: str) -> dict[str, Any]:
    """A job's record plus what the node that made this asset says about its render."""
    return {**base, "node_id": node_id, "render": artifact.data.get("render")}


def software_line(record: dict[str, Any]) -> str:
    """The one-line `Software` text: HartOMat and the Blender that rendered."""
    blender = record.get("blender") or {}
    made = f"HartOMat {record.get('hartomat')}"
    if blender:
        made += f"; Blender {blender.get('version')} ({blender.get('host')}, {blender.get('build_hash')})"
    return made


def stamp(member: Path, record: dict[str, Any], folder: Path) -> Path:
    """A copy of an asset file carrying its provenance in its own metadata (PNG, MP4), in
    `folder`; any other file as it is. The original (maybe shared with the node cache) stays."""
    from engine.render.media_tags import tag_mp4, tag_png

    text = json.dumps(record, sort_keys=True, separators=(",", ":"))
    suffix = member.suffix.lower()
    if suffix not in (".png", ".mp4"):
        return member
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / member.name
    if suffix == ".png":
        return tag_png(member, target, {"Software": software_line(record), PNG_KEY: text})
    return tag_mp4(member, target, text)

