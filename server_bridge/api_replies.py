"""Response bodies of the farm API, so /openapi.json documents what every route answers.

The routes still build plain dicts in the modules that own the data (catalog, orders, queue);
these models only describe them. `extra="allow"` keeps any field a model does not name, and the
routes serialise with `response_model_exclude_unset`, so the JSON is exactly what the owning
module returned. Flags read straight from SQLite rows are `int` (0/1), as the API has always
sent them; flags the modules convert are `bool`.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from engine.model.vocabulary import Capability, JobStatus, Mode, OrderStatus, Removal, Role


class Reply(BaseModel):
    model_config = ConfigDict(extra="allow")


class Health(Reply):
    ok: bool


# --- admin -------------------------------------------------------------------------------------
class CreatedToken(Reply):
    token: str = Field(description="the secret: shown once, only its hash is stored")
    role: Role


class TokenRecord(Reply):
    id: str
    name: str
    role: Role
    created_at: float
    revoked: bool
    revoked_at: float | None


class WorkflowSummary(Reply):
    id: str
    name: str
    family: str


class WorkflowListEntry(WorkflowSummary):
    updated_at: float


class NodeDefinitions(Reply):
    schema_version: int
    artifact_kinds: dict[str, Any]
    families: list[str]
    definitions: list[dict[str, Any]]


class ModeChange(Reply):
    old_mode: Mode | None
    new_mode: Mode
    changed_by: str
    changed_at: float


class OutputType(Reply):
    name: str
    family: str
    artifact_kind: str
    workflow_id: str
    overrides: dict[str, dict[str, Any]]
    mode: Mode
    legacy_fallback: bool
    mode_changed_by: str | None
    mode_changed_at: float | None
    created_at: float
    tags: list[str]
    mode_history: list[ModeChange]


class ParityReport(Reply):
    output_type: str
    runs: int
    matched: int
    mismatched: int
    worst: dict[str, Any] | None
    details: list[dict[str, Any]]


class CurrentJob(Reply):
    id: str
    order_id: str
    output_type: str
    node: str | None
    fraction: float | None


class WorkerRecord(Reply):
    id: str
    name: str
    capabilities: list[Capability]
    tags: list[str]
    last_seen: float
    blocked_output_types: list[str]
    failures: dict[str, int]
    current_job: CurrentJob | None


class Cleared(Reply):
    cleared: int


# --- submitters ----------------------------------------------------------------------------------
class StoredFile(Reply):
    sha256: str
    size: int


class DeletedFile(Reply):
    sha256: str
    deleted: bool
    record_kept: bool = Field(description="a finished order's line still names it: the record stays, the bytes are gone")


class OrderListEntry(Reply):
    id: str
    status: OrderStatus
    priority: int
    created_at: float
    finished_at: float | None


class Chunks(Reply):
    done: int
    total: int


class Webhook(Reply):
    url: str | None
    status: str
    attempts: int
    error: str | None


class LineJob(Reply):
    """A line's job as the status shows it; `waiting` says why a queued job is not taken."""
    id: str
    status: JobStatus
    attempts: int
    worker_id: str | None
    run_id: str | None
    error: str | None
    mode: Mode
    cancel_requested: int
    kind: str
    priority: int
    paused: int
    needs: list[Capability]
    needs_tags: list[str]
    waiting: str | None


class PartJob(Reply):
    id: str
    status: JobStatus
    attempts: int
    worker_id: str | None
    error: str | None


class LineAsset(Reply):
    id: str
    role: str
    kind: str | None
    name: str
    sha256: str
    size: int
    is_primary: bool
    provenance: dict[str, Any] | None = Field(None, description="what made it: Blender or bpy (version, build), "
                                              "Cycles device and denoiser, OCP/OCCT, HartOMat, worker, digests of "
                                              "the frozen workflow and overrides")


class Paused(Reply):
    by: str = Field(description="the name of the token that paused it")
    at: float


class OrderLine(Reply):
    id: str
    product: str
    output_type: str
    step_sha256: str | None
    overrides: dict[str, Any]
    tags: list[str]
    pause: Paused | None = Field(description="who paused it and when; null when it is not paused")
    job: LineJob | None
    chunks: Chunks
    parts: list[PartJob]
    prep: PartJob | None
    fell_back: bool
    assets: list[LineAsset]


class CostRow(Reply):
    """Wall and CPU seconds summed over finished runs (of a line, a node or a worker)."""
    runs: int
    wall_s: float
    cpu_s: float


class OrderStatistics(Reply):
    total: CostRow
    lines: list[CostRow] = Field(description="per line (line_id)")
    nodes: list[CostRow] = Field(description="per node (node_id, step)")
    workers: list[CostRow] = Field(description="per worker (worker_id, name)")


class Estimate(Reply):
    remaining_s: float | None = Field(description="seconds the order still needs; null when it cannot be told")
    live_workers: int
    jobs_left: int
    history_jobs: int
    why: str | None


class Order(Reply):
    id: str
    status: OrderStatus
    priority: int
    pause: Paused | None = Field(description="who paused it and when; null when it is not paused")
    created_at: float
    finished_at: float | None
    fell_back: bool
    chunks: Chunks
    webhook: Webhook
    lines: list[OrderLine]
    statistics: OrderStatistics | None = None
    estimate: Estimate | None = None


class OrderRemoval(Reply):
    """What stays of a deleted or archived order."""
    order_id: str
    action: Removal
    removed_by: str
    removed_at: float
    submitted_by: str
    status: OrderStatus
    created_at: float
    lines: int
    jobs: int
    assets: int
    files_removed: int
    files_kept: int = Field(description="stored files another order or the farm cache still uses")
    bytes_freed: int


class Archived(Reply):
    dry_run: bool
    orders: list[OrderRemoval]
    bytes_freed: int
    files_removed: int


class CancelledOrder(Reply):
    cancelled: int = Field(description="jobs cancelled or flagged")
    order: Order


class CancelledJob(Reply):
    cancelled: int = Field(description="jobs cancelled or flagged")
    order_status: OrderStatus


class JobDetail(Reply):
    """A job's row, its runs (with node results) and its last 500 log lines."""
    seq: int
    id: str
    order_id: str
    order_line_id: str
    output_type: str
    mode: Mode
    caps: int = Field(description="the capabilities it needs, as a bit mask")
    status: JobStatus
    worker_id: str | None
    run_id: str | None
    lease_expires: float | None
    attempts: int
    failed_workers: str
    cancel_requested: int
    error: str | None
    created_at: float
    updated_at: float
    kind: str = Field(description="line, prep, part or assemble")
    parent_id: str | None
    part: str | None
    after_id: str | None
    runs: list[dict[str, Any]]
    logs: list[str]


# --- workers and jobs ----------------------------------------------------------------------------
class Registered(Reply):
    worker_id: str
    capabilities: list[Capability]
    tags: list[str]
    lease_s: float


class StepFile(Reply):
    sha256: str | None
    size: int | None
    name: str | None


class ClaimedJob(Reply):
    """Everything a worker needs to run a job, as frozen on its order line at submission."""
    job_id: str
    run_id: str
    order_id: str
    order_line_id: str
    product: str
    output_type: str
    family: str | None
    mode: Mode
    legacy_fallback: bool
    overrides: dict[str, Any]
    workflow: dict[str, Any]
    step_file: StepFile
    lease_s: float
    attempt: int
    kind: str = Field(description="line, prep, part or assemble")


class Completed(Reply):
    job: JobStatus = Field(description="the job's state after the report (queued: it will run again)")
    order_finished: str | None = Field(description="the order this report finished, if any")
    next_job: ClaimedJob | None = Field(None, description="present when the report asked for the next job")


class HandedBack(Reply):
    job: JobStatus


class SignedOff(Reply):
    handed_back: list[str]


class Heartbeat(Reply):
    cancel: bool = Field(description="the job was cancelled: stop it")
    lease_expires: float


class UploadedAsset(Reply):
    id: str
    order_id: str
    order_line_id: str
    job_id: str
    run_id: str
    node_id: str | None
    role: str
    kind: str | None
    name: str
    sha256: str
    size: int
    is_primary: int
    committed: int
    created_at: float
    duplicate: bool


class UploadedPart(Reply):
    job_id: str
    sha256: str
    size: int


# --- the farm cache ------------------------------------------------------------------------------
class CacheManifest(Reply):
    """A cache entry's outputs by port (the body it was stored with)."""
    step: str
    outputs: dict[str, list[dict[str, Any]]]


class CachePut(Reply):
    key: str
    kept: bool
    size: int
    evicted: int


class CacheStats(Reply):
    entries: int
    bytes: int
    hits: int
    max_bytes: int
    steps: dict[str, int]


class Spread(Reply):
    median: float | None
    p90: float | None


class FarmStats(Reply):
    output_type: str
    since_s: float
    jobs: int = Field(description="jobs of the output type that succeeded in the period")
    wall_s: Spread = Field(description="a job's wall seconds, all its runs")
    cpu_s: Spread = Field(description="a job's CPU seconds, all its runs")
    cpu_hours: float
    wall_hours: float


# --- dashboard -----------------------------------------------------------------------------------
class Me(Reply):
    role: Role
    name: str


class DashboardOrders(Reply):
    orders: list[dict[str, Any]]
    total: int
    limit: int
    offset: int


class DashboardOrder(Reply):
    id: str
    status: OrderStatus
    lines: list[dict[str, Any]]


class FaultState(Reply):
    """The test-mode fault switch's state (status and retry_after null when it is off)."""
    status: int | None
    remaining_s: float
    retry_after: int | None
