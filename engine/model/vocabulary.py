"""The words the engine, the farm, the add-on and the API share, each spelled once.

StrEnum members compare equal to their strings, so JSON, SQLite rows and old documents keep
working while code names the member (`Mode.GRAPH`, not "graph").
"""

from __future__ import annotations

from enum import StrEnum


class Mode(StrEnum):
    """How an order line runs: the legacy pipeline, the graph, or both compared (shadow)."""
    GRAPH = "graph"
    LEGACY = "legacy"
    SHADOW = "shadow"


MODE_ROLLOUT = (Mode.LEGACY, Mode.SHADOW, Mode.GRAPH)  # the order an output type moves through


class Capability(StrEnum):
    """What an interpreter can run: Blender (`bpy`), OpenCascade (`ocp`), a headless browser;
    `denoise`: its Blender's Cycles has a denoiser (OpenImageDenoise; Debian's 4.3 has none)."""
    BPY = "bpy"
    OCP = "ocp"
    BROWSER = "browser"
    DENOISE = "denoise"


class Preset(StrEnum):
    """The shipped output types a legacy config or `hartomat render --preset` names."""
    STILL = "still"
    TURNTABLE = "turntable"
    MULTI_ANGLE = "multi_angle"
    STILL_WITH_EXPORTS = "still_with_exports"


class Role(StrEnum):
    """What an API token may do."""
    SUBMIT = "submit"
    WORKER = "worker"
    ADMIN = "admin"
    METRICS = "metrics"  # reads /metrics only: what a Prometheus server is given


class JobStatus(StrEnum):
    """A farm job's state (server_bridge.jobstate moves jobs between them)."""
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"


class OrderStatus(StrEnum):
    """An order's state, rolled up from its jobs."""
    QUEUED = "queued"
    RUNNING = "running"
    PAUSED = "paused"  # jobs still wait, none runs, and every waiting one is paused
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    PARTIAL = "partial"
    CANCELLED = "cancelled"


FINISHED_ORDER_STATUSES = frozenset({OrderStatus.SUCCEEDED, OrderStatus.FAILED, OrderStatus.PARTIAL,
                                     OrderStatus.CANCELLED})


class Removal(StrEnum):
    """How an order left the store (server_bridge.cleanup); a short record of it stays."""
    DELETED = "deleted"
    ARCHIVED = "archived"


class RunStatus(StrEnum):
    """A run's state: in the engine's run store, and in the farm's runs table (which adds lost
    and handed_back)."""
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"
    INTERRUPTED = "interrupted"
    LOST = "lost"  # farm only: the worker's lease ran out before it reported
    HANDED_BACK = "handed_back"  # farm only: the worker returned the job unfinished (shutting down)


TERMINAL_JOB_STATUSES = frozenset({JobStatus.SUCCEEDED, JobStatus.FAILED, JobStatus.CANCELLED})


class NodeStatus(StrEnum):
    """A node's state within one run."""
    PENDING = "pending"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    SKIPPED = "skipped"
    CACHED = "cached"
    CANCELLED = "cancelled"
    INTERRUPTED = "interrupted"


class JobKind(StrEnum):
    """What a farm job runs: a whole order line, or one piece of a line split over several jobs
    (the prep job feeding the split node, one part job per chunk, the assemble job)."""
    LINE = "line"
    PREP = "prep"
    PART = "part"
    ASSEMBLE = "assemble"


class WebhookStatus(StrEnum):
    """Where an order's webhook delivery stands (none: the order has no webhook)."""
    NONE = "none"
    PENDING = "pending"
    DELIVERED = "delivered"
    FAILED = "failed"
