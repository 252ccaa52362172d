"""Text written into media files, so a PNG or MP4 found on a share says where it came from:
PNG `tEXt` chunks, and an MP4's `moov/udta` comment (`©cmt`, which ffprobe shows as the
`comment` tag). Pure Python on the bytes: no Pillow (Debian's Blender has none), no FFmpeg.
"""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
MP4_COMMENT = b"\xa9cmt"
UNDETERMINED = 0x55C4  # ISO 639-2 'und', packed: tells readers the text is UTF-8 (codes < 0x400 mean Mac Roman)
_CONTAINERS = {b"moov", b"trak", b"mdia", b"minf", b"stbl", b"edts", b"dinf"}


class MediaTagError(ValueError):
    """The file is not the PNG or MP4 it claims to be (named in the message)."""


# --- PNG ------------------------------------------------------------------------------------------
def _png_chunks(data: bytes, path: Path) -> list[tuple[bytes, bytes]]:
    if not data.startswith(PNG_SIGNATURE):
        raise MediaTagError(f"{path.name}: not a PNG file")
    chunks, at = [], len(PNG_SIGNATURE)
    while at + 8 <= len(data):
        length, kind = struct.unpack(">I4s", data[at:at + 8])
        chunks.append((kind, data[at + 8:at + 8 + length]))
        at += 12 + length
        if kind == b"IEND":
            return chunks
    raise MediaTagError(f"{path.name}: PNG ends without an IEND chunk")


def _chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)


def tag_png(source: Path, target: Path, texts: dict[str, str]) -> Path:
    """Copy a PNG to `target` with `texts` as tEXt chunks before IEND (a key already there is
    replaced). Keys are 1-79 Latin-1 characters; values are written as Latin-1 (JSON is ASCII)."""
    data = source.read_bytes()
    kept = [(k, b) for k, b in _png_chunks(data, source)
            if not (k == b"tEXt" and b.split(b"\0", 1)[0].decode("latin-1") in texts)]
    extra = b"".join(_chunk(b"tEXt", key.encode("latin-1") + b"\0" + value.encode("latin-1", "replace"))
                     for key, value in texts.items())
    body = b"".join(_chunk(k, b) for k, b in kept if k != b"IEND")
    target.write_bytes(PNG_SIGNATURE + body + extra + _chunk(b"IEND", b""))
    return target


def png_texts(path: Path) -> dict[str, str]:
    """A PNG's tEXt chunks as a dict (what `tag_png` wrote, and whatever Blender wrote)."""
    found = {}
    for kind, body in _png_chunks(path.read_bytes(), path):
        if kind == b"tEXt" and b"\0" in body:
            key, value = body.split(b"\0", 1)
            found[key.decode("latin-1")] = value.decode("latin-1")
    return found


# --- MP4 ------------------------------------------------------------------------------------------
def _boxes(data: bytes, start: int, end: int, path: Path) -> list[tuple[bytes, int, int, int]]:
    """(type, box start, header size, box end) of the boxes in data[start:end]."""
    boxes, at = [], start
    while at + 8 <= end:
        size, kind = struct.unpack(">I4s", data[at:at + 8])
        header = 8
        if size == 1:
            size, header = struct.unpack(">Q", data[at + 8:at + 16])[0], 16
        elif size == 0:
            size = end - at
        if size < header or at + size > end:
            raise MediaTagError(f"{path.name}: box {kind!r} at byte {at} runs past its container")
        boxes.append((kind, at, header, at + size))
        at += size
    return boxes


def _shift_offsets(data: bytearray, start: int, end: int, by: int, path: Path) -> None:
    """Add `by` to every chunk offset (stco, co64) inside data[start:end]: the media data moved."""
    for kind, at, header, stop in _boxes(bytes(data), start, end, path):
        if kind in _CONTAINERS:
            _shift_offsets(data, at + header, stop, by, path)
        elif kind in (b"stco", b"co64"):
            count = struct.unpack(">I", data[at + header + 4:at + header + 8])[0]
            width, fmt = (4, ">I") if kind == b"stco" else (8, ">Q")
            for index in range(count):
                cell = at + header + 8 + index * width
                data[cell:cell + width] = struct.pack(fmt, struct.unpack(fmt, data[cell:cell + width])[0] + by)


def _text_atom(kind: bytes, text: str) -> bytes:
    """A QuickTime user-data text atom: size, type, text length, language, text."""
    body = text.encode("utf-8")
    return struct.pack(">I4sHH", 12 + len(body), kind, len(body), UNDETERMINED) + body


def tag_mp4(source: Path, target: Path, comment: str) -> Path:
    """Copy an MP4 to `target` with `comment` as moov/udta/©cmt (replacing one there). Growing
    moov moves what follows it, so chunk offsets are corrected when moov comes before mdat."""
    data = bytearray(source.read_bytes())
    if data[4:8] != b"ftyp":
        raise MediaTagError(f"{source.name}: not an MP4 file (it does not start with an ftyp box)")
    top = _boxes(bytes(data), 0, len(data), source)
    moov = next((b for b in top if b[0] == b"moov"), None)
    if moov is None or moov[2] != 8:
        raise MediaTagError(f"{source.name}: no MP4 movie box (moov) to write the comment into")
    _, m_start, _, m_end = moov
    children = _boxes(bytes(data), m_start + 8, m_end, source)
    udta = next((b for b in children if b[0] == b"udta"), None)
    atom = _text_atom(MP4_COMMENT, comment)
    if udta is None:
        new_udta, old = struct.pack(">I4s", 8 + len(atom), b"udta") + atom, (m_end, m_end)
    else:
        kept = b"".join(bytes(data[a:e]) for k, a, _, e in _boxes(bytes(data), udta[1] + 8, udta[3], source)
                        if k != MP4_COMMENT)
        new_udta, old = struct.pack(">I4s", 8 + len(kept) + len(atom), b"udta") + kept + atom, (udta[1], udta[3])
    grow = len(new_udta) - (old[1] - old[0])
    data[old[0]:old[1]] = new_udta
    data[m_start:m_start + 4] = struct.pack(">I", m_end - m_start + grow)
    if any(kind == b"mdat" and at > m_start for kind, at, _, _ in top):
        _shift_offsets(data, m_start + 8, m_end + grow, grow, source)
    target.write_bytes(bytes(data))
    return target


def mp4_comment(path: Path) -> str | None:
    """The moov/udta/©cmt text of an MP4, or None."""
    data = path.read_bytes()
    for kind, at, header, end in _boxes(data, 0, len(data), path):
        if kind != b"moov":
            continue
        for child, c_at, c_header, c_end in _boxes(data, at + header, end, path):
            if child != b"udta":
                continue
            for atom, a_at, _, _end in _boxes(data, c_at + c_header, c_end, path):
                if atom == MP4_COMMENT:
                    length = struct.unpack(">H", data[a_at + 8:a_at + 10])[0]
                    return data[a_at + 12:a_at + 12 + length].decode("utf-8", "replace")
    return None
