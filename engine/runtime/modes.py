"""run_workflow: one order line through legacy, graph or shadow mode, with hard fallback.

- legacy: the fixed preset pipeline, authoritative.
- graph: the DAG, authoritative; when it fails and a node's policy says fallback_legacy (or
  RunOptions.fallback is set) legacy re-runs for the same line and the run says fell_back.
- shadow: legacy authoritative; the graph runs into out_dir/shadow, publishes nothing, and
  the parity of the two output sets is stored with the run.
"""

from __future__ import annotations

import uuid
from collections.abc import Generator
from pathlib import Path
from typing import Any

from ..errors import HartomatError
from ..locations import default_cache_dir
from ..model.artifacts import Artifact
from ..model.context import OrderLine
from ..model.node_definition import NodeDefinition
from ..model.overrides import resolve_settings
from ..model.publishing import DryRunPublisher, LocalPublisher, MediaAsset, role_of
from ..model.vocabulary import Mode, NodeStatus, RunStatus
from ..model.workflow import NodePolicy, Workflow, load_workflow
from .cache import NodeCache
from .capture import ROUTER
from .options import RunOptions, RunResult
from .planning import Plan, merged_overrides, placement, plan_workflow
from .runner import NodeRunner, NodeSpec
from .scheduler import GraphOutcome, drive, plan_steps, run_plan
from .session import RecordingPublisher, RunSession
from .store import RunStore, default_store_path


class LegacyStepFailed(HartomatError):
    pass


def _cache(options: RunOptions) -> NodeCache | None:
    if not options.use_cache:
        return None
    return NodeCache(options.cache_dir or default_cache_dir())


def plan(workflow: Workflow | str | Path, order_line: OrderLine, options: RunOptions | None = None) -> Plan:
    """Dry run: the plan with cache hits marked; writes nothing."""
    options = options or RunOptions()
    wf = workflow if isinstance(workflow, Workflow) else load_workflow(workflow)
    cache = _cache(options)
    try:
        return plan_workflow(wf, order_line, options, cache=cache)
    finally:
        if cache is not None:
            cache.close()


def run_workflow(workflow: Workflow | str | Path, order_line: OrderLine, options: RunOptions | None = None) -> RunResult:
    """Run one order line in the options' mode; the run, every attempt and the media are recorded.

    An invalid graph or bad settings raise PlanError before anything is written; node failures
    are results (status, error), never exceptions.
    """
    return drive(run_steps(workflow, order_line, options, wait=None))


def run_steps(workflow: Workflow | str | Path, order_line: OrderLine, options: RunOptions | None = None,
              wait: float | None = 0.0) -> Generator[None, None, RunResult]:
    """`run_workflow` one turn per `next()`, for a caller whose thread draws a UI (Blender's editor
    steps it from a modal timer): the first turn plans and opens the run (PlanError there, nothing
    written), each later one runs at most one inline node of a graph run or waits up to `wait` s
    for an off-thread one; StopIteration carries the RunResult. Legacy and shadow runs take one
    turn. Closed early, the run is recorded as cancelled."""
    options = options or RunOptions()
    wf = workflow if isinstance(workflow, Workflow) else load_workflow(workflow)
    graph_plan = None if options.mode == Mode.LEGACY else plan_workflow(wf, order_line, options)
    out_dir = options.out_dir
    out_dir.mkdir(parents=True, exist_ok=True)
    store = RunStore(options.store_path or default_store_path(out_dir))
    run_id = uuid.uuid4().hex
    store.create_run(run_id, order_line.model_dump(mode="json"), wf.name, options.mode, out_dir)
    session = RunSession(options=options, store=store, run_id=run_id, cache=_cache(options))
    result = RunResult(run_id=run_id, status=RunStatus.RUNNING, mode=options.mode, out_dir=out_dir,
                       published=session.published, store_path=store.path)
    try:
        yield
        yield from _run_mode(session, wf, graph_plan, order_line, result, wait)
    except BaseException as exc:
        result.status = RunStatus.CANCELLED if isinstance(exc, (KeyboardInterrupt, GeneratorExit)) else RunStatus.FAILED
        result.error = "run abandoned before its end" if isinstance(exc, GeneratorExit) else \
            f"{type(exc).__name__}: {exc}"
        raise
    finally:
        session.close()
        _finish(store, result)
        store.close()
    return result


def _finish(store: RunStore, result: RunResult) -> None:
    summary = result.summary()
    result.write_summary(summary)
    store.finish_run(result.run_id, result.status, result.fell_back, result.error, result.parity, summary)


def _publisher(session: RunSession, order_line: OrderLine) -> RecordingPublisher:
    inner = session.options.publisher or LocalPublisher(session.options.out_dir / "media", order_line.id)
    return RecordingPublisher(inner, session.store, session.published)


def _run_mode(session: RunSession, wf: Workflow, graph_plan: Plan | None, order_line: OrderLine,
              result: RunResult, wait: float | None) -> Generator[None, None, None]:
    out_dir = session.options.out_dir
    if graph_plan is None:
        _run_legacy(session, order_line, result)
        return
    if session.options.mode == Mode.SHADOW:
        _run_legacy(session, order_line, result)
        if session.cancelled():
            return
        shadow = DryRunPublisher(order_line.id)
        ctx = session.context(out_dir / "shadow", Mode.SHADOW, False, order_line, shadow)
        outcome = run_plan(graph_plan, session, ctx, Mode.SHADOW, out_dir / "shadow" / "nodes")
        result.node_results = outcome.results
        result.parity = _parity(result, outcome, shadow)
        return
    ctx = session.context(out_dir, Mode.GRAPH, True, order_line, _publisher(session, order_line))
    outcome = yield from plan_steps(graph_plan, session, ctx, Mode.GRAPH, out_dir / "nodes", wait)
    result.node_results = outcome.results
    result.status, result.error = outcome.status, outcome.error
    if outcome.status == RunStatus.FAILED and (outcome.fallback_requested or session.options.fallback):
        result.fell_back = True
        graph_error = outcome.error
        _run_legacy(session, order_line, result)
        result.error = f"graph failed ({graph_error}); legacy fallback {result.status}"


def _run_legacy(session: RunSession, order_line: OrderLine, result: RunResult) -> None:
    """Run the preset pipeline for the line's output type; steps are recorded in phase 'legacy'."""
    from ..legacy.pipeline import run_legacy_pipeline  # here: a graph run never loads the presets
    from ..legacy.presets import PRESETS

    config = session.options.legacy_config or PRESETS.get(order_line.output_type)
    if config is None:
        result.status = RunStatus.FAILED
        result.error = (f"order line '{order_line.id}': no legacy preset for output type "
                        f"'{order_line.output_type}'; known: {', '.join(PRESETS)}")
        return
    out_dir = session.options.out_dir
    publisher = _publisher(session, order_line)
    ctx = session.context(out_dir, Mode.LEGACY, True, order_line, publisher)
    capabilities = ctx.capabilities
    runner = NodeRunner(session, ctx, Mode.LEGACY, out_dir / "legacy")

    def run_step(node_id: str, step: str, params: dict[str, Any], inputs: dict[str, list[Artifact]]) -> dict[
            str, list[Artifact]]:
        if session.cancelled():
            raise LegacyStepFailed("run cancelled")
        definition: NodeDefinition = session.registry.get(step)
        settings, problems = resolve_settings(definition, node_id, params,
                                              merged_overrides(order_line, session.options, node_id, step),
                                              session.options.path_roots)
        if problems:
            raise LegacyStepFailed("; ".join(problems))
        where, missing = placement(definition, capabilities, session.options)
        spec = NodeSpec(node_id=node_id, step=step, definition=definition, settings=settings, policy=NodePolicy(),
                        where=where, missing=missing)
        node_result, outputs = runner.run(spec, inputs)
        result.legacy_results[node_id] = node_result
        if node_result.status != NodeStatus.SUCCEEDED:
            raise LegacyStepFailed(f"legacy step '{node_id}' ({step}): "
                                   f"{(node_result.error or {}).get('message', node_result.status)}")
        return outputs

    def publish(artifact: Artifact, role: str, primary: bool, node_id: str) -> MediaAsset:
        return publisher.publish(artifact, role, primary, node_id, session.run_id)

    try:
        with ROUTER.installed():
            run_legacy_pipeline(config, run_step, publish)
    except LegacyStepFailed as exc:
        result.status = RunStatus.CANCELLED if session.cancelled() else RunStatus.FAILED
        result.error = str(exc)
        return
    result.status, result.error = RunStatus.SUCCEEDED, None


def _outputs_by_role(artifacts: list[tuple[str, Artifact | MediaAsset]]) -> dict[str, Any]:
    grouped: dict[str, list[Path]] = {}
    for role, item in artifacts:
        members = [Path(f) for f in item.files] or [Path(str(item.path))]
        grouped.setdefault(role, []).extend(members)
    return {role: paths[0] if len(paths) == 1 else paths for role, paths in grouped.items()}


def _parity(result: RunResult, outcome: GraphOutcome, shadow: DryRunPublisher) -> dict[str, Any]:
    """Compare what legacy published with what the graph would have published."""
    legacy = _outputs_by_role([(a.role, a) for a in result.published])
    graph_items: list[tuple[str, Artifact | MediaAsset]] = [(a.role, a) for a in shadow.assets]
    if not graph_items:  # no output_save in the graph: compare its render outputs
        graph_items = [(role_of(a), a) for node_id, outs in outcome.outputs.items()
                       if outcome.results[node_id].step.startswith("blender_")
                       for items in outs.values() for a in items]
    graph = _outputs_by_role(graph_items)
    record: dict[str, Any] = {"graph_status": outcome.status, "graph_error": outcome.error,
                              "legacy_roles": sorted(legacy), "graph_roles": sorted(graph)}
    try:
        from ..compare import compare_output_sets
    except ImportError:
        record["error"] = "engine.compare is not available; outputs were not compared"
        return record
    try:
        record.update(compare_output_sets(legacy, graph, diff_dir=result.out_dir / "shadow" / "parity"))
    except Exception as exc:  # noqa: BLE001 - a comparison failure must not fail the authoritative run
        record["error"] = f"comparison failed: {type(exc).__name__}: {exc}"
    return record

