"""Uploaded files, stored by content: `files/<sha256[:2]>/<sha256>`.

A client's file name is kept only as data, never used as a path, so no name can escape the
storage folder. The upload is streamed to a temporary file, size-limited, and its sha256 must
match the one the client declared before it is moved into place.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
import threading
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from pathlib import Path

SHA256_RE = re.compile(r"^[0-9a-f]{64}$")
DEFAULT_MAX_UPLOAD = 512 * 1024 * 1024


class UploadError(ValueError):
    """An upload that cannot be accepted; `status` is the HTTP status to answer."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


def header_name(value: str) -> str:
    """A file name from an X-Filename header: percent-encoded UTF-8 (what the client sends) or raw
    UTF-8 bytes, which HTTP servers hand over decoded as Latin-1."""
    from urllib.parse import unquote

    try:
        value = value.encode("latin-1").decode("utf-8")
    except (UnicodeEncodeError, UnicodeDecodeError):
        pass  # not raw UTF-8: keep what arrived
    return unquote(value, errors="replace")


def safe_name(name: str) -> str:
    """A display name without folders or control characters (the stored path never uses it)."""
    base = re.split(r"[\\/]", name or "")[-1]
    base = re.sub(r"[^\w.\- ]+", "_", base).strip(" .")
    return base[:200] or "file"


class FileStore:
    def __init__(self, root: str | Path, max_bytes: int = DEFAULT_MAX_UPLOAD) -> None:
        self.root = Path(root)
        self.max_bytes = max_bytes
        self.root.mkdir(parents=True, exist_ok=True)
        self.incoming = self.root / ".incoming"  # temp files of uploads in flight
        self.incoming.mkdir(exist_ok=True)
        self._pins: Counter[str] = Counter()
        self._pins_lock = threading.Lock()

    @contextmanager
    def pin(self, sha256: str) -> Iterator[None]:
        """Hold content an upload is about to store and record: removing an order that used the
        same content (server_bridge.cleanup) keeps the file until the upload's record is in."""
        sha256 = sha256.lower()
        with self._pins_lock:
            self._pins[sha256] += 1
        try:
            yield
        finally:
            with self._pins_lock:
                self._pins[sha256] -= 1
                if self._pins[sha256] <= 0:
                    del self._pins[sha256]

    def pinned(self, sha256: str) -> bool:
        with self._pins_lock:
            return sha256 in self._pins

    def path(self, sha256: str) -> Path:
        if not SHA256_RE.match(sha256):
            raise UploadError(f"not a sha256 hex digest: {sha256[:80]!r}")
        return self.root / sha256[:2] / sha256

    def has(self, sha256: str) -> bool:
        return self.path(sha256).is_file()

    def intact(self, sha256: str) -> bool:
        """Whether the stored file is there and still hashes to its name (a file changed on disk
        must not be served as what it was)."""
        path = self.path(sha256)
        if not path.is_file():
            return False
        digest = hashlib.sha256()
        with open(path, "rb") as handle:
            while chunk := handle.read(1 << 20):
                digest.update(chunk)
        return digest.hexdigest() == sha256

    async def save(self, chunks: AsyncIterator[bytes], declared_sha256: str) -> tuple[str, int]:
        """Stream an upload to disk; returns (sha256, size) once the digest matches."""
        declared = declared_sha256.lower()
        target = self.path(declared)
        digest, size = hashlib.sha256(), 0
        fd, tmp_name = tempfile.mkstemp(dir=self.incoming)
        try:
            with os.fdopen(fd, "wb") as handle:
                async for chunk in chunks:
                    size += len(chunk)
                    if size > self.max_bytes:
                        raise UploadError(f"upload is larger than the {self.max_bytes} byte limit", 413)
                    digest.update(chunk)
                    handle.write(chunk)
            actual = digest.hexdigest()
            if actual != declared:
                raise UploadError(f"sha256 mismatch: declared {declared}, received {actual}", 422)
            target.parent.mkdir(exist_ok=True)
            os.replace(tmp_name, target)
        finally:
            if os.path.exists(tmp_name):
                os.unlink(tmp_name)
        return declared, size


def ingest_copy(files: FileStore, source: Path) -> tuple[str, int]:
    """Copy a server-side file (the product library) into the store; returns (sha256, size)."""
    import shutil

    from engine.model.artifacts import sha256_file

    sha = sha256_file(source)
    target = files.path(sha)
    if not target.is_file():
        target.parent.mkdir(exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(dir=files.incoming)
        os.close(fd)
        try:
            shutil.copyfile(source, tmp_name)
            os.replace(tmp_name, target)
        finally:
            if os.path.exists(tmp_name):  # a full disk must not leave the partial copy behind
                os.unlink(tmp_name)
    return sha, target.stat().st_size


def library_path(library: Path | None, product: str) -> Path | None:
    """The product's STEP in the library folder; product names with folders never match."""
    if library is None or not re.fullmatch(r"[\w][\w.\- ]*", product or ""):
        return None
    for suffix in (".step", ".stp", ".STEP", ".STP"):
        candidate = library / f"{product}{suffix}"
        if candidate.is_file():
            return candidate
    return None
