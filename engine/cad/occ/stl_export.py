"""One STL file per unique part (meshed beforehand), in the part's own coordinates (mm)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any


def write_part_stls(parts: list[tuple[str, Any]], folder: Path, binary: bool,
                    progress: Callable[[float], None], check_cancelled: Callable[[], None]) -> list[str]:
    """Write `<name>.stl` for each (file-safe name, meshed product label); returns the file names."""
    from OCP.StlAPI import StlAPI_Writer
    from OCP.XCAFDoc import XCAFDoc_ShapeTool

    shapes = [(name, XCAFDoc_ShapeTool.GetShape_s(label)) for name, label in parts]
    writer = StlAPI_Writer()
    writer.ASCIIMode = not binary
    names: list[str] = []
    for index, (name, shape) in enumerate(shapes, start=1):
        check_cancelled()
        file_name = f"{name}.stl"
        if not writer.Write(shape, str(folder / file_name)):
            raise OSError(f"could not write STL for part '{name}' in {folder}")
        names.append(file_name)
        progress(index / len(shapes))
    return names
