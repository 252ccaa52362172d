"""Composite bridge nodes: a legacy chain of steps run as one node, for safe migration.

The wrapped steps' executors run in order, each with its sub-settings (the bridge's settings
hold one settings object per wrapped step) and in its own sub-folder; artifacts flow between
them by port name, a later step's output replacing an earlier one of the same name.
"""

from __future__ import annotations

from typing import Any

from ..errors import NodeInputError
from ..model.artifacts import Artifact
from ..model.artifacts import ArtifactKind as K
from ..model.context import NodeCall
from ..model.node_definition import NodeDefinition, inp, out
from ..model.node_settings import composite_settings
from ..model.registry import REGISTRY, node
from ..model.vocabulary import Capability
from . import cad, pure, render  # noqa: F401 - the wrapped steps register first

CAD_CHAIN = ("resolve_step_path", "occ_object_extract", "occ_glb_export", "glb_bbox")
STILL_CHAIN = ("material_map_resolve", "auto_populate_materials", "resolve_template", "blender_still")


def _registry(call: NodeCall) -> Any:
    registry = call.context.extras.get("registry")
    return REGISTRY if registry is None else registry


@node(NodeDefinition(
    key="bridge_legacy_still", label="Legacy Still Chain", family="bridge", icon="LINKED",
    description="The legacy still render (materials, template, still) as one node, for safe migration.",
    settings_model=composite_settings("LegacyStillChainSettings", (REGISTRY.get(step) for step in STILL_CHAIN)),
    inputs=(inp("order_line", K.ORDER_LINE), inp("cad_parts", K.CAD_PARTS),
            inp("glb", K.GLB), inp("bbox", K.BBOX)),
    outputs=(out("image", K.IMAGE, role="primary_render"),),
    capabilities=(Capability.BPY,), execution="main_thread", self_publishes=True, is_render=True,
    composite_of=STILL_CHAIN,
))
@node(NodeDefinition(
    key="bridge_legacy_cad", label="Legacy CAD Chain", family="bridge", icon="LINKED",
    description="The legacy CAD preparation (resolve, extract, GLB, bbox) as one node, for safe migration.",
    settings_model=composite_settings("LegacyCadChainSettings", (REGISTRY.get(step) for step in CAD_CHAIN)),
    inputs=(inp("order_line", K.ORDER_LINE),),
    outputs=(out("step_file", K.STEP_FILE), out("cad_parts", K.CAD_PARTS),
             out("glb", K.GLB, role="glb_model"), out("bbox", K.BBOX)),
    capabilities=(Capability.OCP,), composite_of=CAD_CHAIN,
))
def run_chain(call: NodeCall) -> dict[str, list[Artifact]]:
    """The bridge node's steps in order (decorators apply bottom up: the CAD chain registers first)."""
    registry = _registry(call)
    definition = registry.get(call.step)
    pool: dict[str, list[Artifact]] = {k: list(v) for k, v in call.inputs.items()}
    steps = definition.composite_of
    for position, step in enumerate(steps):
        call.check_cancelled()
        call.progress(position / len(steps), f"{step}")
        inner = registry.get(step)
        inputs = {port.name: pool[port.name] for port in inner.inputs if pool.get(port.name)}
        missing = [p.name for p in inner.inputs if p.required and p.name not in inputs]
        if missing:
            raise NodeInputError(f"node '{call.node_id}' ({call.step}): wrapped step '{step}' has no "
                                 f"{', '.join(missing)}")
        sub = NodeCall(node_id=f"{call.node_id}/{step}", step=step, settings=getattr(call.settings, step),
                       inputs=inputs, workdir=call.workdir / step, context=call.context, log=call.log,
                       progress=call.progress, self_publish=False, deadline=call.deadline)
        sub.workdir.mkdir(parents=True, exist_ok=True)
        call.log(f"bridge step {position + 1}/{len(steps)}: {step}")
        for port, value in (registry.executor(step)(sub) or {}).items():
            pool[port] = value if isinstance(value, list) else [value]
    return {port.name: pool[port.name] for port in definition.outputs if pool.get(port.name)}
