"""The sweep, with a real store and real storage on each engine: it removes what nothing refers
to and that is old enough, and nothing else."""

from __future__ import annotations

import os
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from hubbub.core.events import Message
from hubbub.core.files import FileInfo, StoredFile, file_ref
from hubbub.core.models import RoomKind
from hubbub.files.store import LocalFileStore
from hubbub.files.sweep import sweep
from hubbub.storage.base import Storage
from hubbub.storage.factory import build_storage, sqlite_url

STORAGE_ENGINES = ("sqlite", "postgresql")  # tests/conftest.py runs each test on each
NOW = 1_764_000_000_000
HOUR = 3600.0
DAY_MS = 86_400_000


@pytest.fixture
async def storage(storage_url: str, tmp_path: Path) -> AsyncIterator[Storage]:
    async with build_storage(storage_url or sqlite_url(tmp_path / "db.sqlite3")) as store:
        await store.create_user("alice", "h", NOW)
        await store.create_room("team", RoomKind.PUBLIC, "alice", NOW)
        yield store


@pytest.fixture
def files(tmp_path: Path) -> LocalFileStore:
    store = LocalFileStore(tmp_path / "files")
    store.open()
    return store


def aged(path: Path, seconds: float) -> None:
    then = time.time() - seconds
    os.utime(path, (then, then))


async def blob(files: LocalFileStore, content: bytes, age: float = 2 * HOUR) -> str:
    digest = await files.put(content)
    aged(files.path(digest), age)
    return digest


async def add(
    storage: Storage, file_id: str, digest: str, thumb: str | None = None, at: int = NOW
) -> None:
    info = FileInfo(id=file_id, name=file_id, size=10, type="image/png", thumb=bool(thumb))
    file = StoredFile(
        info=info,
        sha256=digest,
        thumb_sha256=thumb,
        uploader="alice",
        room="team",
        created_at=at,
    )
    await storage.add_file(file, 1 << 30)


async def test_the_sweep_removes_orphans_and_nothing_else(
    storage: Storage, files: LocalFileStore
) -> None:
    sent, thumb = await blob(files, b"sent"), await blob(files, b"sent's thumbnail")
    pending = await blob(files, b"pending, still in time")
    expired = await blob(files, b"pending too long")
    orphan = await blob(files, b"nothing refers to it")
    just_put = await blob(files, b"its row is not committed yet", age=60)
    await add(storage, "sent", sent, thumb, at=NOW - 3 * DAY_MS)
    await add(storage, "pending", pending, at=NOW - 1000)
    await add(storage, "expired", expired, at=NOW - 2 * DAY_MS)
    message = Message(
        room="team",
        seq=0,
        ts=NOW,
        user="alice",
        msg_id="m1",
        client_msg_id="c1",
        body="",
        files=(file_ref("sent"),),
    )
    await storage.append(message)
    dead, live = files.writer(), files.writer()
    await dead.write(b"an upload whose process died")
    await live.write(b"an upload still arriving")
    aged(dead.path, 2 * HOUR)

    swept = await sweep(storage, files, NOW, pending_ttl=DAY_MS / 1000, grace=HOUR)

    assert (swept.pending, swept.blobs, swept.temps) == (1, 2, 1)
    assert await storage.file("expired") is None
    assert await storage.file("pending") is not None and await storage.file("sent") is not None
    left = {digest for digest, _ in files.blobs()}
    assert left == {sent, thumb, pending, just_put}  # not expired's, nor orphan
    assert orphan not in left and expired not in left
    assert not dead.path.exists() and live.path.exists()
    again = await sweep(storage, files, NOW, pending_ttl=DAY_MS / 1000, grace=HOUR)
    assert (again.pending, again.blobs, again.temps) == (0, 0, 0)
    await dead.abort()
    await live.abort()


async def test_a_blob_put_again_since_it_was_old_is_kept(
    storage: Storage, files: LocalFileStore
) -> None:
    """A duplicate upload renews the blob's time before its row is committed: the sweep of
    that moment, on any node, leaves it."""
    digest = await blob(files, b"uploaded twice")  # old, and no row refers to it
    assert await files.put(b"uploaded twice") == digest  # the second upload, row to come
    swept = await sweep(storage, files, NOW, pending_ttl=HOUR, grace=HOUR)
    assert swept.blobs == 0
    assert [d for d, _ in files.blobs()] == [digest]
    # Much later, and still nothing refers to it: it goes.
    swept = await sweep(
        storage, files, NOW, pending_ttl=HOUR, grace=HOUR, wall=time.time() + 2 * HOUR
    )
    assert swept.blobs == 1 and list(files.blobs()) == []
