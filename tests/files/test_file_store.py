"""The local file store on a real directory: blobs by content, written whole or not at all."""

from __future__ import annotations

import asyncio
import hashlib
import os
import time
from pathlib import Path

import pytest

from hubbub.files.store import LocalFileStore


@pytest.fixture
def store(tmp_path: Path) -> LocalFileStore:
    s = LocalFileStore(tmp_path / "files")
    s.open()
    return s


def temps(store: LocalFileStore) -> list[str]:
    return sorted(os.listdir(store.temp_dir))


async def test_a_blob_is_named_by_its_content_and_written_in_pieces(
    store: LocalFileStore,
) -> None:
    pieces = [os.urandom(70_000) for _ in range(5)]
    whole = b"".join(pieces)
    writer = store.writer()
    for piece in pieces:
        await writer.write(piece)
    assert writer.size == len(whole)
    assert writer.path.read_bytes() == whole  # readable before commit (to probe it)
    assert [d for d, _ in store.blobs()] == []  # not a blob until committed
    digest = await writer.commit()
    assert digest == hashlib.sha256(whole).hexdigest()
    path = store.path(digest)
    assert path == store.blob_dir / digest[:2] / digest[2:4] / digest
    assert path.read_bytes() == whole
    assert await store.read(digest) == whole
    assert [d for d, _ in store.blobs()] == [digest]
    assert temps(store) == []  # renamed into place, not copied


async def test_put_stores_bytes_and_a_second_put_renews_the_blob(store: LocalFileStore) -> None:
    digest = await store.put(b"avatar bytes")
    old = time.time() - 7200
    os.utime(store.path(digest), (old, old))
    assert await store.put(b"avatar bytes") == digest
    assert store.path(digest).stat().st_mtime > old + 3600  # touched: not swept now
    assert [d for d, _ in store.blobs()] == [digest]
    assert await store.read("0" * 64) is None
    with pytest.raises(ValueError):
        store.path("../../etc/passwd")


async def test_an_aborted_writer_leaves_nothing(store: LocalFileStore) -> None:
    writer = store.writer()
    await writer.write(b"half a file")
    assert len(temps(store)) == 1
    await writer.abort()
    await writer.abort()  # idempotent
    assert temps(store) == [] and list(store.blobs()) == []
    with pytest.raises(RuntimeError):
        await writer.write(b"more")


async def test_a_writer_cancelled_mid_write_leaves_nothing(store: LocalFileStore) -> None:
    writer = store.writer()

    async def upload() -> None:
        try:
            while True:
                await writer.write(os.urandom(1 << 20))
        except asyncio.CancelledError:
            await asyncio.shield(writer.abort())
            raise

    task = asyncio.create_task(upload())
    deadline = time.monotonic() + 10
    while writer.size < 3 << 20:
        assert time.monotonic() < deadline
        await asyncio.sleep(0.01)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert temps(store) == [] and list(store.blobs()) == []


async def test_only_blobs_untouched_since_the_cutoff_are_deleted(store: LocalFileStore) -> None:
    old_blob = await store.put(b"old")
    new_blob = await store.put(b"new")
    old = time.time() - 7200
    os.utime(store.path(old_blob), (old, old))
    cutoff = time.time() - 3600
    assert store.delete(new_blob, cutoff) is False
    assert store.delete(old_blob, cutoff) is True
    assert store.delete(old_blob, cutoff) is False  # gone already
    assert [d for d, _ in store.blobs()] == [new_blob]


async def test_stale_temporary_files_go_live_ones_stay(store: LocalFileStore) -> None:
    dead = store.writer()
    await dead.write(b"the process died here")
    live = store.writer()
    await live.write(b"still coming")
    old = time.time() - 7200
    os.utime(dead.path, (old, old))
    (store.temp_dir / "not-ours").write_bytes(b"x")
    assert store.remove_stale_temps(time.time() - 3600) == 1
    assert not dead.path.exists() and live.path.exists()
    assert (store.temp_dir / "not-ours").exists()
    assert list(store.blobs()) == []  # temporary files are never listed as blobs
    await dead.abort()
    await live.abort()
    assert temps(store) == ["not-ours"]
