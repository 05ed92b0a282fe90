"""SQLite storage when the storage itself fails: a database file removed, a table gone, a
writer thread that dies, an ``on_events`` callback that raises.

Every awaitable must resolve (with ``Unavailable``), nothing may hang, each run of failures is
logged once, and storage works again once the fault is gone.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import os
import sqlite3
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest

from hubbub.core.events import Event, Message
from hubbub.core.models import RoomKind
from hubbub.errors import Unavailable
from hubbub.storage.sqlite import SQLiteStorage

NOW = 1_764_000_000_000
LOG = "hubbub.storage.sqlite"


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "hubbub.sqlite3"


@pytest.fixture
async def store(db_path: Path) -> AsyncIterator[SQLiteStorage]:
    """Open storage with a user and a room, and no read done yet (no reader connection)."""
    async with SQLiteStorage(db_path, restart_delay=0.05) as s:
        await s.create_user("alice", "hash", NOW)
        await s.create_room("team", RoomKind.PUBLIC, "alice", NOW)
        yield s


async def eventually(check: Callable[[], Awaitable[bool] | bool], timeout: float = 10.0) -> None:
    """Until ``check()`` holds, asking again every few milliseconds, at most ``timeout`` s."""
    async with asyncio.timeout(timeout):
        while True:
            result = check()
            if await result if inspect.isawaitable(result) else result:
                return
            await asyncio.sleep(0.01)


async def healthy(store: SQLiteStorage) -> bool:
    try:
        await store.check()
    except Unavailable:
        return False
    return True


def message(client_msg_id: str, body: str, msg_id: str) -> Message:
    return Message(
        room="team",
        seq=0,
        ts=NOW,
        user="alice",
        msg_id=msg_id,
        client_msg_id=client_msg_id,
        body=body,
    )


def records(caplog: pytest.LogCaptureFixture, level: int) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == LOG and r.levelno >= level]


def kill_writer(store: SQLiteStorage) -> Awaitable[Any]:
    """A fault injected through the normal write path: a job that ends the writer thread."""

    def job(db: sqlite3.Connection, events: list[Event]) -> None:
        raise SystemExit("injected fault")

    return store._submit(job)


# --- reads ---------------------------------------------------------------------------------


async def test_reads_of_a_removed_database_file_are_unavailable_and_logged_once(
    store: SQLiteStorage, db_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    saved = db_path.with_suffix(".saved")
    os.rename(db_path, saved)  # removed, as far as a new connection can tell
    caplog.set_level(logging.INFO, LOG)

    results = await asyncio.wait_for(
        asyncio.gather(*(store.password_hash("alice") for _ in range(20)), return_exceptions=True),
        10,
    )

    assert all(isinstance(r, Unavailable) for r in results), results
    assert not await healthy(store)
    errors = records(caplog, logging.ERROR)
    assert len(errors) == 1, [r.getMessage() for r in errors]
    assert errors[0].exc_info is None  # one line, no traceback
    assert not db_path.exists()  # a reader never creates an empty database in its place

    os.replace(saved, db_path)
    assert await store.password_hash("alice") == "hash"
    assert await healthy(store)


async def test_a_read_error_on_an_open_connection_is_unavailable_until_fixed(
    store: SQLiteStorage, db_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    assert [info.name for info in await store.user_rooms("alice")] == ["team"]
    with closing(sqlite3.connect(db_path, isolation_level=None)) as other:
        other.execute("ALTER TABLE members RENAME TO members_gone")
        caplog.set_level(logging.INFO, LOG)
        for _ in range(5):
            with pytest.raises(Unavailable):
                await asyncio.wait_for(store.user_rooms("alice"), 10)
        assert len(records(caplog, logging.ERROR)) == 1
        other.execute("ALTER TABLE members_gone RENAME TO members")
    assert [info.name for info in await store.user_rooms("alice")] == ["team"]


# --- the writer ----------------------------------------------------------------------------


async def test_a_dead_writer_fails_pending_and_new_writes_at_once_then_restarts(
    store: SQLiteStorage, db_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, LOG)
    assert await healthy(store)
    killed = kill_writer(store)
    behind = store.create_user("bob", "hash", NOW)  # queued behind the fault

    with pytest.raises(Unavailable):
        await asyncio.wait_for(killed, 10)
    with pytest.raises(Unavailable):
        await asyncio.wait_for(behind, 10)
    # Keep it down: a fresh connection cannot open a database file that is not there.
    saved = db_path.with_suffix(".saved")
    os.rename(db_path, saved)

    later = [store.create_user(f"user{i}", "hash", NOW) for i in range(50)]
    assert all(isinstance(f, asyncio.Future) and f.done() for f in later)  # failed at once
    for future in later:
        with pytest.raises(Unavailable):
            await future
    assert not await healthy(store)

    def tried_to_restart() -> bool:
        return any("cannot restart yet" in r.getMessage() for r in caplog.records)

    await eventually(tried_to_restart)
    assert not db_path.exists()  # the restart did not create an empty database
    assert not await healthy(store)

    os.rename(saved, db_path)
    await eventually(lambda: healthy(store))
    await store.create_user("bob", "hash", NOW)
    assert await store.password_hash("bob") == "hash"
    assert await store.password_hash("alice") == "hash"  # nothing committed was lost
    stopped = [r for r in records(caplog, logging.ERROR) if "writer stopped" in r.getMessage()]
    assert len(stopped) == 1  # once, not once per refused write
    assert len(records(caplog, logging.ERROR)) == 1


async def test_close_returns_while_the_writer_is_down(db_path: Path) -> None:
    store = SQLiteStorage(db_path, restart_delay=60)
    async with store:
        with pytest.raises(Unavailable):
            await asyncio.wait_for(kill_writer(store), 10)
        await asyncio.wait_for(store.close(), 10)  # not after the 60 s restart delay
    with pytest.raises(Unavailable):
        await asyncio.wait_for(store.check(), 10)


# --- publishing ----------------------------------------------------------------------------


async def test_a_failing_on_events_resolves_every_future_of_the_batch(
    store: SQLiteStorage, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(events: list[Event]) -> None:
        raise RuntimeError("a subscriber failed")

    store.on_events = broken
    caplog.set_level(logging.INFO, LOG)
    writes = [store.append(message(f"c{i}", f"body {i}", f"m{i}")) for i in range(5)]
    results = await asyncio.wait_for(asyncio.gather(*writes, return_exceptions=True), 10)

    assert all(isinstance(r, Unavailable) for r in results), results
    assert any("publishing" in r.getMessage() for r in records(caplog, logging.ERROR))
    # They were stored: a retry with the same client_msg_id gets the stored event.
    published: list[Event] = []
    store.on_events = published.extend
    again = await store.append(message("c0", "body 0?", "other"))
    assert again.duplicate and again.event.body == "body 0"
    assert published == []
