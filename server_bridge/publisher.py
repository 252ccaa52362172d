"""RemotePublisher: the farm worker's publisher; uploads a run's media assets to the server.

Idempotent like every publisher: the server keys assets by (order line, role, sha256), so a
re-run job (another worker after a crash) uploads the same content onto the same record.
A set (frames, thumbnails, STL files) uploads each member under the set's role.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from engine.model.artifacts import Artifact
from engine.model.publishing import MediaAsset, artifact_fingerprint
from engine.render.media_tags import MediaTagError

from . import provenance
from .client import FarmClient


class RemotePublisher:
    def __init__(self, client: FarmClient, job_id: str, worker_id: str, order_line_id: str,
                 log: Any = None, provenance: dict[str, Any] | None = None, stamp_dir: Path | None = None) -> None:
        self.client, self.job_id, self.worker_id = client, job_id, worker_id
        self.order_line_id = order_line_id
        self.log = log or (lambda line: None)
        self.provenance = provenance  # the job's record (server_bridge.provenance.for_job); None: none sent
        self.stamp_dir = stamp_dir or Path(".")
        self.assets: dict[tuple[str, str], MediaAsset] = {}
        self._lock = threading.Lock()

    def publish(self, artifact: Artifact, role: str, primary: bool, node_id: str, run_id: str) -> MediaAsset:
        sha, size = artifact_fingerprint(artifact)
        key = (role, sha)
        with self._lock:
            if key in self.assets:
                return self.assets[key]
            members = [Path(p) for p in artifact.files] or [Path(str(artifact.path))]
            record = provenance.for_asset(self.provenance, artifact, node_id) if self.provenance else None
            folder = self.stamp_dir / f"{len(self.assets):04d}"
            records = [self.client.upload_asset(self.job_id, self.worker_id,
                                                self._stamped(member, record, folder) if record else member,
                                                role, str(artifact.kind), primary and index == 0, node_id, record)
                       for index, member in enumerate(members)]
            first = records[0]
            self.log(f"published {role} ({len(members)} file(s)) as {first['id']}"
                     + (" (already on the server)" if first.get("duplicate") else ""))
            # paths stay local (the run folder lives until the job is reported): shadow runs compare
            # the published legacy files with the graph's; the server's asset ids are in the log
            asset = MediaAsset(role=role, path=str(artifact.path or members[0]), sha256=sha, size=size,
                               kind=str(artifact.kind), primary=primary, node_id=node_id, run_id=run_id,
                               order_line_id=self.order_line_id, files=list(artifact.files))
            self.assets[key] = asset
            return asset

    def _stamped(self, member: Path, record: dict[str, Any], folder: Path) -> Path:
        """The file with its provenance written in; a file that is not the PNG or MP4 its name
        says is uploaded as it is (the record still goes with it), with a log line."""
        try:
            return provenance.stamp(member, record, folder)
        except MediaTagError as exc:
            self.log(f"provenance not written into {member.name}: {exc}")
            return member
