"""File names that arrive over the network: plain names only, and joined only inside a root.

A worker builds local paths from names the server hands it (a cache entry's files and ports, a
part's port and name, a job's id); the server stores names a worker sent. Both check every such
name against one strict rule, so a name can never climb out of the folder it is joined to,
whatever the other side sends.
"""

from __future__ import annotations

import re
from pathlib import Path

from .errors import HartomatError

MAX_NAME = 128
# letters, digits, '_', '-', '.', and inner spaces; not starting with '.' or a space; no '..'
PLAIN_NAME = re.compile(r"(?!\.)(?!.*\.\.)(?! )[\w.\- ]{1,128}")


class UnsafeName(HartomatError):
    """A name from the network that is not a plain file name (a separator, '..', too long, ...)."""


def plain_name(value: object, what: str) -> str:
    """`value` when it is a plain file name; UnsafeName naming `what` otherwise."""
    if not isinstance(value, str) or not PLAIN_NAME.fullmatch(value) or value != value.strip():
        shown = repr(value)[:80]
        raise UnsafeName(f"{what}: {shown} is not a plain file name (letters, digits, '_', '-', '.', spaces; "
                         f"at most {MAX_NAME} characters; no folders, no '..', no leading dot)")
    return value


def inside(root: Path, *names: str, what: str = "name") -> Path:
    """`root / name / ...` with every name checked plain, and the result confirmed inside `root`
    (links included) before anything is written there."""
    path = Path(root)
    for name in names:
        path = path / plain_name(name, what)
    base = Path(root).resolve()
    if not path.resolve().is_relative_to(base):
        raise UnsafeName(f"{what}: {'/'.join(names)!r} leads outside {base}")
    return path
