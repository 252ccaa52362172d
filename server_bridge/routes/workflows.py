"""Workflow routes: the stored workflows and the node definitions a workflow may use."""

from __future__ import annotations

from typing import Any

from fastapi import Body, Depends

from .. import catalog
from ..api_replies import NodeDefinitions, WorkflowListEntry, WorkflowSummary
from ..auth import Principal
from .common import Farm, Router, admin, anyone, errs, farm, submitter

router = Router()


@router.get("/api/workflows/node-definitions", responses=errs(), response_model=NodeDefinitions)
def node_definitions(who: Principal = Depends(anyone)) -> dict[str, Any]:
    from engine.model.registry import REGISTRY

    return REGISTRY.describe()


@router.get("/api/workflows", responses=errs(), response_model=list[WorkflowListEntry])
def list_workflows(who: Principal = Depends(submitter), f: Farm = Depends(farm)) -> list[dict[str, Any]]:
    rows = f.store.all("SELECT id, name, family, updated_at FROM workflows ORDER BY id")
    return [dict(r) for r in rows]


@router.post("/api/workflows", status_code=201, responses=errs(writes=True), response_model=WorkflowSummary)
def create_workflow(document: dict[str, Any] = Body(...), who: Principal = Depends(admin),
                    f: Farm = Depends(farm)) -> dict[str, Any]:
    return catalog.save_workflow(f.store, document)


@router.get("/api/workflows/{workflow_id}", responses=errs(404))
def get_workflow(workflow_id: str, who: Principal = Depends(submitter), f: Farm = Depends(farm)) -> dict[str, Any]:
    """The workflow document (engine/schemas/workflow.schema.json), canonical form."""
    workflow: dict[str, Any] = catalog.load_workflow_row(f.store, workflow_id).canonical()
    return workflow


@router.put("/api/workflows/{workflow_id}", responses=errs(404, writes=True), response_model=WorkflowSummary)
def put_workflow(workflow_id: str, document: dict[str, Any] = Body(...), who: Principal = Depends(admin),
                 f: Farm = Depends(farm)) -> dict[str, Any]:
    return catalog.save_workflow(f.store, document, workflow_id)
