"""Where the engine keeps state between runs on this machine, one place for every layer."""

from __future__ import annotations

import os
from pathlib import Path


def default_cache_dir() -> Path:
    """The node cache and Blender-built files: $HARTOMAT_CACHE, else ~/.cache/hartomat."""
    env = os.environ.get("HARTOMAT_CACHE")
    return Path(env) if env else Path.home() / ".cache" / "hartomat"
