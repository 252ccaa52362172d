"""Dispatch to the queue server through the farm's own client (server_bridge.client).

The extension vendors that client as `vendor/server_bridge` (its engine imports rewritten to the
vendored engine by the build); from the repository the top-level package is used.
"""

from __future__ import annotations

import importlib
import os
import re
from typing import Any

from .engine_link import ENGINE_PACKAGE, REGISTRY


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
    """What the workflow's output type delivers: the first render node's output kind."""
    for node in workflow.nodes:
        if node.step in REGISTRY and REGISTRY.get(node.step).is_render:
            return str(REGISTRY.get(node.step).outputs[0].kind)
    return "image"


def dispatch(server: str, token: str, workflow: Any, tree_name: str, step_path: str,
             overrides: dict[str, Any]) -> dict[str, Any]:
    """Saves the workflow on the server, points an output type of this editor at it, and submits
    an order with one line for the STEP file. Raises the client's FarmError (a readable message)."""
    module = client_module()
    if module is None:
        raise RuntimeError("the queue server client is not part of this build")
    client = module.FarmClient(server, token)
    saved = client.save_workflow(workflow.canonical())
    name = output_type_name(tree_name)
    client.put_output_type(name, {"family": workflow.family, "artifact_kind": render_kind(workflow),
                                  "workflow_id": saved["id"], "mode": "graph"})
    order: dict[str, Any] = client.submit([step_path], name, overrides=overrides)
    return {"order": order, "workflow_id": saved["id"], "output_type": name}
