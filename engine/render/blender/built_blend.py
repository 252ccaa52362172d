"""A .blend built from code by the running Blender, cached per Blender version.

A Blender opens only files written by a Blender no newer than itself, so files the engine
defines in code (the studio templates; a material library) are written by the Blender that
needs them, on first need, into `$HARTOMAT_CACHE/blend/blender-X.Y.Z/NAME-FINGERPRINT.blend`.
The fingerprint is the caller's (a hash of the code and settings that make the file), so a code
change builds afresh. The file appears whole or not at all (written aside, then renamed).
"""

from __future__ import annotations

import hashlib
import os
import uuid
from collections.abc import Callable
from pathlib import Path

from ...locations import default_cache_dir


def running_version() -> tuple[int, int, int]:
    """The running Blender's version (bpy module or Blender executable)."""
    import bpy

    return tuple(bpy.app.version)[:3]  # type: ignore[return-value]


def fingerprint(*parts: str | bytes | Path) -> str:
    """A short hash of source files (Paths) and settings (text) that define a built file."""
    digest = hashlib.sha256()
    for part in parts:
        data = part.read_bytes() if isinstance(part, Path) else part.encode() if isinstance(part, str) else part
        digest.update(len(data).to_bytes(8, "little") + data)
    return digest.hexdigest()[:16]


def cache_folder() -> Path:
    return default_cache_dir() / "blend" / ("blender-" + ".".join(str(p) for p in running_version()))


def built_blend(name: str, key: str, build: Callable[[Path], None]) -> Path:
    """The cached file NAME for this Blender and `key`; `build(path)` writes it on first need."""
    target = cache_folder() / f"{name}-{key}.blend"
    if target.is_file():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    scratch = target.with_name(f".{target.stem}-{os.getpid()}-{uuid.uuid4().hex[:8]}.blend")
    try:
        build(scratch)
        if not scratch.is_file():
            raise RuntimeError(f"building {target.name} wrote no file")
        os.replace(scratch, target)
    finally:
        scratch.unlink(missing_ok=True)
    return target
