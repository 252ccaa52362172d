"""Server settings: data folder, limits, lease length; from arguments or the environment."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from .storage import DEFAULT_MAX_UPLOAD


@dataclass(frozen=True)
class ServerSettings:
    data_dir: Path
    lease_s: float = 30.0
    max_wait_s: float = 20.0
    max_upload_bytes: int = DEFAULT_MAX_UPLOAD
    library_dir: Path | None = None
    webhook_attempts: int = 5
    webhook_backoff_s: float = 0.5
    webhook_allow: str | None = None  # egress policy (engine.egress); None = $HARTOMAT_WEBHOOK_ALLOW or public

    @classmethod
    def from_env(cls, data_dir: str | Path | None = None, **overrides: object) -> ServerSettings:
        env = os.environ
        data = Path(data_dir or env.get("HARTOMAT_DATA", "hartomat-farm"))
        library = env.get("HARTOMAT_LIBRARY")
        values: dict[str, object] = {
            "lease_s": float(env.get("HARTOMAT_LEASE_S", 30)),
            "max_upload_bytes": int(env.get("HARTOMAT_MAX_UPLOAD", DEFAULT_MAX_UPLOAD)),
            "library_dir": Path(library) if library else data / "products",
            "webhook_backoff_s": float(env.get("HARTOMAT_WEBHOOK_BACKOFF_S", 0.5)),
            "webhook_allow": env.get("HARTOMAT_WEBHOOK_ALLOW"),
        }
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(data_dir=data, **values)  # type: ignore[arg-type]
