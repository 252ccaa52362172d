"""The farm-wide artifact cache: a succeeded node's outputs kept by its content key, so a node
runs once per farm for every output type and chunk that needs it.

An entry is a manifest (the node's outputs as artifacts, each file by sha256) plus its files,
stored content-addressed beside the uploads (`FileStore`). Workers upload the files first, then
put the manifest; the server keeps an entry only when every file it names is stored, and the
first entry for a key wins (concurrent misses may both run; one entry is kept). A lookup whose
files vanished from disk or no longer hash to their sha256 deletes the entry and is a miss.
Entries are evicted least recently used first once their files pass the size bound
(`--cache-max-gb`).

Trust: a worker token can write entries that every worker then uses, so each entry records the
worker (and token) that wrote it, and an admin can purge one worker's or one token's entries
(`DELETE /api/cache?worker_id=`). File and port names in a manifest are plain names (checked
in api_models.PlainName here, and again by the worker that restores them).
"""

from __future__ import annotations

import json
from typing import Any

from .db import Store, loads, now
from .storage import FileStore


class CacheError(ValueError):
    def __init__(self, message: str, status: int = 422) -> None:
        super().__init__(message)
        self.status = status


def manifest_files(manifest: dict[str, Any]) -> dict[str, int]:
    """sha256 -> size of every file a manifest names (set members included)."""
    found: dict[str, int] = {}
    for items in manifest.get("outputs", {}).values():
        for artifact in items:
            for member in artifact.get("stored", []):
                found[str(member["sha256"])] = int(member["size"])
    return found


def lookup(store: Store, files: FileStore, key: str) -> dict[str, Any] | None:
    """The entry's manifest on a hit (counted, made most recent); None on a miss. An entry whose
    files vanished from disk or changed there (sha256 checked on every lookup) is dropped."""
    row = store.one("SELECT manifest FROM cache_entries WHERE key = ?", key)
    manifest: dict[str, Any] = loads(row["manifest"], {}) if row is not None else {}
    if row is not None and not all(files.intact(sha) for sha in manifest_files(manifest)):
        drop(store, files, [key])
        row = None
    with store.tx() as c:
        if row is not None:
            c.execute("UPDATE cache_entries SET last_used = ?, hits = hits + 1 WHERE key = ?", (now(), key))
        count(c, "cache_hits" if row is not None else "cache_misses")
    return manifest if row is not None else None


def count(c: Any, name: str, by: int = 1) -> None:
    """Add to one of the farm's lasting counters (farm_counters: never reset, read by /metrics)."""
    c.execute("INSERT INTO farm_counters VALUES (?, ?) ON CONFLICT(name) DO UPDATE SET value = value + ?",
              (name, by, by))


def put(store: Store, files: FileStore, key: str, step: str, manifest: dict[str, Any],
        max_bytes: int, writer: tuple[str, str]) -> dict[str, Any]:
    """Keep an entry whose files are all stored; the first entry for a key wins, recorded with its
    `writer` (worker id, token id). Evicts LRU."""
    named = manifest_files(manifest)
    missing = [sha for sha in named if not files.has(sha)]
    if missing:
        raise CacheError(f"cache entry {key[:16]}… names {len(missing)} file(s) not uploaded, e.g. {missing[0]}")
    size, t = sum(named.values()), now()
    with store.tx() as c:
        cursor = c.execute("INSERT OR IGNORE INTO cache_entries (key, step, manifest, size, created_at, last_used, "
                           "hits, worker_id, token_id) VALUES (?, ?, ?, ?, ?, ?, 0, ?, ?)",
                           (key, step[:128], json.dumps(manifest), size, t, t, *writer))
        kept = cursor.rowcount == 1
        if kept:
            c.executemany("INSERT OR IGNORE INTO cache_files VALUES (?, ?)", [(key, sha) for sha in named])
    evicted = evict(store, files, max_bytes)
    return {"key": key, "kept": kept, "size": size, "evicted": evicted}


def evict(store: Store, files: FileStore, max_bytes: int) -> int:
    """Drop least recently used entries until the cache's files fit in `max_bytes`."""
    rows = store.all("SELECT key, size FROM cache_entries ORDER BY last_used DESC")
    total, keep_until = 0, len(rows)
    for index, row in enumerate(rows):
        total += row["size"]
        if total > max_bytes:
            keep_until = index
            break
    victims = [row["key"] for row in rows[keep_until:]]
    drop(store, files, victims)
    return len(victims)


def drop(store: Store, files: FileStore, keys: list[str]) -> None:
    """Delete entries and the files no other entry, asset, line or part uses."""
    from .housekeeping import drop_if_unused

    shas: set[str] = set()
    with store.tx() as c:
        for key in keys:
            shas.update(r["sha256"] for r in c.execute("SELECT sha256 FROM cache_files WHERE key = ?", (key,)))
            c.execute("DELETE FROM cache_files WHERE key = ?", (key,))
            c.execute("DELETE FROM cache_entries WHERE key = ?", (key,))
    for sha in sorted(shas):
        drop_if_unused(store, files, sha)


def clear(store: Store, files: FileStore, worker_id: str | None = None, token_id: str | None = None) -> int:
    """Drop every entry, or only those one worker (or one worker token) wrote."""
    keys = [r["key"] for r in store.all("SELECT key FROM cache_entries WHERE (? IS NULL OR worker_id = ?) "
                                        "AND (? IS NULL OR token_id = ?)", worker_id, worker_id, token_id, token_id)]
    drop(store, files, keys)
    return len(keys)


def stats(store: Store, max_bytes: int) -> dict[str, Any]:
    row = store.one("SELECT count(*) AS entries, coalesce(sum(size), 0) AS bytes, coalesce(sum(hits), 0) AS hits "
                    "FROM cache_entries")
    steps = {r["step"]: r["n"] for r in store.all("SELECT step, count(*) AS n FROM cache_entries GROUP BY step")}
    assert row is not None
    return {"entries": row["entries"], "bytes": row["bytes"], "hits": row["hits"], "max_bytes": max_bytes,
            "steps": steps}
