"""The graph scheduler: runs a plan's nodes in dependency order and applies on-fail policies.

Inline nodes run one at a time on the calling thread (Blender's main thread for bpy work);
thread nodes run in this process on worker threads, process and helper nodes on waiting threads
that hand the work to the process pool or a helper interpreter, so independent branches overlap.
Among ready nodes the earliest in the plan goes first, so a run without off-thread nodes is fully
deterministic. `plan_steps` advances a run one turn per step, so a caller whose thread draws a UI
(Blender's editor) runs it between events; `run_plan` runs it to the end.
"""

from __future__ import annotations

import heapq
import queue
from collections.abc import Generator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from ..model.artifacts import Artifact
from ..model.context import WorkflowContext
from ..model.vocabulary import Mode, NodeStatus, RunStatus
from .capture import ROUTER
from .options import NodeResult
from .planning import Plan, PlannedNode
from .runner import NodeRunner, NodeSpec
from .self_publish import publish_render_outputs
from .session import RunSession
from .stepping import drive

Outputs = dict[str, list[Artifact]]


@dataclass
class GraphOutcome:
    status: RunStatus  # succeeded | failed | cancelled
    results: dict[str, NodeResult]
    outputs: dict[str, Outputs]
    fallback_requested: bool = False
    failed_nodes: list[str] = field(default_factory=list)

    @property
    def error(self) -> str | None:
        messages = [f"node '{n}' ({self.results[n].step}): {(self.results[n].error or {}).get('message', '')}"
                    for n in self.failed_nodes]
        return "; ".join(messages) or None


def spec_of(node: PlannedNode) -> NodeSpec:
    return NodeSpec(node_id=node.node_id, step=node.step, definition=node.definition, settings=node.settings,
                    policy=node.policy, cache_key=node.cache_key, cacheable=node.cacheable, where=node.where,
                    missing=node.missing, self_publish=node.self_publish)


class GraphScheduler:
    """Decides which ready node runs next and where; a node's own work is its executor's."""

    def __init__(self, plan: Plan, session: RunSession, ctx: WorkflowContext, phase: Mode, work_root: Path) -> None:
        self.plan, self.session, self.ctx = plan, session, ctx
        self.nodes = plan.by_id()
        self.runner = NodeRunner(session, ctx, phase, work_root)
        self.results = {n.node_id: NodeResult(node_id=n.node_id, step=n.step, phase=phase) for n in plan.nodes}
        self.outputs: dict[str, Outputs] = {}
        self.waiting = {n.node_id: len({e.source for e in n.inputs}) for n in plan.nodes}
        self.ready: list[int] = []  # inline nodes ready to run, by plan position
        self.off_thread: list[PlannedNode] = []  # process/helper nodes ready to hand off
        options = session.options
        self.given = {k: v for k, v in options.given.items() if k in self.nodes}
        self.needed = needed_nodes(plan, options.targets, set(self.given))
        for node in plan.nodes:
            if node.node_id not in self.needed and node.node_id not in self.given:
                why = "not needed by this part job" if options.targets else "its outputs came from other jobs"
                self.results[node.node_id] = self.runner.mark(node.node_id, node.step, NodeStatus.SKIPPED, why)
            elif self.waiting[node.node_id] == 0 and node.node_id not in self.given:
                self._make_ready(node)
        self.done: queue.SimpleQueue[tuple[str, NodeResult, Outputs]] = queue.SimpleQueue()
        self.threads = ThreadPoolExecutor(max_workers=8, thread_name_prefix="hartomat-node")
        self.in_flight = 0
        self.inline: tuple[PlannedNode, Generator[None, None, tuple[NodeResult, Outputs]]] | None = None
        self.stop_reason: str | None = None
        self.fallback = False
        self.failed: list[str] = []

    def step(self, wait: float | None) -> bool:
        """One turn: hand ready off-thread nodes to threads, then give the inline node in progress
        (or the next ready one) a turn, or take one finished off-thread node (waiting up to `wait` s
        for it; None waits as long as it takes). An inline node takes one turn unless its executor
        steps (a render job in the editor): then one turn per step, off-thread nodes finishing
        meanwhile. False once nothing is left to run or wait for."""
        if not self._pending():
            return False
        if self.stop_reason is None and self.session.cancelled():
            self.stop_reason = "run cancelled"
        if self.stop_reason is not None:
            self.ready.clear()
            self.off_thread.clear()
        for node in self.off_thread:
            self.in_flight += 1
            self.threads.submit(self._run_off_thread, node)
        self.off_thread.clear()
        if self.inline is None and self.ready:
            node = self.plan.nodes[heapq.heappop(self.ready)]
            self.inline = node, self.runner.run_steps(spec_of(node), self._inputs(node))
        if self.inline is not None:
            self._turn_inline()
        elif self.in_flight:
            try:
                node_id, result, outputs = self.done.get(block=wait != 0, timeout=wait or None)
            except queue.Empty:
                pass
            else:
                self.in_flight -= 1
                self._finish(self.nodes[node_id], result, outputs)
        self._drain()
        self.session.flush_events()
        return self._pending()

    def _turn_inline(self) -> None:
        assert self.inline is not None
        node, steps = self.inline
        try:
            next(steps)
        except StopIteration as done:
            self.inline = None
            self._finish(node, *done.value)

    def finish_given(self) -> None:
        """Record the nodes whose outputs other farm jobs made (an assemble job's chunks, views)
        and release what waits on them."""
        for node_id, outputs in self.given.items():
            self._finish(self.nodes[node_id], self.runner.given(spec_of(self.nodes[node_id]), outputs), outputs)

    def _pending(self) -> bool:
        return bool(self.inline or self.ready or self.off_thread or self.in_flight)

    def outcome(self) -> GraphOutcome:
        """The run's outcome once `step` returned False; nodes never reached are marked."""
        self._mark_unrun()
        cancelled = self.session.cancelled() or self.stop_reason == "run cancelled"  # or a node was (Esc on its render job)
        status = RunStatus.CANCELLED if cancelled and not self.failed else (
            RunStatus.FAILED if self.failed else RunStatus.SUCCEEDED)
        return GraphOutcome(status=status, results=self.results, outputs=self.outputs,
                            fallback_requested=self.fallback, failed_nodes=self.failed)

    def _make_ready(self, node: PlannedNode) -> None:
        """Off-thread nodes are handed to worker threads at once; inline ones queue by position."""
        if node.where in ("process", "helper", "thread"):
            self.off_thread.append(node)
        else:
            heapq.heappush(self.ready, node.index)

    def _run_off_thread(self, node: PlannedNode) -> None:
        try:
            result, outputs = self.runner.run(spec_of(node), self._inputs(node))
        except BaseException as exc:  # noqa: BLE001 - must reach the main loop or it waits forever
            result = self.runner.mark(node.node_id, node.step, NodeStatus.FAILED, f"runtime error: {exc}")
            outputs = {}
        self.done.put((node.node_id, result, outputs))

    def _drain(self) -> None:
        while True:
            try:
                node_id, result, outputs = self.done.get_nowait()
            except queue.Empty:
                return
            self.in_flight -= 1
            self._finish(self.nodes[node_id], result, outputs)

    def _inputs(self, node: PlannedNode) -> dict[str, list[Artifact]]:
        inputs: dict[str, list[Artifact]] = {}
        for edge in node.inputs:
            inputs.setdefault(edge.target_input, []).extend(self.outputs.get(edge.source, {}).get(edge.source_output, []))
        return inputs

    def _finish(self, node: PlannedNode, result: NodeResult, outputs: Outputs) -> None:
        self.results[node.node_id] = result
        if result.status in (NodeStatus.SUCCEEDED, NodeStatus.CACHED):
            self.outputs[node.node_id] = outputs
            if node.self_publish and self.ctx.authoritative and self.session.options.targets is None:
                publish_render_outputs(self.ctx, node, outputs)
            for dependant in node.dependants:
                self.waiting[dependant] -= 1
                if (self.waiting[dependant] == 0 and self.results[dependant].status == NodeStatus.PENDING
                        and dependant not in self.given):
                    self._make_ready(self.nodes[dependant])
            return
        if result.status == NodeStatus.CANCELLED:
            self.stop_reason = self.stop_reason or "run cancelled"
            return
        self.failed.append(node.node_id)
        policy = node.policy.on_fail
        if policy == "continue":
            self._skip_descendants(node)
        else:
            self.fallback = self.fallback or policy == "fallback_legacy"
            self.stop_reason = f"node '{node.node_id}' failed (on_fail={policy})"

    def _skip_descendants(self, node: PlannedNode) -> None:
        stack = list(node.dependants)
        while stack:
            current = self.nodes[stack.pop()]
            if self.results[current.node_id].status != NodeStatus.PENDING:
                continue
            self.results[current.node_id] = self.runner.mark(
                current.node_id, current.step, NodeStatus.SKIPPED, f"upstream node '{node.node_id}' failed")
            stack.extend(current.dependants)

    def _mark_unrun(self) -> None:
        reason = self.stop_reason or "not reached"
        status = NodeStatus.CANCELLED if reason == "run cancelled" else NodeStatus.SKIPPED
        for node in self.plan.nodes:
            if self.results[node.node_id].status == NodeStatus.PENDING:
                self.results[node.node_id] = self.runner.mark(node.node_id, node.step, status, reason)


def plan_steps(plan: Plan, session: RunSession, ctx: WorkflowContext, phase: Mode, work_root: Path,
               wait: float | None) -> Generator[None, None, GraphOutcome]:
    """Run `plan` one turn per iteration (see GraphScheduler.step); returns the outcome. Node
    output stays routed to node logs between turns; closing the generator early waits for the
    off-thread nodes already started."""
    scheduler = GraphScheduler(plan, session, ctx, phase, work_root)
    with ROUTER.installed():
        try:
            scheduler.finish_given()
            while scheduler.step(wait):
                yield
        finally:
            scheduler.threads.shutdown(wait=True)
    return scheduler.outcome()


def needed_nodes(plan: Plan, targets: frozenset[str] | None, given: set[str]) -> set[str]:
    """The nodes a run must execute: ancestors of `targets` (every sink when None), not walking
    past nodes whose outputs are given."""
    nodes = plan.by_id()
    stack = [n for n in (targets if targets is not None else
                         [n.node_id for n in plan.nodes if not n.dependants]) if n in nodes]
    needed: set[str] = set()
    while stack:
        current = stack.pop()
        if current in needed or current in given:
            continue
        needed.add(current)
        stack.extend(e.source for e in nodes[current].inputs)
    return needed


def run_plan(plan: Plan, session: RunSession, ctx: WorkflowContext, phase: Mode, work_root: Path) -> GraphOutcome:
    return drive(plan_steps(plan, session, ctx, phase, work_root, wait=None))
