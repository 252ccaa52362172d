"""The node cache: output artifacts stored by content-addressed key under cache_dir/<key>/.

An entry with files is a folder with the output files and a manifest.json of the artifacts,
written to a temporary folder and renamed into place; an entry of JSON data only is one
<key>.json file, written and renamed likewise. A reader sees a whole entry or none. A hit is
used only when every file still exists and matches its sha256.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

from .artifacts import Artifact, sha256_file

Outputs = dict[str, list[Artifact]]


def default_cache_dir() -> Path:
    env = os.environ.get("HARTOMAT_CACHE")
    return Path(env) if env else Path.home() / ".cache" / "hartomat"


class NodeCache:
    def __init__(self, root: str | Path | None = None) -> None:
        self.root = Path(root) if root is not None else default_cache_dir()
        self._made: set[Path] = set()

    def entry(self, key: str) -> Path:
        """The folder of an entry with files."""
        return self.root / key[:2] / key

    def data_entry(self, key: str) -> Path:
        """The file of an entry of JSON data only."""
        return self.root / key[:2] / f"{key}.json"

    def _parent(self, key: str) -> Path:
        parent = self.root / key[:2]
        if parent not in self._made:
            parent.mkdir(parents=True, exist_ok=True)
            self._made.add(parent)
        return parent

    def contains(self, key: str) -> bool:
        """Cheap check for plans: the manifest is there and every file exists (no hashing)."""
        manifest = self._manifest(key)
        return manifest is not None and all(Path(p).exists() for p, _ in _files(manifest))

    def load(self, key: str) -> Outputs | None:
        """The cached outputs, or None when absent, incomplete or changed on disk."""
        manifest = self._manifest(key)
        if manifest is None:
            return None
        for path, digest in _files(manifest):
            if not Path(path).is_file() or sha256_file(path) != digest:
                return None
        return {port: [Artifact.model_validate(a) for a in items] for port, items in manifest["outputs"].items()}

    def _manifest(self, key: str) -> dict[str, Any] | None:
        for path in (self.data_entry(key), self.entry(key) / "manifest.json"):
            try:
                data: dict[str, Any] = json.loads(path.read_text())
                return data
            except (OSError, ValueError):
                continue
        return None

    def store(self, key: str, outputs: Outputs) -> Outputs:
        """Copy the outputs' files into the cache; returns the artifacts as they now live there."""
        parent = self._parent(key)
        if not any(a.path or a.files for items in outputs.values() for a in items):
            return self._store_data(key, outputs, parent)
        final = self.entry(key)
        staging = Path(tempfile.mkdtemp(prefix=f".{key[:12]}-", dir=final.parent))
        try:
            stored = {port: [_copy_artifact(a, staging, final, f"{port}-{i}") for i, a in enumerate(items)]
                      for port, items in outputs.items()}
            checks = [(path, sha256_file(_staged(path, final, staging)))
                      for items in stored.values() for a in items for path in _member_files(a)]
            manifest = {"key": key, "checks": checks,
                        "outputs": {p: [a.model_dump(mode="json") for a in items] for p, items in stored.items()}}
            (staging / "manifest.json").write_text(json.dumps(manifest))
            if final.exists():
                shutil.rmtree(final, ignore_errors=True)
            os.replace(staging, final)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        return stored


    def _store_data(self, key: str, outputs: Outputs, parent: Path) -> Outputs:
        manifest = {"key": key, "checks": [],
                    "outputs": {p: [a.model_dump(mode="json") for a in items] for p, items in outputs.items()}}
        staging = parent / f".{key}.{os.getpid()}.tmp"
        staging.write_text(json.dumps(manifest))
        os.replace(staging, self.data_entry(key))
        return outputs


def _files(manifest: dict[str, Any]) -> list[tuple[str, str]]:
    return [(path, digest) for path, digest in manifest.get("checks", [])]


def _member_files(artifact: Artifact) -> list[str]:
    if artifact.files:
        return list(artifact.files)
    return [artifact.path] if artifact.path and artifact.sha256 else []


def _staged(path: str, final: Path, staging: Path) -> Path:
    return staging / Path(path).relative_to(final)


def _copy_artifact(artifact: Artifact, staging: Path, final: Path, slot: str) -> Artifact:
    """One artifact's files copied to staging/<slot>/, paths rewritten to final/<slot>/."""
    members = artifact.files
    if not artifact.path and not members:
        return artifact
    (staging / slot).mkdir()
    source = Path(artifact.path) if artifact.path else None
    if members:
        base = source if source is not None and source.is_dir() else Path(members[0]).parent
        folder = Path(slot) / base.name
        rel = [folder / (Path(m).relative_to(base) if Path(m).is_relative_to(base) else Path(m).name)
               for m in members]
        for member, name in zip(members, rel, strict=True):
            (staging / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(member, staging / name)
        return artifact.model_copy(update={
            "path": str(final / folder) if source is not None else None,
            "files": [str(final / name) for name in rel]})
    if source is None or not source.is_file():
        return artifact
    shutil.copy2(source, staging / slot / source.name)
    sha = artifact.sha256 or sha256_file(source)
    return artifact.model_copy(update={"path": str(final / slot / source.name), "sha256": sha,
                                       "size": source.stat().st_size})
