"""RunSession: what one run shares across its nodes — store, cache, context, pool, publisher,
progress and cancel — plus the bookkeeping of published media.
"""

from __future__ import annotations

import queue
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..model.artifacts import Artifact
from ..model.context import WorkflowContext
from ..model.publishing import MediaAsset
from ..model.vocabulary import Mode
from .cache import NodeCache
from .capture import ROUTER
from .options import ProgressEvent, RunOptions
from .process_pool import ProcessPool
from .store import RunStore


class RecordingPublisher:
    """Wraps the run's publisher: every asset also goes into the store and the run result."""

    def __init__(self, inner: Any, store: RunStore, published: list[MediaAsset]) -> None:
        self.inner, self.store, self.published = inner, store, published
        self._lock = threading.Lock()

    def publish(self, artifact: Artifact, role: str, primary: bool, node_id: str, run_id: str) -> MediaAsset:
        asset: MediaAsset = self.inner.publish(artifact, role, primary, node_id, run_id)
        record = asset.model_dump(mode="json")
        record.update(run_id=run_id, node_id=node_id)
        self.store.add_media_asset(record)
        with self._lock:
            if all((a.role, a.sha256) != (asset.role, asset.sha256) for a in self.published):
                self.published.append(asset)
        return asset


@dataclass
class RunSession:
    options: RunOptions
    store: RunStore
    run_id: str
    cache: NodeCache | None
    published: list[MediaAsset] = field(default_factory=list)
    events: queue.SimpleQueue[ProgressEvent] = field(default_factory=queue.SimpleQueue)
    _pool: ProcessPool | None = None  # this run's own, when the caller lends none (options.pool)
    _main_thread: int = field(default_factory=threading.get_ident)
    _cancelled: bool = False

    @property
    def registry(self) -> Any:
        return self.options.registry

    def cancelled(self) -> bool:
        if not self._cancelled and self.options.cancel is not None and self.options.cancel():
            self._cancelled = True
        return self._cancelled

    def emit(self, event: ProgressEvent) -> None:
        """Progress reaches the callback on the thread that started the run (Blender's main)."""
        if self.options.progress is None:
            return
        if threading.get_ident() == self._main_thread:
            self.flush_events()
            with ROUTER.outside():
                self.options.progress(event)
        else:
            self.events.put(event)

    def flush_events(self) -> None:
        with ROUTER.outside():
            while self.options.progress is not None and not self.events.empty():
                self.options.progress(self.events.get())

    def pool(self) -> ProcessPool:
        """The process pool for `execution="process"` nodes: the caller's (a farm worker's, warm
        for its whole life), else this run's own, started on first use and closed with the run."""
        if self.options.pool is not None:
            pool: ProcessPool = self.options.pool
            return pool
        if self._pool is None:
            import os

            self._pool = ProcessPool(self.options.max_workers or min(4, os.cpu_count() or 1))
        return self._pool

    def close(self) -> None:
        if self._pool is not None:
            self._pool.close()
            self._pool = None
        if self.cache is not None:
            self.cache.close()
        self.flush_events()

    def context(self, run_dir: Path, mode: Mode, authoritative: bool, order_line: Any,
                publisher: Any) -> WorkflowContext:
        from ..model.capabilities import detect_capabilities

        caps = self.options.capabilities if self.options.capabilities is not None else detect_capabilities()
        return WorkflowContext(
            order_line=order_line, run_dir=run_dir, mode=mode,
            authoritative=authoritative, cache_dir=self.cache.root if self.cache else None,
            capabilities=caps, run_id=self.run_id, publisher=publisher, store=self.store,
            cancel_requested=self.cancelled,
            extras={"registry": self.registry, "egress": self.options.egress},
        )
