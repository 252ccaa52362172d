"""API tokens with roles; only a token's sha256 is stored, so a leaked database leaks no token.

Roles: `submit` (orders), `worker` (claim and report), `admin` (output types, workflows,
tokens, and everything a submitter may do).
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
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
    return next(t for t in list_tokens(store) if t["id"] == rows[0]["id"])
