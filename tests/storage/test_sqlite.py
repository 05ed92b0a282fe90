"""What only the SQLite backend does, on a real database file: its schema and migrations,
WAL and ``synchronous=FULL``, and the writer thread's group commit (one transaction per
batch, a failing job rolled back alone). The guarantees every backend gives are in
``test_contract.py``; failures of the database itself in ``test_failures.py``."""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import threading
from collections.abc import AsyncIterator, Awaitable
from contextlib import asynccontextmanager, closing
from pathlib import Path
from typing import Any

import pytest
from support import Recorder, until

from hubbub.core.events import Event, Message, MessageDeleted, MessageEdited
from hubbub.core.models import RoomKind
from hubbub.errors import Conflict, Forbidden, NotFound
from hubbub.storage.base import Appended
from hubbub.storage.migrations import migrations
from hubbub.storage.sqlite import SQLiteStorage

NOW = 1_764_000_000_000
LATEST = max(number for number, _ in migrations("sqlite"))
TABLES = {"users", "tokens", "rooms", "members", "events"}


@asynccontextmanager
async def opened(path: Path, sink: Recorder | None = None) -> AsyncIterator[SQLiteStorage]:
    store = SQLiteStorage(path)
    if sink is not None:
        store.on_events = sink
    async with store:
        yield store


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "hubbub.sqlite3"


@pytest.fixture
def sink() -> Recorder:
    return Recorder()


@pytest.fixture
async def store(db_path: Path, sink: Recorder) -> AsyncIterator[SQLiteStorage]:
    async with opened(db_path, sink) as s:
        for user in ("alice", "bob"):
            await s.create_user(user, "hash-of-" + user, NOW)
        yield s


def append(
    store: SQLiteStorage, room: str, author: str, body: str, client_msg_id: str | None = None
) -> Awaitable[Appended[Message]]:
    message = Message(
        room=room,
        seq=0,
        ts=NOW,
        user=author,
        msg_id="m-" + (client_msg_id or body),
        client_msg_id=client_msg_id,
        body=body,
    )
    return store.append(message)


def look_at(path: Path) -> closing[sqlite3.Connection]:
    """A connection of our own to the database file, to look at what the storage wrote."""
    return closing(sqlite3.connect(path))


@asynccontextmanager
async def writer_held(store: SQLiteStorage) -> AsyncIterator[None]:
    """Hold the writer thread inside a job of its own until the block ends, so that every
    write queued in the block waits behind it: on release they are the next batch."""
    loop = asyncio.get_running_loop()
    inside = asyncio.Event()
    release = threading.Event()

    def gate(db: sqlite3.Connection, events: list[Event]) -> None:
        loop.call_soon_threadsafe(inside.set)
        if not release.wait(30):
            raise TimeoutError("the test never released the writer")

    held = store._submit(gate)
    await asyncio.wait_for(inside.wait(), 10)
    try:
        yield
    finally:
        release.set()
        await held


# --- schema and settings -------------------------------------------------------------------


async def test_migrations_create_the_schema_and_reopening_applies_nothing(
    db_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="hubbub.storage.sqlite")
    async with opened(db_path) as s:
        await s.create_user("alice", "h", NOW)
        await s.create_room("general", RoomKind.PUBLIC, "alice", NOW)
    applied = [r.getMessage() for r in caplog.records if "applied migration" in r.getMessage()]
    assert applied == [f"applied migration {n:04d}" for n, _ in migrations("sqlite")]
    with look_at(db_path) as db:
        assert db.execute("PRAGMA user_version").fetchone()[0] == LATEST
        tables = {n for (n,) in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        assert tables >= TABLES
        schema_before = db.execute("SELECT type, name, sql FROM sqlite_master").fetchall()

    caplog.clear()
    async with opened(db_path) as s:
        assert await s.password_hash("alice") is not None
        room = await s.get_room("general")
        assert room is not None and room.last_seq == 1
    assert not [r for r in caplog.records if "applied migration" in r.getMessage()]
    with look_at(db_path) as db:
        assert db.execute("PRAGMA user_version").fetchone()[0] == LATEST
        assert db.execute("SELECT type, name, sql FROM sqlite_master").fetchall() == schema_before


async def test_connections_use_wal_and_synchronous_full(
    store: SQLiteStorage, db_path: Path
) -> None:
    def pragmas(db: sqlite3.Connection, *_: Any) -> tuple[str, int]:
        return db.execute("PRAGMA journal_mode").fetchone()[0], db.execute(
            "PRAGMA synchronous"
        ).fetchone()[0]

    # The writer thread's connection, through a job of its own; a reader's, through a read.
    assert await store._submit(pragmas) == ("wal", 2)
    assert await store._read(pragmas) == ("wal", 2)
    with look_at(db_path) as db:
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"  # stored in the file
    assert db_path.with_name(db_path.name + "-wal").exists()


async def test_events_are_rows_of_the_events_table(store: SQLiteStorage, db_path: Path) -> None:
    await store.create_room("r", RoomKind.PUBLIC, "alice", NOW)
    await store.add_member("r", "bob", NOW, "alice")
    await append(store, "r", "bob", "hello", "c1")
    with look_at(db_path) as db:
        rows = db.execute(
            "SELECT seq, type, author, msg_id, client_msg_id, body, by_user FROM events"
            " ORDER BY seq"
        ).fetchall()
    assert rows == [
        (1, "member_joined", "alice", None, None, None, None),
        (2, "member_joined", "bob", None, None, None, "alice"),
        (3, "message", "bob", "m-c1", "c1", "hello", None),
    ]


# --- the writer's group commit -------------------------------------------------------------


async def test_writes_queued_behind_a_busy_writer_commit_together(
    store: SQLiteStorage, sink: Recorder
) -> None:
    await store.create_room("a", RoomKind.PUBLIC, "alice", NOW)
    await store.create_room("b", RoomKind.PUBLIC, "bob", NOW)
    sink.calls.clear()
    async with writer_held(store):
        writes = [
            append(store, *(("a", "alice") if i % 3 else ("b", "bob")), f"m{i}", f"c{i}")
            for i in range(500)
        ]
    results = await asyncio.gather(*writes)
    assert len(sink.calls) == 1  # one commit, one fsync, for the 500
    assert sink.calls[0] == [r.event for r in results]


async def test_a_failing_job_rolls_back_alone_and_the_rest_of_its_batch_commits(
    store: SQLiteStorage, sink: Recorder
) -> None:
    await store.create_room("open", RoomKind.PUBLIC, "alice", NOW)
    await store.create_room("closed", RoomKind.PRIVATE, "alice", NOW)
    sink.calls.clear()
    async with writer_held(store):
        jobs = [
            append(store, "open", "alice", "one"),
            append(store, "missing", "alice", "to nowhere"),
            append(store, "open", "alice", "two"),
            append(store, "open", "bob", "not a member of a public room"),
            append(store, "closed", "alice", "three"),
            store.add_member("closed", "nobody", NOW, "alice"),  # rolled back to its savepoint
            store.create_room("open", RoomKind.PUBLIC, "bob", NOW),  # a taken name
            append(store, "open", "alice", "four"),
        ]
    results = await asyncio.gather(*jobs, return_exceptions=True)
    assert [type(r) for r in results if isinstance(r, Exception)] == [
        NotFound,
        Forbidden,
        NotFound,
        Conflict,
    ]
    ok = [r.event for r in results if isinstance(r, Appended)]
    assert [(e.room, e.seq) for e in ok] == [("open", 2), ("open", 3), ("closed", 2), ("open", 4)]
    assert sink.calls == [ok]  # one commit carried the four messages, and nothing else
    assert await store.members("closed") == ["alice"]


# --- deleted means gone -----------------------------------------------------------------------


def _text_cells(db: sqlite3.Connection) -> list[str]:
    """Every text value of every table of the database."""
    tables = [n for (n,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
    cells: list[str] = []
    for table in tables:
        for row in db.execute(f'SELECT * FROM "{table}"'):
            cells += [value for value in row if isinstance(value, str)]
    return cells


async def test_a_deleted_body_is_in_no_table_and_nowhere_in_the_file(db_path: Path) -> None:
    secret, edited, kept = "zq-secret-body-1", "zq-secret-body-2", "zq-kept-body-3"
    async with opened(db_path) as s:
        await s.create_user("alice", "h", NOW)
        await s.create_room("r", RoomKind.PUBLIC, "alice", NOW)
        await append(s, "r", "alice", secret, "a1")  # seq 2
        await append(s, "r", "alice", kept, "a2")  # seq 3
        for n in range(20):  # rows after it on its page: its cell is freed, not moved
            await append(s, "r", "alice", f"filler {n} " * 20, f"f{n}")
        await s.edit_message(
            MessageEdited(room="r", seq=0, ts=NOW, user="alice", target=2, body=edited)
        )
        await s.delete_message(MessageDeleted(room="r", seq=0, ts=NOW, user="alice", target=2))
        with look_at(db_path) as db:
            cells = _text_cells(db)
        assert kept in cells  # the search sees bodies
        assert not [c for c in cells if secret in c or edited in c]
    # Closed: the log is checkpointed into the file, where the old cells were overwritten.
    files = [p for p in db_path.parent.iterdir() if p.name.startswith(db_path.name)]
    data = b"".join(p.read_bytes() for p in files)
    assert kept.encode() in data
    assert secret.encode() not in data and edited.encode() not in data


async def test_rows_written_before_edits_existed_read_back_and_their_creator_owns_the_room(
    db_path: Path,
) -> None:
    with closing(sqlite3.connect(db_path)) as db:
        first = migrations("sqlite")[0][1]
        db.executescript(first)
        db.executescript(
            "INSERT INTO users VALUES ('alice', 'h', 1), ('bob', 'h', 1);"
            "INSERT INTO rooms (id, name, kind, created_by, created_at, last_seq)"
            " VALUES (1, 'old', 'public', 'alice', 1, 2);"
            "INSERT INTO members (room_id, username, joined_at)"
            " VALUES (1, 'alice', 1), (1, 'bob', 1);"
            "INSERT INTO events (room_id, seq, type, author, ts, msg_id, client_msg_id, body)"
            " VALUES (1, 1, 'message', 'bob', 5, 'm1', 'b1', 'from before');"
            "INSERT INTO events (room_id, seq, type, author, ts, msg_id, client_msg_id, body)"
            " VALUES (1, 2, 'message', 'bob', 6, 'm2', 'b2', 'also before');"
            "PRAGMA user_version = 1;"
        )
    async with opened(db_path) as s:
        events = (await s.history("old", None, None, 10)).events
        assert events[0] == Message(
            room="old", seq=1, ts=5, user="bob", msg_id="m1", client_msg_id="b1", body="from before"
        )
        changed = await s.delete_message(
            MessageDeleted(room="old", seq=0, ts=NOW, user="alice", target=2)
        )
        assert changed.event is not None and changed.message.deleted


async def test_the_search_migration_indexes_the_messages_already_stored(db_path: Path) -> None:
    with closing(sqlite3.connect(db_path)) as db:
        for _, script in migrations("sqlite")[:4]:
            db.executescript(script)
        db.executescript(
            "INSERT INTO users VALUES ('bob', 'h', 1);"
            "INSERT INTO rooms (id, name, kind, created_by, created_at, last_seq)"
            " VALUES (1, 'old', 'public', 'bob', 1, 2);"
            "INSERT INTO members (room_id, username, joined_at) VALUES (1, 'bob', 1);"
            "INSERT INTO events (room_id, seq, type, author, ts, body)"
            " VALUES (1, 1, 'message', 'bob', 5, 'kept from before');"
            "INSERT INTO events (room_id, seq, type, author, ts, body, deleted)"
            " VALUES (1, 2, 'message', 'bob', 6, '', 1);"
            "PRAGMA user_version = 4;"
        )
    async with opened(db_path) as s:
        results = await s.search("bob", "FROM BEF", None, None, 5)
        assert [(f.seq, f.body, f.ranges) for f in results.found] == [
            (1, "kept from before", [(5, 13)])
        ]
        await s.delete_message(MessageDeleted(room="old", seq=0, ts=NOW, user="bob", target=1))
        assert not (await s.search("bob", "from bef", None, None, 5)).found


# --- checkpoints -----------------------------------------------------------------------------

BIG = 8000  # a body of two pages or so: a few hundred commits pass SQLite's 1000-page default


async def write_pages(store: SQLiteStorage, commits: int) -> None:
    await store.create_room("big", RoomKind.PUBLIC, "alice", NOW)
    for i in range(commits):  # one at a time: a commit each
        await append(store, "big", "alice", f"{i} " + "x" * BIG, client_msg_id=f"c{i}")


def size(path: Path) -> int:
    return path.stat().st_size if path.exists() else 0


async def test_the_writer_never_checkpoints_the_wal_itself(db_path: Path) -> None:
    # With the checkpointer idle, what is committed stays in the WAL: SQLite's own automatic
    # checkpoint (at 1000 pages, inside a commit) would have copied it into the database.
    async with SQLiteStorage(db_path, checkpoint_interval=3600) as store:
        await store.create_user("alice", "hash", NOW)
        before = size(db_path)
        await write_pages(store, 600)
        wal = db_path.with_name(db_path.name + "-wal")
        assert size(wal) > 4 * 1024 * 1024  # past the 1000 pages of the default
        assert size(db_path) == before


async def test_the_checkpointer_copies_the_wal_into_the_database_as_it_goes(
    db_path: Path,
) -> None:
    async with SQLiteStorage(db_path, checkpoint_interval=0.05) as store:
        await store.create_user("alice", "hash", NOW)
        await write_pages(store, 600)
        await until(lambda: size(db_path) > 4 * 1024 * 1024)  # while the storage is open
        page = await store.history("big", None, None, 1)  # and it reads on as before
        assert page.events[-1].seq == 601  # the room's creation, then the 600 messages
