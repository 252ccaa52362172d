"""The code pages a STEP reader setting may name, and the canonical spelling of a setting value.

Here, not in `engine.cad.occ.codepage` (the detection), because a node's settings are checked
where no CAD code runs: the server, the add-on, validation.
"""

from __future__ import annotations

import re

# setting value -> (OCCT's read.step.codepage value, Python codec)
CODEPAGES: dict[str, tuple[str, str]] = {
    "utf-8": ("UTF8", "utf-8"),
    **{f"cp{n}": (f"CP{n}", f"cp{n}") for n in range(1250, 1259)},
    **{f"iso8859-{n}": (f"iso8859-{n}", f"iso8859_{n}") for n in range(1, 10)},
    "cp850": ("CP850", "cp850"),
    "shift_jis": ("SJIS", "shift_jis"),
    "euc-jp": ("EUC", "euc_jp"),
    "gb2312": ("GB", "gb2312"),
}
AUTO = "auto"


def check_setting(value: str) -> str:
    """The canonical setting value (case-insensitive, `cp-1251`, `CP1251`, `utf8` accepted)."""
    key = value.strip().lower().replace("_", "-")
    key = {"utf8": "utf-8", "sjis": "shift-jis", "shift-jis": "shift_jis", "gb": "gb2312", "euc": "euc-jp"}.get(key, key)
    key = re.sub(r"^cp-(\d+)$", r"cp\1", key)
    key = re.sub(r"^iso-?8859-?(\d)$", r"iso8859-\1", key)
    if key != AUTO and key not in CODEPAGES:
        raise ValueError(f"unknown code page {value!r}; use auto or one of {', '.join(CODEPAGES)}")
    return key
