"""SQLite's search index, a file of its own that a thread keeps up to date: a search finds
what was acknowledged before it, waits while the index catches up and says so if it cannot,
and the index is rebuilt when it is missing, broken or ahead of the database."""

from __future__ import annotations

import shutil
import sqlite3
from contextlib import closing
from pathlib import Path

import pytest

from hubbub.core.events import Message, MessageEdited
from hubbub.core.models import RoomKind
from hubbub.errors import Unavailable
from hubbub.storage import sqlite as sqlite_storage
from hubbub.storage.sqlite import SQLiteStorage
from hubbub.storage.sqlite_search import index_path

NOW = 1_700_000_000_000


async def say(store: SQLiteStorage, body: str) -> Message:
    message = Message(room="r", seq=0, ts=NOW, user="alice", msg_id="m-" + body, body=body)
    return (await store.append(message)).event


async def found(store: SQLiteStorage, query: str) -> list[str]:
    return [f.body for f in (await store.search("alice", query, None, None, 20)).found]


async def room(store: SQLiteStorage) -> None:
    await store.create_user("alice", "hash", NOW)
    await store.create_room("r", RoomKind.PUBLIC, "alice", NOW)


async def test_each_acknowledged_message_is_found_by_the_next_search(tmp_path: Path) -> None:
    async with SQLiteStorage(tmp_path / "hubbub.sqlite3") as store:
        await room(store)
        for n in range(30):  # each search right after its message's commit
            await say(store, f"lunch order {n:03d}")
            assert await found(store, f"order {n:03d}") == [f"lunch order {n:03d}"]
    assert index_path(tmp_path / "hubbub.sqlite3").exists()


async def test_a_search_waits_for_the_index_and_says_when_it_cannot(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sqlite_storage, "SEARCH_INDEX_WAIT", 0.2)
    async with SQLiteStorage(tmp_path / "hubbub.sqlite3") as store:
        await room(store)
        await say(store, "before the lock")
        assert await found(store, "before the") == ["before the lock"]
        # Another connection holds the index's write lock: the index cannot follow.
        with closing(sqlite3.connect(index_path(store.path), isolation_level=None)) as other:
            other.execute("BEGIN IMMEDIATE")
            await say(store, "while it is held")
            with pytest.raises(Unavailable, match="catching up"):
                await found(store, "while it")
            other.execute("COMMIT")
        monkeypatch.setattr(sqlite_storage, "SEARCH_INDEX_WAIT", 10.0)
        assert await found(store, "while it") == ["while it is held"]


async def test_a_missing_or_broken_index_is_built_again_from_the_database(tmp_path: Path) -> None:
    path = tmp_path / "hubbub.sqlite3"
    async with SQLiteStorage(path) as store:
        await room(store)
        first = await say(store, "first words")
        await say(store, "second words")
        await store.edit_message(
            MessageEdited(room="r", seq=0, ts=NOW, user="alice", target=first.seq, body="changed")
        )
    index_path(path).unlink()
    async with SQLiteStorage(path) as store:
        assert await found(store, "words") == ["second words"]
        assert await found(store, "changed") == ["changed"]
    index_path(path).write_bytes(b"not a database at all")
    async with SQLiteStorage(path) as store:
        assert await found(store, "words") == ["second words"]


async def test_an_index_ahead_of_a_restored_database_is_built_again(tmp_path: Path) -> None:
    path = tmp_path / "hubbub.sqlite3"
    backup = tmp_path / "backup.sqlite3"
    async with SQLiteStorage(path) as store:
        await room(store)
        await say(store, "kept in the backup")
    shutil.copy(path, backup)  # closed: the whole database is in the file
    async with SQLiteStorage(path) as store:
        await say(store, "written after the backup")
        await say(store, "and more after the backup")
    shutil.copy(backup, path)  # restored; the index still holds the later messages
    async with SQLiteStorage(path) as store:
        assert await found(store, "backup") == ["kept in the backup"]
        await say(store, "new after the restore")
        assert await found(store, "after the") == ["new after the restore"]


async def test_changes_go_on_after_the_applied_ones_are_forgotten(tmp_path: Path) -> None:
    path = tmp_path / "hubbub.sqlite3"
    async with SQLiteStorage(path) as store:
        await room(store)
        first = await say(store, "original text")

        async def edit(body: str) -> None:
            change = MessageEdited(
                room="r", seq=0, ts=NOW, user="alice", target=first.seq, body=body
            )
            await store.edit_message(change)
            assert await found(store, body) == [body]  # the index applied it

        await edit("edited once")
        await store.compact()  # forgets the changes the index applied
        with closing(sqlite3.connect(path)) as db:
            assert db.execute("SELECT count(*) FROM search_changes").fetchone() == (0,)
        await edit("edited twice")
        assert await found(store, "edited once") == []
    before = index_path(path).stat().st_ino
    async with SQLiteStorage(path) as store:  # the index is the database's: kept, not rebuilt
        assert await found(store, "twice") == ["edited twice"]
    assert index_path(path).stat().st_ino == before
