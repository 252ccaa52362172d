"""Self-publishing of render nodes that have no output_save downstream (graph-authoritative
publishing: with an output_save downstream, only output_save publishes)."""

from __future__ import annotations

from ..model.artifacts import Artifact
from ..model.context import WorkflowContext
from ..model.publishing import primary_index, role_of
from .planning import PlannedNode


def publish_render_outputs(ctx: WorkflowContext, node: PlannedNode, outputs: dict[str, list[Artifact]]) -> None:
    if ctx.publisher is None or not ctx.authoritative:
        return
    artifacts = [a for items in outputs.values() for a in items if a.path or a.files]
    roles = [role_of(a) for a in artifacts]
    primary = None if ctx.extras.get("primary_published") else primary_index(roles)
    for index, artifact in enumerate(artifacts):
        ctx.publisher.publish(artifact, roles[index], index == primary, node.node_id, ctx.run_id)
    if primary is not None:
        ctx.extras["primary_published"] = True
