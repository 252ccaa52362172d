"""The worker's handle on the farm-wide artifact cache (RunOptions.remote_cache).

`fetch` asks the server for a node's content key and, on a hit, downloads every file of the
entry, each checked against its sha256 (a file that does not match makes the lookup a miss:
a worker never trusts such an entry), each written under a plain name inside this job's cache
folder whatever the manifest says (a name with a folder or '..' makes the lookup a miss too).
`offer` uploads a succeeded node's files (content-
addressed: a file the server has costs one small upload) and then the manifest.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from engine.filenames import UnsafeName, inside
from engine.model.artifacts import Artifact, ArtifactKind, sha256_file

from .client import FarmClient, FarmError

Outputs = dict[str, list[Artifact]]


class RemoteCache:
    def __init__(self, client: FarmClient, root: Path, worker_id: str, log: Any = None) -> None:
        self.client, self.root, self.worker_id = client, Path(root), worker_id
        self.log = log or (lambda line: None)

    def fetch(self, key: str) -> Outputs | None:
        manifest = self.client.cache_lookup(key)
        if manifest is None:
            return None
        try:
            folder = inside(self.root, key[:16], what="cache key")
            outputs = {port: [self._restore(item, inside(folder, f"{port}-{index}", what="cache entry port"))
                              for index, item in enumerate(items)]
                       for port, items in manifest["outputs"].items()}
        except (FarmError, UnsafeName) as exc:
            if isinstance(exc, FarmError) and exc.status in (401, 403):
                raise
            self.log(f"farm cache entry {key[:16]} unusable ({exc}); running the node")
            return None
        return outputs

    def _restore(self, item: dict[str, Any], folder: Path) -> Artifact:
        paths = [self.client.download(f"/api/files/{m['sha256']}", inside(folder, m["name"], what="cache file name"),
                                      m["sha256"])
                 for m in item["stored"]]
        kind = ArtifactKind(item["kind"])
        if item["set"]:
            return Artifact(kind=kind, path=str(folder), files=[str(p) for p in paths], role=item["role"],
                            data=item["data"])
        if paths:
            return Artifact.from_file(kind, paths[0], role=item["role"], data=item["data"])
        return Artifact(kind=kind, role=item["role"], data=item["data"])

    def offer(self, key: str, step: str, outputs: Outputs) -> bool:
        """Upload the outputs and put the entry; False when the server kept an earlier one or the
        outputs are not files the cache can hold (a bare folder)."""
        manifest: dict[str, Any] = {"step": step, "outputs": {}}
        uploads: list[Path] = []
        for port, items in outputs.items():
            described = []
            for artifact in items:
                if artifact.files:
                    members = [Path(p) for p in artifact.files]
                elif artifact.path and Path(artifact.path).is_file():
                    members = [Path(artifact.path)]
                elif artifact.path and Path(artifact.path).exists():
                    return False
                else:
                    members = []
                uploads.extend(members)
                described.append({"kind": str(artifact.kind), "role": artifact.role, "data": artifact.data,
                                  "set": bool(artifact.files),
                                  "stored": [{"name": p.name, "sha256": sha256_file(p), "size": p.stat().st_size}
                                             for p in members]})
            manifest["outputs"][port] = described
        for path in uploads:
            self.client.cache_upload(path)
        return bool(self.client.cache_put(key, manifest, self.worker_id)["kept"])
