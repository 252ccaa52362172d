"""The worker's side of fan-out: a part job hands its target node's outputs to the server, an
assemble job fetches every part's files (sha256-checked) and builds the split node's unsplit
outputs from them, so the rest of the graph runs as if one job had rendered everything.

A part whose files are missing or corrupt is named in the assemble job's report
(`rerun_parts`): the server reruns that part, and the assemble job waits for it.
"""

from __future__ import annotations

import importlib
import json
from collections import defaultdict
from pathlib import Path
from typing import Any

from engine.filenames import UnsafeName, inside
from engine.model.artifacts import Artifact, ArtifactKind
from engine.model.context import NodeCall, OrderLine, WorkflowContext
from engine.model.fanout import node_settings
from engine.model.registry import REGISTRY
from engine.model.workflow import Workflow

from .client import FarmClient, FarmError

Outputs = dict[str, list[Artifact]]


class PartsUnusable(Exception):
    """Some parts' files could not be fetched intact; `jobs` are the part jobs to rerun."""

    def __init__(self, jobs: list[str], problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.jobs = jobs


def upload_parts(client: FarmClient, job: dict[str, Any], worker_id: str, outputs: list[dict[str, Any]]) -> int:
    """Upload the target node's outputs on the ports its fan-out hands on; returns the file count."""
    node_id = job["part"]["node_id"]
    spec = REGISTRY.get(_step_of(job, node_id)).fan_out
    ports = set(spec.parts) if spec else set()
    count = 0
    for output in outputs:
        if output["port"] not in ports:
            continue
        members = output["files"] or [output["path"]]
        for member, path in enumerate(members):
            meta = {"node_id": node_id, "port": output["port"], "member": member, "kind": output["kind"],
                    "role": output.get("role") or "", "data": json.dumps(output.get("data") or {})}
            client.upload_part(job["job_id"], worker_id, Path(path), meta)
            count += 1
    return count


def _step_of(job: dict[str, Any], node_id: str) -> str:
    return str(next(n["step"] for n in job["workflow"]["nodes"] if n["id"] == node_id))


def fetch_parts(client: FarmClient, job: dict[str, Any], worker_id: str, dest: Path) -> dict[str, dict[str, list[Path]]]:
    """Download every part file: part job -> 'node/port' -> paths in member order. Raises
    PartsUnusable naming the part jobs whose files are missing, unreadable or corrupt."""
    got: dict[str, dict[str, list[Path]]] = {part_job: defaultdict(list) for part_job in job["part_jobs"]}
    bad: dict[str, str] = {}
    for part in job["parts"]:
        try:
            target = inside(dest, part["job_id"], part["port"], part["name"], what="part file")
            client.download(f"/api/files/{part['sha256']}?worker_id={worker_id}", target, part["sha256"])
        except (FarmError, UnsafeName) as exc:
            if isinstance(exc, FarmError) and exc.status in (401, 403):
                raise
            bad.setdefault(part["job_id"], f"part {part['job_id']} file {part['name']!r}: {exc}")
            continue
        got[part["job_id"]][f"{part['node_id']}/{part['port']}"].append(target)
    for part_job, ports in got.items():
        if not ports and part_job not in bad:
            bad[part_job] = f"part {part_job} handed on no files"
    if bad:
        raise PartsUnusable(sorted(bad), [bad[k] for k in sorted(bad)])
    return got


def _artifacts(job: dict[str, Any], files: dict[str, dict[str, list[Path]]]) -> dict[str, dict[str, list[Artifact]]]:
    """Each part's files as the artifacts its node made: node id -> port -> artifacts."""
    meta = {(p["job_id"], p["node_id"], p["port"]): p for p in job["parts"]}
    built: dict[str, dict[str, list[Artifact]]] = defaultdict(lambda: defaultdict(list))
    for part_job in job["part_jobs"]:
        for key, paths in files[part_job].items():
            node_id, port = key.split("/", 1)
            first = meta[(part_job, node_id, port)]
            kind = ArtifactKind(first["kind"])
            if kind == ArtifactKind.IMAGE_SET:
                artifact = Artifact(kind=kind, path=str(paths[0].parent), files=[str(p) for p in paths],
                                    role=first["role"], data=first["data"])
            else:
                artifact = Artifact.from_file(kind, paths[0], role=first["role"], data=first["data"])
            built[node_id][port].append(artifact)
    return built


def given_outputs(job: dict[str, Any], workflow: Workflow, files: dict[str, dict[str, list[Path]]],
                  workdir: Path, log: Any, overrides: dict[str, dict[str, Any]]) -> dict[str, Outputs]:
    """The split nodes' unsplit outputs: views pass through; a frame range goes through its
    node's assembler (the turntable encodes one video of every chunk's frames)."""
    parts = _artifacts(job, files)
    given: dict[str, Outputs] = {}
    for node_id in job["fan_out"]["nodes"]:
        node = workflow.node(node_id)
        spec = REGISTRY.get(node.step).fan_out
        if spec is None or not spec.assembler:
            given[node_id] = {port: list(items) for port, items in parts[node_id].items()}
            continue
        module, function = spec.assembler.split(":")
        assemble = getattr(importlib.import_module(module), function)
        line = OrderLine(id=job["order_line_id"], order_id=job["order_id"], product=job["product"],
                         output_type=job["output_type"], overrides=job["overrides"])
        call = NodeCall(node_id=node_id, step=node.step, settings=node_settings(workflow, node_id, overrides),
                        inputs={}, workdir=workdir / node_id, context=WorkflowContext(order_line=line, run_dir=workdir),
                        log=log)
        outputs = assemble(call, [a for port in spec.parts for a in parts[node_id][port]])
        given[node_id] = {port: value if isinstance(value, list) else [value] for port, value in outputs.items()}
        log(f"assembled {node_id} from {len(job['part_jobs'])} part job(s)")
    return given
