"""Request bodies of the farm API: strict, so a misspelt field is a 422 naming it. Roles, modes and
capabilities are the shared vocabulary's enums (engine/model/vocabulary.py); api_replies.py has the answers."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field

from engine.filenames import MAX_NAME, UnsafeName, plain_name
from engine.model.vocabulary import Capability, JobStatus, Mode, Role

from .tags import TAG_PATTERN


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class TokenRequest(Strict):
    role: Role
    name: str = Field("", max_length=128)


Tag = Annotated[str, Field(pattern=TAG_PATTERN)]
def _no_text(value: Any) -> Any:
    """A priority is a JSON number (11 or 11.0), never "11" or true."""
    if isinstance(value, str | bool):
        raise ValueError("must be a number from 0 to 100")
    return value


Priority = Annotated[int, Field(ge=0, le=100, description="0-100; higher is handed out first (default 50)"),
                     BeforeValidator(_no_text)]


class OutputTypeRequest(Strict):
    family: str = Field(min_length=1, max_length=64)
    artifact_kind: str = Field(min_length=1, max_length=64)
    workflow_id: str = Field(min_length=1, max_length=128)
    overrides: dict[str, dict[str, Any]] = Field(default_factory=dict)
    mode: Mode = Mode.GRAPH
    legacy_fallback: bool = True
    tags: list[Tag] = Field(default_factory=list, max_length=16,
                            description="worker tags every job of this output type requires")


class ModeRequest(Strict):
    mode: Mode


class OrderLineRequest(Strict):
    output_type: str = Field(min_length=1, max_length=128)
    product: str = Field("", max_length=256)
    step_sha256: str | None = Field(None, pattern=r"^[0-9a-f]{64}$")
    overrides: dict[str, dict[str, Any]] = Field(default_factory=dict)
    tags: list[Tag] = Field(default_factory=list, max_length=16,
                            description="worker tags this line's jobs require (besides the output type's)")


class OrderRequest(Strict):
    lines: list[OrderLineRequest] = Field(min_length=1, max_length=1000)
    webhook_url: str | None = Field(None, pattern=r"^https?://", max_length=2000)
    priority: Priority = 50


class PriorityRequest(Strict):
    priority: Priority


class ArchiveRequest(Strict):
    model_config = ConfigDict(extra="forbid", strict=True)  # no "30" for 30, no 0 for false: not undone
    older_than_s: float = Field(ge=0, le=100 * 365 * 86400, description="archive settled orders finished this long ago")
    dry_run: bool = False


class RegisterRequest(Strict):
    name: str = Field("", max_length=128)
    capabilities: list[Capability] = Field(default_factory=list)
    tags: list[Tag] = Field(default_factory=list, max_length=16)


class ClaimRequest(Strict):
    wait_s: float = Field(0.0, ge=0, le=60)


class WorkerRef(Strict):
    worker_id: str = Field(min_length=1, max_length=64)


class ProgressRecord(BaseModel):
    node_id: str = Field(max_length=128)
    step: str | None = Field(None, max_length=128)
    status: str = Field("running", max_length=32)
    fraction: float | None = None
    message: str | None = Field(None, max_length=4000)


class HeartbeatRequest(WorkerRef):
    events: list[ProgressRecord] = Field(default_factory=list, max_length=1000)
    logs: list[str] = Field(default_factory=list, max_length=5000)


class CompleteRequest(WorkerRef):
    status: Literal[JobStatus.SUCCEEDED, JobStatus.FAILED, JobStatus.CANCELLED]  # the terminal statuses a report may give
    error: str | None = Field(None, max_length=20000)
    fell_back: bool = False
    cpu_s: float | None = Field(None, ge=0, allow_inf_nan=False,
                                description="CPU seconds the job used on the worker (its nodes' other processes too)")
    input_error: bool = Field(False, description="the failure is the order's input (unreadable STEP, unknown "
                              "template, invalid settings): the line fails at once, not held against the worker")
    summary: dict[str, Any] | None = None
    parity: dict[str, Any] | None = None
    rerun_parts: list[str] = Field(default_factory=list, max_length=10000,
                                   description="an assemble job's part jobs whose files were missing or corrupt")
    next: ClaimRequest | None = Field(None, description="also claim the next job (saves a round trip)")


SHA256 = r"^[0-9a-f]{64}$"


def _checked_plain(value: str) -> str:
    """pydantic reports a ValueError as the field's 422."""
    try:
        return plain_name(value, "name")
    except UnsafeName as exc:
        raise ValueError(str(exc)) from None


# a file or port name a worker sends: it becomes a path on the workers that read it back
PlainName = Annotated[str, Field(min_length=1, max_length=MAX_NAME), AfterValidator(_checked_plain)]


class CacheModel(Strict):
    model_config = ConfigDict(extra="forbid", strict=True)  # no 0 for false: what the spec says, exactly


class CachedFile(CacheModel):
    name: PlainName
    sha256: str = Field(pattern=SHA256)
    size: int = Field(ge=0)


class CachedArtifact(CacheModel):
    kind: str = Field(min_length=1, max_length=64)
    role: str | None = Field(None, max_length=200)
    data: dict[str, Any] = Field(default_factory=dict)
    set: bool = False
    stored: list[CachedFile] = Field(default_factory=list, max_length=100000)


class CacheEntryRequest(CacheModel):
    """A node's outputs for the farm cache: artifacts by port, each file by sha256 (uploaded first)."""

    step: str = Field(min_length=1, max_length=128)
    outputs: dict[PlainName, list[CachedArtifact]] = Field(max_length=64)
