"""Publishing: turning a node's output into a persisted media asset of an order line.

Only `output_save` (or a render node with no `output_save` downstream) publishes, and only in
an authoritative run. A publisher is idempotent per (order line, role, sha256): publishing the
same content twice returns the first record and copies nothing.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import threading
from pathlib import Path
from typing import Protocol

from pydantic import BaseModel

from .artifacts import Artifact, sha256_file


class MediaAsset(BaseModel):
    """A published output: where it lives, what it is, and whether it is the line's primary."""

    role: str
    path: str
    sha256: str
    size: int
    kind: str
    primary: bool = False
    node_id: str = ""
    run_id: str = ""
    order_line_id: str = ""
    files: list[str] = []


class Publisher(Protocol):
    def publish(self, artifact: Artifact, role: str, primary: bool, node_id: str, run_id: str) -> MediaAsset:
        ...


def artifact_fingerprint(artifact: Artifact) -> tuple[str, int]:
    """sha256 and size of an artifact's content; a set hashes its members' names and hashes."""
    if artifact.files:
        digest = hashlib.sha256()
        total = 0
        for member in sorted(artifact.files):
            path = Path(member)
            digest.update(f"{path.name}\0{sha256_file(path)}\n".encode())
            total += path.stat().st_size
        return digest.hexdigest(), total
    if not artifact.path or not Path(artifact.path).is_file():
        raise FileNotFoundError(f"{artifact.kind} artifact has no file to publish (path {artifact.path!r})")
    if artifact.sha256 and artifact.size is not None:
        return artifact.sha256, artifact.size
    path = Path(artifact.path)
    return sha256_file(path), path.stat().st_size


class DryRunPublisher:
    """Publishes nothing: returns what would be published (shadow runs, previews)."""

    def __init__(self, order_line_id: str = "") -> None:
        self.order_line_id = order_line_id
        self.assets: list[MediaAsset] = []

    def publish(self, artifact: Artifact, role: str, primary: bool, node_id: str, run_id: str) -> MediaAsset:
        sha, size = artifact_fingerprint(artifact)
        asset = MediaAsset(role=role, path=str(artifact.path or ""), sha256=sha, size=size,
                           kind=str(artifact.kind), primary=primary, node_id=node_id, run_id=run_id,
                           order_line_id=self.order_line_id, files=list(artifact.files))
        self.assets.append(asset)
        return asset


class LocalPublisher:
    """Copies published files into a media folder and keeps an index there (index.json)."""

    def __init__(self, media_dir: str | Path, order_line_id: str = "") -> None:
        self.media_dir = Path(media_dir)
        self.order_line_id = order_line_id
        self._lock = threading.Lock()

    @property
    def index_path(self) -> Path:
        return self.media_dir / "index.json"

    def _load(self) -> dict[str, dict]:
        if not self.index_path.is_file():
            return {}
        data: dict[str, dict] = json.loads(self.index_path.read_text())
        return data

    def _save(self, index: dict[str, dict]) -> None:
        tmp = self.index_path.with_suffix(".tmp")
        tmp.write_text(json.dumps(index, indent=2) + "\n")
        tmp.replace(self.index_path)

    def assets(self) -> list[MediaAsset]:
        return [MediaAsset.model_validate(v) for v in self._load().values()]

    def publish(self, artifact: Artifact, role: str, primary: bool, node_id: str, run_id: str) -> MediaAsset:
        sha, size = artifact_fingerprint(artifact)
        key = f"{self.order_line_id}|{role}|{sha}"
        with self._lock:
            self.media_dir.mkdir(parents=True, exist_ok=True)
            index = self._load()
            if key in index:
                return MediaAsset.model_validate(index[key])
            if primary:
                for entry in index.values():
                    if entry["order_line_id"] == self.order_line_id:
                        entry["primary"] = False
            path, files = self._copy(artifact, role, sha)
            asset = MediaAsset(role=role, path=str(path), sha256=sha, size=size, kind=str(artifact.kind),
                               primary=primary, node_id=node_id, run_id=run_id,
                               order_line_id=self.order_line_id, files=files)
            index[key] = asset.model_dump(mode="json")
            self._save(index)
            return asset

    def _copy(self, artifact: Artifact, role: str, sha: str) -> tuple[Path, list[str]]:
        folder = self.media_dir / (self.order_line_id or "line") / role
        folder.mkdir(parents=True, exist_ok=True)
        if artifact.files:
            name = Path(artifact.path).name if artifact.path else "set"
            target = _free_path(folder / name, sha)
            target.mkdir(parents=True)
            files = []
            for member in artifact.files:
                dest = target / Path(member).name
                shutil.copy2(member, dest)
                files.append(str(dest))
            return target, files
        source = Path(str(artifact.path))
        target = _free_path(folder / source.name, sha)
        shutil.copy2(source, target)
        return target, []


def _free_path(path: Path, sha: str) -> Path:
    """`path`, or `name-<sha8>.ext` beside it when another content already took that name."""
    if not path.exists():
        return path
    return path.with_name(f"{path.stem}-{sha[:8]}{path.suffix}")


PRIMARY_ROLES = ("primary_render", "turntable_video")


def primary_index(roles: list[str], primary_role: str = "") -> int | None:
    """Which of the roles to publish becomes the order line's primary output.

    An explicit role wins; otherwise the first primary render, else the first turntable video.
    Blend files, thumbnails, viewers and exports never replace the primary output.
    """
    wanted = (primary_role,) if primary_role else PRIMARY_ROLES
    for role in wanted:
        if role in roles:
            return roles.index(role)
    return None


def role_of(artifact: Artifact) -> str:
    return artifact.role or str(artifact.kind)
