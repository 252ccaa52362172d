"""API tokens with roles; only a token's sha256 is stored, so a leaked database leaks no token.

Roles: `submit` (orders), `worker` (claim and report), `admin` (output types, workflows,
tokens, and everything a submitter may do).
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from typing import Literal

from .db import Store, new_id, now

Role = Literal["submit", "worker", "admin"]
ROLES: tuple[str, ...] = ("submit", "worker", "admin")


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
    if role not in ROLES:
        raise ValueError(f"role must be one of {', '.join(ROLES)}, got {role!r}")
    token_id = new_id("tok")
    token = f"hm_{role}_{secrets.token_urlsafe(24)}"
    with store.tx() as c:
        c.execute("INSERT INTO tokens (id, name, role, hash, created_at) VALUES (?, ?, ?, ?, ?)",
                  (token_id, name or f"{role}-{token_id[4:12]}", role, token_hash(token), now()))
    return token


class TokenCache:
    """Resolves bearer tokens to principals, remembering hashes already looked up."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self._known: dict[str, Principal] = {}

    def resolve(self, token: str) -> Principal | None:
        digest = token_hash(token)
        if digest in self._known:
            return self._known[digest]
        row = self.store.one("SELECT id, name, role FROM tokens WHERE hash = ? AND revoked = 0", digest)
        if row is None:
            return None
        principal = Principal(row["id"], row["name"], row["role"])
        self._known[digest] = principal
        return principal

    def forget(self) -> None:
        self._known.clear()
