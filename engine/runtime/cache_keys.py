"""Content-addressed node keys. `ui` never enters a key.

- The plan key (known before running): step, definition version, canonical settings, upstream
  plan keys, and fingerprints of files read from outside the graph (the order line's STEP file
  and any setting naming an existing file).
- The run key (used to store and look up): the plan key plus the sha256 of every file-backed
  input artifact, so a changed file upstream always misses, whatever produced it.
Source nodes that read the outside world (STEP and template libraries) and nodes with side
effects always run; a dry run predicts hits through the run key last stored for a plan key.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

from ..model.artifacts import Artifact, sha256_file
from ..model.context import OrderLine

# Steps with side effects (folders, publishing, webhooks) or that read libraries outside the graph:
# they always run (and are cheap).
NEVER_CACHED = frozenset({"order_line_setup", "resolve_step_path", "resolve_template", "output_save", "notify"})
ORDER_LINE_FIELDS = ("product", "step_path", "output_type", "category")


def canonical_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)


class Fingerprints:
    """sha256 of outside files, memoised per run by (path, size, mtime)."""

    def __init__(self) -> None:
        self._seen: dict[tuple[str, int, int], str] = {}

    def of(self, path: str) -> str | None:
        try:
            stat = os.stat(path)
        except (OSError, ValueError):
            return None
        if not os.path.isfile(path):
            return None
        key = (os.path.abspath(path), stat.st_size, stat.st_mtime_ns)
        if key not in self._seen:
            self._seen[key] = sha256_file(path)
        return self._seen[key]

    def of_settings(self, settings: Any) -> dict[str, str]:
        """Fingerprints of setting values that name existing files (nested values included)."""
        found: dict[str, str] = {}
        for value in _strings(settings):
            if len(value) < 4096 and (os.sep in value or value.endswith((".step", ".stp", ".blend"))):
                digest = self.of(value)
                if digest:
                    found[value] = digest
        return found


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for v in value.values() for s in _strings(v)]
    if isinstance(value, list | tuple):
        return [s for v in value for s in _strings(v)]
    return []


def order_line_fingerprint(order_line: OrderLine, prints: Fingerprints) -> str:
    """What a root node depends on from the order line (not its id: caches serve many orders)."""
    data: dict[str, Any] = {k: getattr(order_line, k) for k in ORDER_LINE_FIELDS}
    if order_line.step_path:
        data["step_sha256"] = prints.of(str(Path(order_line.step_path)))
    return hashlib.sha256(canonical_json(data).encode()).hexdigest()


def node_key(step: str, version: int, settings: dict[str, Any], upstream: list[tuple[str, str, str]],
             files: dict[str, str], root: str) -> str:
    """The cache key. `upstream` is (input port, upstream key, upstream port) in edge order."""
    payload = {
        "step": step,
        "version": version,
        "settings": settings,
        "upstream": upstream,
        "files": files,
        "root": root if not upstream else "",
    }
    return hashlib.sha256(canonical_json(payload).encode()).hexdigest()


def run_key(plan_key: str, inputs: dict[str, list[Artifact]]) -> str:
    """The plan key plus the fingerprints of the file-backed inputs (the plan key when none)."""
    prints = [(port, index, _content_sha(a)) for port, items in sorted(inputs.items())
              for index, a in enumerate(items) if a.sha256 or a.files]
    if not prints:
        return plan_key
    return hashlib.sha256(canonical_json({"plan": plan_key, "inputs": prints}).encode()).hexdigest()


def _content_sha(artifact: Artifact) -> str:
    if artifact.sha256:
        return artifact.sha256
    digest = hashlib.sha256()
    for member in sorted(artifact.files):
        digest.update(f"{Path(member).name}\0{sha256_file(member)}\n".encode())
    return digest.hexdigest()


def content_key(step: str, version: int, settings: dict[str, Any], inputs: dict[str, list[Artifact]]) -> str | None:
    """A key from what a node computes on alone: its step, version, settings and the content of
    its inputs (a file's sha256, else its JSON data), not where or for which order it runs, so
    every worker of a farm finds the same key for the same product. None for a node without
    inputs (it reads the world outside the graph)."""
    items = [(port, index, str(a.kind), _content_sha(a) if (a.sha256 or a.files)
              else hashlib.sha256(canonical_json(a.data).encode()).hexdigest())
             for port, artifacts in sorted(inputs.items()) for index, a in enumerate(artifacts)]
    if not items:
        return None
    payload = {"step": step, "version": version, "settings": settings, "inputs": items}
    return hashlib.sha256(canonical_json(payload).encode()).hexdigest()
