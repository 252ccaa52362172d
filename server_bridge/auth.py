"""API tokens with roles; only a token's sha256 is stored, so a leaked database leaks no token.

Roles: `submit` (orders), `worker` (claim and report), `admin` (output types, workflows,
tokens, and everything a submitter may do), `metrics` (reads /metrics, nothing else).
"""

from __future__ import annotations

import hashlib
import os
import secrets
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from engine.model.vocabulary import Role

from .db import Store, new_id, now


@dataclass(frozen=True)
class Principal:
    """Who is calling: the token's id, name and role."""

    token_id: str
    name: str
    role: str


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def create_token(store: Store, role: str, name: str = "") -> str:
    """Make a token, store its hash, and return the token (shown once)."""
    if role not in tuple(Role):
        raise ValueError(f"role must be one of {', '.join(Role)}, got {role!r}")
    token_id = new_id("tok")
    token = f"hm_{role}_{secrets.token_urlsafe(24)}"
    with store.tx() as c:
        c.execute("INSERT INTO tokens (id, name, role, hash, created_at) VALUES (?, ?, ?, ?, ?)",
                  (token_id, name or f"{role}-{token_id[4:12]}", role, token_hash(token), now()))
    return token


def resolve_token(store: Store, token: str) -> Principal | None:
    """The principal of a live token, looked up on every request (one indexed read), so a
    revocation, by the API or by `hartomat token revoke` in another process, holds at once."""
    row = store.one("SELECT id, name, role FROM tokens WHERE hash = ? AND revoked = 0", token_hash(token))
    return Principal(row["id"], row["name"], row["role"]) if row is not None else None


def list_tokens(store: Store) -> list[dict[str, Any]]:
    """Every token's record (never the token itself: only its hash is stored)."""
    rows = store.all("SELECT id, name, role, created_at, revoked, revoked_at FROM tokens ORDER BY created_at, id")
    return [{**dict(r), "revoked": bool(r["revoked"])} for r in rows]


class TokenError(ValueError):
    def __init__(self, message: str, status: int = 404) -> None:
        super().__init__(message)
        self.status = status


def revoke_token(store: Store, id_or_name: str) -> dict[str, Any]:
    """Revoke one token, named by id or (if no other live token shares it) by name."""
    with store.tx() as c:
        rows = c.execute("SELECT id, revoked FROM tokens WHERE id = ? UNION SELECT id, revoked FROM tokens "
                         "WHERE name = ? AND revoked = 0", (id_or_name, id_or_name)).fetchall()
        if not rows:
            raise TokenError(f"no token with id or name {id_or_name[:128]!r}")
        if len(rows) > 1:
            raise TokenError(f"{len(rows)} live tokens are named {id_or_name[:128]!r}; revoke one by id", 409)
        c.execute("UPDATE tokens SET revoked = 1, revoked_at = coalesce(revoked_at, ?) WHERE id = ?",
                  (now(), rows[0]["id"]))
    _renew_marker(revocation_marker(store.path))
    return next(t for t in list_tokens(store) if t["id"] == rows[0]["id"])


Stamp = tuple[int, int, int] | None


def revocation_marker(db_path: Path) -> Path:
    """The file beside the database that every revocation renews (TokenCache watches it)."""
    return db_path.with_name(db_path.name + ".revocations")


def _renew_marker(marker: Path) -> None:
    """Replace the marker by a new file (a new inode, so even two renewals within one mtime tick differ)."""
    fd, tmp = tempfile.mkstemp(dir=marker.parent, prefix=".revocations-")
    with os.fdopen(fd, "w") as handle:
        handle.write(f"{now()}\n")
    os.replace(tmp, marker)


def _stamp(marker: Path) -> Stamp:
    try:
        st = os.stat(marker)
    except FileNotFoundError:
        return None
    return st.st_ino, st.st_mtime_ns, st.st_size


class TokenCache:
    """The principals of live tokens the server has seen, so the request guard admits a known
    token with one stat() instead of a store call. Every revocation (the API's, or `hartomat
    token revoke` in another process) renews the revocation marker after its commit; a changed
    marker empties the cache before the next request, so a revocation still holds at once.
    Used from the event loop only; `resolve` (the store read) runs in the store thread."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.marker = revocation_marker(store.path)
        self._known: dict[str, Principal] = {}
        self._stamp: Stamp = _stamp(self.marker)

    def cached(self, token: str) -> Principal | None:
        stamp = _stamp(self.marker)
        if stamp != self._stamp:
            self._known.clear()
            self._stamp = stamp
        return self._known.get(token_hash(token))

    def resolve(self, token: str) -> tuple[Principal | None, Stamp]:
        """The token's principal from the store, and the marker as it was before the read."""
        stamp = _stamp(self.marker)
        return resolve_token(self.store, token), stamp

    def keep(self, token: str, principal: Principal, stamp: Stamp) -> None:
        """Remember a principal read when the marker was `stamp`, unless a revocation came since."""
        if stamp == self._stamp == _stamp(self.marker):
            self._known[token_hash(token)] = principal
