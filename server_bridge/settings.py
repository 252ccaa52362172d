"""Server settings: data folder, limits, lease length; from arguments or the environment."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from .storage import DEFAULT_MAX_UPLOAD

DEFAULT_MAX_JSON = 1024 * 1024


@dataclass(frozen=True)
class ServerSettings:
    data_dir: Path
    lease_s: float = 30.0
    max_wait_s: float = 20.0
    max_upload_bytes: int = DEFAULT_MAX_UPLOAD
    library_dir: Path | None = None
    webhook_attempts: int = 5
    webhook_backoff_s: float = 0.5
    webhook_deadline_s: float = 10.0  # one attempt, connect to reply head (engine.egress.RetryPolicy)
    webhook_parallel: int = 8  # deliveries at once, so a slow receiver never holds back another's
    webhook_allow: str | None = None  # egress policy (engine.egress); None = $HARTOMAT_WEBHOOK_ALLOW or public
    max_json_bytes: int = DEFAULT_MAX_JSON
    db_busy_s: float = 10.0  # how long a write waits for another process' lock before answering 503
    cache_max_bytes: int = 20 * 1024**3  # the farm-wide artifact cache's bound (LRU eviction past it)
    upload_quota_bytes: int = 10 * 1024**3  # per submit token (tenant); 0 = no quota
    upload_retention_s: float = 7 * 24 * 3600.0  # uploads no order uses are removed after this age
    test_mode: bool = False  # mounts the fault switch (server_bridge/faults.py); never in production

    @classmethod
    def from_env(cls, data_dir: str | Path | None = None, **overrides: object) -> ServerSettings:
        env = os.environ
        data = Path(data_dir or env.get("HARTOMAT_DATA", "hartomat-farm"))
        library = env.get("HARTOMAT_LIBRARY")
        values: dict[str, object] = {
            "lease_s": float(env.get("HARTOMAT_LEASE_S", 30)),
            "max_wait_s": float(env.get("HARTOMAT_MAX_WAIT_S", 20)),
            "max_upload_bytes": int(env.get("HARTOMAT_MAX_UPLOAD", DEFAULT_MAX_UPLOAD)),
            "library_dir": Path(library) if library else data / "products",
            "webhook_attempts": int(env.get("HARTOMAT_WEBHOOK_ATTEMPTS", 5)),
            "webhook_backoff_s": float(env.get("HARTOMAT_WEBHOOK_BACKOFF_S", 0.5)),
            "webhook_deadline_s": float(env.get("HARTOMAT_WEBHOOK_DEADLINE_S", 10)),
            "webhook_parallel": int(env.get("HARTOMAT_WEBHOOK_PARALLEL", 8)),
            "webhook_allow": env.get("HARTOMAT_WEBHOOK_ALLOW"),
            "max_json_bytes": int(env.get("HARTOMAT_MAX_JSON", DEFAULT_MAX_JSON)),
            "db_busy_s": float(env.get("HARTOMAT_DB_BUSY_S", 10)),
            "cache_max_bytes": int(float(env.get("HARTOMAT_CACHE_MAX_GB", 20)) * 1024**3),
            "upload_quota_bytes": int(float(env.get("HARTOMAT_UPLOAD_QUOTA_GB", 10)) * 1024**3),
            "upload_retention_s": float(env.get("HARTOMAT_UPLOAD_RETENTION_H", 168)) * 3600,
            "test_mode": env.get("HARTOMAT_TEST_MODE", "") not in ("", "0"),
        }
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(data_dir=data, **values)  # type: ignore[arg-type]
