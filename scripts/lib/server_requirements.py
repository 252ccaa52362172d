"""Prints what a server-only install needs, one requirement a line: the core dependencies and
the `server` extra of pyproject.toml, plus its build backend. The set-up downloads these as
wheels for each supported Python, so the install-profile test needs no network."""

from __future__ import annotations

import sys
import tomllib
from pathlib import Path

PYPROJECT = Path(__file__).resolve().parents[2] / "pyproject.toml"


def server_requirements(pyproject: Path = PYPROJECT) -> list[str]:
    data = tomllib.loads(pyproject.read_text())
    project = data["project"]
    return [*data["build-system"]["requires"], *project["dependencies"],
            *project["optional-dependencies"]["server"]]


if __name__ == "__main__":
    sys.stdout.write("".join(f"{line}\n" for line in server_requirements()))
