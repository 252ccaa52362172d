"""Which Blender version wrote a .blend file, read from its header without Blender.

A Blender refuses files written by a newer Blender ("incomplete header"), so the template
library compares this version with the running Blender's before it loads a file. Headers are
`BLENDER-v403` (Blender ≤ 4.x: pointer size, endianness, 3 digits) or `BLENDER17-01v0500`
(Blender 5: header size, format version, 4 digits); the file may be plain, gzip or zstd
(Blender's default). zstd is read with `zstandard` when importable, otherwise by a small reader
of the first block that covers what Blender writes (the header frame's literals are raw).
"""

from __future__ import annotations

import gzip
import re
from pathlib import Path

ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"
GZIP_MAGIC = b"\x1f\x8b"
HEADER = re.compile(rb"BLENDER(?:[_-][vV](\d{3})|\d{2}-\d{2}[vV](\d{4}))")


def _zstd_first_literals(data: bytes) -> bytes:
    """The first bytes of a zstd frame's content when its first block is raw, RLE, or compressed
    with raw literals; b'' otherwise (the literals precede any match, so they start the content)."""
    if len(data) < 8 or data[:4] != ZSTD_MAGIC:
        return b""
    fhd = data[4]
    single = (fhd >> 5) & 1
    pos = 5 + (0 if single else 1) + (0, 1, 2, 4)[fhd & 3] + ((1 if single else 0), 2, 4, 8)[fhd >> 6]
    block = int.from_bytes(data[pos:pos + 3], "little")
    kind, size, pos = (block >> 1) & 3, block >> 3, pos + 3
    if kind == 0:
        return data[pos:pos + size]
    if kind == 1:
        return data[pos:pos + 1] * min(size, 64)
    if kind != 2:
        return b""
    b0 = data[pos]
    literal_kind, size_format = b0 & 3, (b0 >> 2) & 3
    if literal_kind not in (0, 1):  # Huffman-coded literals: leave it to zstandard
        return b""
    if size_format in (0, 2):
        length, start = b0 >> 3, pos + 1
    elif size_format == 1:
        length, start = (b0 >> 4) + (data[pos + 1] << 4), pos + 2
    else:
        length, start = (b0 >> 4) + (data[pos + 1] << 4) + (data[pos + 2] << 12), pos + 3
    return data[start:start + length] if literal_kind == 0 else data[start:start + 1] * min(length, 64)


def _zstd_prefix(data: bytes) -> bytes:
    try:
        import zstandard
    except ImportError:
        return _zstd_first_literals(data)
    try:
        return zstandard.ZstdDecompressor().decompressobj().decompress(data)[:64]
    except zstandard.ZstdError:
        return b""


def header_bytes(path: Path) -> bytes:
    """The first bytes of the uncompressed file; OSError when it cannot be read."""
    with open(path, "rb") as handle:
        head = handle.read(4096)
    if head.startswith(ZSTD_MAGIC):
        return _zstd_prefix(head)
    if head.startswith(GZIP_MAGIC):
        try:
            with gzip.open(path, "rb") as handle:
                return handle.read(64)
        except (OSError, EOFError):
            return b""
    return head[:64]


def blend_version(path: str | Path) -> tuple[int, int] | None:
    """(major, minor) of the Blender that saved `path`; None when the header is not recognised."""
    match = HEADER.match(header_bytes(Path(path)))
    if match is None:
        return None
    number = int(match.group(1) or match.group(2))
    return number // 100, number % 100


def version_text(version: tuple[int, ...] | None) -> str:
    return ".".join(str(part) for part in version) if version else "an unknown version"
