"""Worker tags: free-form labels an operator gives workers (`--tags studio-a,big-memory`) that
an output type or an order line may require. A job goes only to a worker with all its tags.

Jobs and the claim keep a set of tags as one string, "|a|b|" (sorted), so the claim checks it
with `db.tags_within` without parsing JSON per row; workers and output types keep JSON lists.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from .db import Store, loads

TAG_PATTERN = r"^[a-z0-9][a-z0-9._-]{0,39}$"
_TAG = re.compile(TAG_PATTERN)


def tag_key(tags: Iterable[str]) -> str:
    """The stored form of a set of tags: "" for none, else "|a|b|" sorted."""
    ordered = sorted(set(tags))
    return f"|{'|'.join(ordered)}|" if ordered else ""


def tag_list(key: str) -> list[str]:
    return [tag for tag in key.split("|") if tag]


def known_tags(store: Store) -> set[str]:
    """The tags the farm knows: offered by a worker that ever registered, or required by an output type."""
    known: set[str] = set()
    for row in store.all("SELECT DISTINCT tags FROM workers UNION SELECT DISTINCT tags FROM output_types"):
        known.update(loads(row["tags"], []))
    return known


def unknown_tags(store: Store, tags: Iterable[str]) -> list[str]:
    """Tags (of an order line) that no worker and no output type has: most likely a typo."""
    wanted = sorted(set(tags))
    if not wanted:
        return []
    known = known_tags(store)
    return [tag for tag in wanted if tag not in known]


def is_tag(value: Any) -> bool:
    return isinstance(value, str) and _TAG.match(value) is not None
