"""The node cache: output artifacts stored by content-addressed key.

Manifests (the artifacts as JSON, and the sha256 of every cached file) live in one SQLite
index, cache_dir/index.sqlite; the files of an entry are copied into cache_dir/<k2>/<key>/ via
a temporary folder renamed into place, and the manifest is written only after that, so a
reader sees a whole entry or none. A hit is used only when every file still exists and matches
its sha256. Keeping manifests in one index spares a node of JSON-only outputs any file creation.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import tempfile
import threading
from pathlib import Path
from typing import Any

from ..locations import default_cache_dir
from ..model.artifacts import Artifact, sha256_file

Outputs = dict[str, list[Artifact]]
INDEX_SCHEMA = """
CREATE TABLE IF NOT EXISTS entries (key TEXT PRIMARY KEY, manifest TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS aliases (alias TEXT PRIMARY KEY, key TEXT NOT NULL);
"""


class NodeCache:
    def __init__(self, root: str | Path | None = None) -> None:
        self.root = Path(root) if root is not None else default_cache_dir()
        self._conn: sqlite3.Connection | None = None
        self._writable = False
        self._lock = threading.Lock()

    @property
    def index_path(self) -> Path:
        return self.root / "index.sqlite"

    def entry(self, key: str) -> Path:
        """The folder holding an entry's files."""
        return self.root / key[:2] / key

    # -- index ----------------------------------------------------------------------------------
    def _index(self, write: bool) -> sqlite3.Connection | None:
        """The index connection; reading never creates anything (dry runs have no side effects)."""
        if self._conn is not None and (self._writable or not write):
            return self._conn
        if not write and not self.index_path.is_file():
            return None
        if self._conn is not None:
            self._conn.close()
        if write:
            self.root.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(str(self.index_path), timeout=30, check_same_thread=False, isolation_level=None)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.executescript(INDEX_SCHEMA)
        else:
            conn = sqlite3.connect(f"file:{self.index_path}?mode=ro", uri=True, timeout=30, check_same_thread=False)
        self._conn, self._writable = conn, write
        return conn

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def _manifest(self, key: str, alias: bool = False) -> dict[str, Any] | None:
        query = ("SELECT e.manifest FROM aliases a JOIN entries e ON e.key = a.key WHERE a.alias=?" if alias
                 else "SELECT manifest FROM entries WHERE key=?")
        with self._lock:
            try:
                conn = self._index(write=False)
                row = conn.execute(query, (key,)).fetchone() if conn else None
            except sqlite3.Error:
                return None  # an unreadable index is a miss; storing will say what is wrong
        if row is None:
            return None
        data: dict[str, Any] = json.loads(row[0])
        return data

    # -- lookups --------------------------------------------------------------------------------
    def contains(self, key: str, alias: bool = False) -> bool:
        """Cheap check for plans: the entry (or the one last stored under `alias`) is indexed and
        every file exists (no hashing)."""
        manifest = self._manifest(key, alias)
        return manifest is not None and all(Path(p).exists() for p, _ in manifest["checks"])

    def load(self, key: str) -> Outputs | None:
        """The cached outputs, or None when absent, incomplete or changed on disk."""
        manifest = self._manifest(key)
        if manifest is None:
            return None
        for path, digest in manifest["checks"]:
            if not Path(path).is_file() or sha256_file(path) != digest:
                return None
        return {port: [Artifact.model_validate(a) for a in items] for port, items in manifest["outputs"].items()}

    # -- storing --------------------------------------------------------------------------------
    def store(self, key: str, outputs: Outputs, alias: str | None = None) -> Outputs:
        """Copy the outputs' files into the cache and index them (and `alias` -> key); returns the
        cached artifacts."""
        has_files = any(a.path or a.files for items in outputs.values() for a in items)
        stored, checks = self._store_files(key, outputs) if has_files else (outputs, [])
        manifest = {"key": key, "checks": checks,
                    "outputs": {p: [a.model_dump(mode="json") for a in items] for p, items in stored.items()}}
        with self._lock:
            conn = self._index(write=True)
            assert conn is not None
            conn.execute("BEGIN IMMEDIATE")
            try:
                conn.execute("INSERT OR REPLACE INTO entries (key, manifest) VALUES (?, ?)", (key, json.dumps(manifest)))
                if alias is not None:
                    conn.execute("INSERT OR REPLACE INTO aliases (alias, key) VALUES (?, ?)", (alias, key))
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")
        return stored

    def _store_files(self, key: str, outputs: Outputs) -> tuple[Outputs, list[tuple[str, str]]]:
        final = self.entry(key)
        final.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{key[:12]}-", dir=final.parent))
        try:
            stored = {port: [_copy_artifact(a, staging, final, f"{port}-{i}") for i, a in enumerate(items)]
                      for port, items in outputs.items()}
            checks = [(path, sha256_file(staging / Path(path).relative_to(final)))
                      for items in stored.values() for a in items for path in _member_files(a)]
            if final.exists():
                shutil.rmtree(final, ignore_errors=True)
            os.replace(staging, final)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        return stored, checks


def _member_files(artifact: Artifact) -> list[str]:
    if artifact.files:
        return list(artifact.files)
    return [artifact.path] if artifact.path and artifact.sha256 else []


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
