"""Where the bytes of files live: blobs named by the SHA-256 of their content.

``FileStore`` is the interface (an S3-compatible store could implement it); ``LocalFileStore``
keeps blobs in a directory that every node of a deployment shares (a local disk for one
node, NFS or the like for several):

    <dir>/blobs/ab/cd/abcd…   one file per blob, named by its digest (hex)
    <dir>/tmp/…               uploads being written; never read as blobs

A blob is written to a temporary file in ``tmp`` (the same filesystem), flushed to disk, then
renamed into place: a blob name always holds the whole content, whoever reads it, whatever
crashes. Putting a blob that exists already renames the new copy over it, which renews its
modification time: the sweep deletes only blobs untouched for a grace period, so a blob just
put, whose file row is not committed yet, is never swept (on any node).
"""

from __future__ import annotations

import abc
import asyncio
import contextlib
import hashlib
import os
import re
import secrets
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

_DIGEST = re.compile(r"[0-9a-f]{64}")
TEMP_PREFIX = "upload-"


def is_digest(name: str) -> bool:
    return _DIGEST.fullmatch(name) is not None


class Writer(abc.ABC):
    """One blob being written: ``write`` its bytes in order (hashed as they come), then
    ``commit`` to make it a blob, or ``abort`` to leave nothing. A writer neither committed
    nor aborted leaves a temporary file, which the sweep removes once it is old."""

    size: int

    @abc.abstractmethod
    async def write(self, data: bytes) -> None: ...

    @property
    @abc.abstractmethod
    def sha256(self) -> str:
        """The digest of what was written so far (hex)."""

    @property
    @abc.abstractmethod
    def path(self) -> Path:
        """The temporary file, to read what was written before committing (probing)."""

    @abc.abstractmethod
    async def commit(self) -> str:
        """Make what was written a blob; its digest."""

    @abc.abstractmethod
    async def abort(self) -> None:
        """Remove what was written (idempotent)."""


class FileStore(abc.ABC):
    """Blobs by SHA-256 digest (hex)."""

    @abc.abstractmethod
    def writer(self) -> Writer:
        """A new blob, to write in pieces."""

    async def put(self, data: bytes) -> str:
        """Store ``data`` (a thumbnail, an avatar) as a blob; its digest."""
        writer = self.writer()
        try:
            await writer.write(data)
            return await writer.commit()
        except BaseException:
            await writer.abort()
            raise

    @abc.abstractmethod
    def path(self, digest: str) -> Path:
        """The local file of the blob (it may not exist), to serve it from."""

    @abc.abstractmethod
    async def read(self, digest: str) -> bytes | None:
        """The whole blob (for small ones only), or None if there is none."""

    @abc.abstractmethod
    def blobs(self) -> Iterator[tuple[str, float]]:
        """Every blob's digest and the time (epoch seconds) it was last put. Blocking: run
        it in a thread."""

    @abc.abstractmethod
    def delete(self, digest: str, untouched_since: float) -> bool:
        """Delete the blob unless it was put at or after ``untouched_since`` (epoch
        seconds); whether it was deleted. Blocking."""

    @abc.abstractmethod
    def remove_stale_temps(self, older_than: float) -> int:
        """Remove temporary files left by uploads that died before ``older_than`` (epoch
        seconds: a live upload writes far more often); how many. Blocking."""


class LocalFileStore(FileStore):
    def __init__(self, root: Path) -> None:
        self.root = root
        self.blob_dir = root / "blobs"
        self.temp_dir = root / "tmp"

    def open(self) -> None:
        """Create the directories (blocking; once, at start)."""
        self.blob_dir.mkdir(parents=True, exist_ok=True)
        self.temp_dir.mkdir(parents=True, exist_ok=True)

    def writer(self) -> Writer:
        return _LocalWriter(self)

    def path(self, digest: str) -> Path:
        if not is_digest(digest):
            raise ValueError("not a SHA-256 digest")
        return self.blob_dir / digest[:2] / digest[2:4] / digest

    async def read(self, digest: str) -> bytes | None:
        try:
            return await asyncio.to_thread(self.path(digest).read_bytes)
        except FileNotFoundError:
            return None

    def blobs(self) -> Iterator[tuple[str, float]]:
        for first in _entries(self.blob_dir):
            for second in _entries(Path(first.path)):
                for entry in _entries(Path(second.path)):
                    if is_digest(entry.name):
                        with contextlib.suppress(FileNotFoundError):
                            yield entry.name, entry.stat(follow_symlinks=False).st_mtime

    def delete(self, digest: str, untouched_since: float) -> bool:
        path = self.path(digest)
        try:
            # Looked at again just before: a blob put again since it was listed stays.
            if path.stat().st_mtime >= untouched_since:
                return False
            path.unlink()
        except FileNotFoundError:
            return False
        return True

    def remove_stale_temps(self, older_than: float) -> int:
        removed = 0
        for entry in _entries(self.temp_dir):
            if not entry.name.startswith(TEMP_PREFIX):
                continue
            with contextlib.suppress(FileNotFoundError):
                if entry.stat(follow_symlinks=False).st_mtime < older_than:
                    os.unlink(entry.path)
                    removed += 1
        return removed


def _entries(folder: Path) -> list[os.DirEntry[str]]:
    try:
        with os.scandir(folder) as found:
            return [entry for entry in found if not entry.is_symlink()]
    except (FileNotFoundError, NotADirectoryError):
        return []


class _LocalWriter(Writer):
    """A temporary file in the store's ``tmp``, written and hashed in a thread (hashing and
    writes leave the event loop free; a slow disk or NFS does not stall it)."""

    def __init__(self, store: LocalFileStore) -> None:
        self._store = store
        name = f"{TEMP_PREFIX}{time.time_ns()}-{secrets.token_hex(8)}"
        self._path = store.temp_dir / name
        self._file: BinaryIO | None = None
        self._hash = hashlib.sha256()
        self._done = False
        # A write still running in its thread when the upload is cancelled finishes before
        # the abort removes the file (and one that starts after it writes nothing).
        self._lock = threading.Lock()
        self.size = 0

    @property
    def sha256(self) -> str:
        return self._hash.hexdigest()

    @property
    def path(self) -> Path:
        return self._path

    async def write(self, data: bytes) -> None:
        if self._done:
            raise RuntimeError("written after commit or abort")
        await asyncio.to_thread(self._write, data)
        self.size += len(data)

    def _write(self, data: bytes) -> None:
        with self._lock:
            if self._done:
                return
            self._append(data)

    def _append(self, data: bytes) -> None:
        if self._file is None:
            self._file = open(self._path, "xb")  # noqa: SIM115 - kept open across writes
        self._file.write(data)
        self._file.flush()  # on disk for whoever reads `path` before the commit (a probe)
        self._hash.update(data)

    async def commit(self) -> str:
        assert not self._done, "committed twice"
        try:
            digest = await asyncio.to_thread(self._commit)
        except BaseException:
            await self.abort()
            raise
        self._done = True
        return digest

    def _commit(self) -> str:
        if self._file is None:
            self._file = open(self._path, "xb")  # noqa: SIM115 - an empty blob
        self._file.flush()
        os.fsync(self._file.fileno())
        self._file.close()
        digest = self.sha256
        target = self._store.path(digest)
        target.parent.mkdir(parents=True, exist_ok=True)
        # Atomic, and over an existing copy too: the same bytes, with a fresh mtime.
        os.replace(self._path, target)
        _fsync_dir(target.parent)
        return digest

    async def abort(self) -> None:
        if self._done:
            return
        self._done = True
        await asyncio.to_thread(self._abort)

    def _abort(self) -> None:
        with self._lock:
            if self._file is not None:
                self._file.close()
            with contextlib.suppress(FileNotFoundError):
                os.unlink(self._path)


def _fsync_dir(folder: Path) -> None:
    """The rename itself durable, where the platform lets a directory be synced."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        with contextlib.suppress(OSError):
            os.fsync(fd)
    finally:
        os.close(fd)
