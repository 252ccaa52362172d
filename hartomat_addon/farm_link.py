"""Dispatch to the queue server through the farm's own client (server_bridge.client).

The extension vendors that client as `vendor/server_bridge` (its engine imports rewritten to the
vendored engine by the build); from the repository the top-level package is used.
"""

from __future__ import annotations

import importlib
import os
import re
from typing import Any

from .engine_link import ENGINE_PACKAGE, REGISTRY, vocabulary


def client_module() -> Any:
    """The farm client module, or None when this build has none."""
    vendored = ENGINE_PACKAGE.rpartition(".")[0]
    for name in ([f"{vendored}.server_bridge.client"] if vendored else []) + ["server_bridge.client"]:
        try:
            return importlib.import_module(name)
        except ImportError:
            continue
    return None


def server_settings(prefs: Any) -> tuple[str, str]:
    """URL and token from the add-on preferences, else $HARTOMAT_SERVER / $HARTOMAT_TOKEN (as the
    farm's command line reads them)."""
    server = (prefs.server_url if prefs is not None else "") or os.environ.get("HARTOMAT_SERVER", "")
    token = (prefs.server_token if prefs is not None else "") or os.environ.get("HARTOMAT_TOKEN", "")
    return server, token


def output_type_name(tree_name: str) -> str:
    return "editor_" + (re.sub(r"[^A-Za-z0-9_-]+", "_", tree_name).strip("_") or "workflow")


def render_kind(workflow: Any) -> str:
    """What the workflow's output type delivers: the first render node's output kind; for a graph
    without one (a CAD conversion, a check), the last node's first output kind."""
    known = [REGISTRY.get(node.step) for node in workflow.nodes if node.step in REGISTRY]
    chosen = next((d for d in known if d.is_render), known[-1] if known else None)
    return str(chosen.outputs[0].kind) if chosen is not None and chosen.outputs else "image"


def farm_client(server: str, token: str) -> Any:
    """The farm's client for this server; RuntimeError when this build has none."""
    module = client_module()
    if module is None:
        raise RuntimeError("the queue server client is not part of this build")
    return module.FarmClient(server, token)


def dispatch(server: str, token: str, workflow: Any, tree_name: str, step_path: str,
             overrides: dict[str, Any]) -> dict[str, Any]:
    """Saves the workflow on the server, points an output type of this editor at it, and submits
    an order with one line for the STEP file. Raises the client's FarmError (a readable message)."""
    client = farm_client(server, token)
    saved = client.save_workflow(workflow.canonical())
    name = output_type_name(tree_name)
    client.put_output_type(name, {"family": workflow.family, "artifact_kind": render_kind(workflow),
                                  "workflow_id": saved["id"], "mode": vocabulary.Mode.GRAPH})
    order: dict[str, Any] = client.submit([step_path], name, overrides=overrides)
    return {"order": order, "workflow_id": saved["id"], "output_type": name}


def recent_runs(server: str, token: str, limit: int = 10) -> list[dict[str, Any]]:
    """The latest run of each job of the `limit` newest orders this token may see, newest first:
    {job_id, run_id, order_id, product, output_type, status}. Jobs that never ran are left out."""
    client = farm_client(server, token)
    orders = client.orders(limit)
    runs = []
    for order in orders:
        for line in client.order(order["id"]).get("lines", []):
            job = line.get("job") or {}
            if job.get("run_id"):
                runs.append({"job_id": job["id"], "run_id": job["run_id"], "order_id": order["id"],
                             "product": line.get("product", ""), "output_type": line.get("output_type", ""),
                             "status": job.get("status", "")})
    return runs


def server_run(server: str, token: str, job_id: str, run_id: str = "") -> dict[str, Any]:
    """A run of a farm job as the editor's run record (its latest run unless `run_id` names one),
    with the order line's published assets as server URLs."""
    from . import run_record

    client = farm_client(server, token)
    job = client.job(job_id)
    runs = job.get("runs") or []
    run = next((r for r in runs if r.get("id") == run_id), None) if run_id else (runs[-1] if runs else None)
    if run is None:
        raise RuntimeError(f"job {job_id} has no run {run_id!r}" if run_id else f"job {job_id} has not run yet")
    line: dict[str, Any] = next((ln for ln in client.order(job["order_id"]).get("lines", [])
                                 if (ln.get("job") or {}).get("id") == job_id), {})
    assets = [{"role": a.get("role"), "kind": a.get("kind"), "primary": a.get("is_primary"),
               "path": f"{client.server}/api/assets/{a['id']}"} for a in line.get("assets", [])]
    return run_record.from_server(run, job.get("logs") or [], assets)
