"""What submitters read never names a worker's or the server's folders.

Job errors, node messages, logs and run summaries come from workers (and a few from the server)
and hold absolute paths: the work folder, the template index, a cache file. Before a submitter
sees them, every absolute path becomes its last name ("…/still.png" reads "still.png"); URLs,
fractions and dates stay as they are. Admins see the records as stored.
"""

from __future__ import annotations

import re
from typing import Any

# An absolute POSIX path (not inside a URL or after a word character), or a Windows drive path.
_POSIX = re.compile(r"(?<![\w.:/~%\]-])(?:/[^\s/'\"`<>|,;()\[\]{}]+)+/?")
_WINDOWS = re.compile(r"(?i)(?<![\w])[a-z]:[\\/](?:[^\s\\/'\"`<>|,;()\[\]{}]+[\\/])*[^\s\\/'\"`<>|,;()\[\]{}]*")


def _last_name(match: re.Match[str]) -> str:
    text = match.group(0)
    core = text.rstrip(".:")  # "…/part.glb: no such file" keeps its colon
    parts = [p for p in re.split(r"[\\/]", core) if p]
    name = parts[-1] if parts and not re.fullmatch(r"[A-Za-z]:", parts[-1]) else "…"
    return name + text[len(core):]


def relative_names(text: str) -> str:
    """`text` with every absolute path replaced by its last name."""
    return _POSIX.sub(_last_name, _WINDOWS.sub(_last_name, text))


def for_submitters(value: Any) -> Any:
    """A reply (nested dicts, lists and strings) with every string's absolute paths made relative."""
    if isinstance(value, str):
        return relative_names(value) if ("/" in value or "\\" in value) else value
    if isinstance(value, dict):
        return {key: for_submitters(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [for_submitters(item) for item in value]
    return value
