"""Shared by the bench scripts: the machine line and replacing one `## Topic` section of
docs/performance.md (each bench owns one section and leaves the others alone)."""

from __future__ import annotations

import os
import platform
import re
from pathlib import Path

DOC = Path(__file__).resolve().parents[1] / "docs" / "performance.md"


def machine() -> str:
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor())
    return f"{os.cpu_count()}-core {cpu}, no GPU, Python {platform.python_version()}"


def write_section(heading: str, text: str, doc_path: Path = DOC) -> None:
    """Replace the `## heading` section (or append it); `text` starts with that heading line."""
    doc = doc_path.read_text() if doc_path.exists() else "# Performance\n"
    pattern = re.compile(rf"^## {re.escape(heading)}\n.*?(?=^## |\Z)", re.S | re.M)
    doc = pattern.sub(lambda _: text.rstrip("\n") + "\n\n", doc) if pattern.search(doc) \
        else doc.rstrip("\n") + "\n\n" + text
    doc_path.write_text(doc.rstrip("\n") + "\n")
