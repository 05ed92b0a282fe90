"""SQLite storage on a real database file: schema, durability settings, seq allocation, group
commit, idempotence, paging, replay, read markers and shutdown."""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from collections.abc import AsyncIterator, Awaitable
from contextlib import asynccontextmanager, closing
from pathlib import Path
from typing import Any

import pytest

from hubbub.core.models import Event, EventType, RoomKind
from hubbub.errors import Conflict, Forbidden, NotFound, Unavailable
from hubbub.storage.base import Appended
from hubbub.storage.migrations import migrations
from hubbub.storage.sqlite import SQLiteStorage

NOW = 1_764_000_000_000
LATEST = max(number for number, _ in migrations("sqlite"))
TABLES = {"users", "tokens", "rooms", "members", "events"}


class Recorder:
    """An ``on_events`` sink that keeps every call separately."""

    def __init__(self) -> None:
        self.calls: list[list[Event]] = []

    def __call__(self, events: list[Event]) -> None:
        self.calls.append(list(events))

    @property
    def events(self) -> list[Event]:
        return [event for call in self.calls for event in call]


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
        for user in ("alice", "bob", "carol"):
            await s.create_user(user, "hash-of-" + user, NOW)
        yield s


def append(
    store: SQLiteStorage,
    room: str,
    author: str,
    body: str,
    client_msg_id: str | None = None,
    require_member: bool = True,
) -> Awaitable[Appended]:
    return store.append_message(
        room,
        author,
        client_msg_id,
        body,
        msg_id="m-" + (client_msg_id or body),
        now=NOW,
        require_member=require_member,
    )


def look_at(path: Path) -> closing[sqlite3.Connection]:
    """A connection of our own to the database file, to look at what the storage wrote."""
    return closing(sqlite3.connect(path))


@asynccontextmanager
async def writer_held(store: SQLiteStorage, path: Path) -> AsyncIterator[None]:
    """Hold the database's write lock from another connection, so that the writer thread
    waits inside a commit while the test queues jobs behind it; they then form one batch."""
    other = sqlite3.connect(path, isolation_level=None)
    try:
        other.execute("BEGIN IMMEDIATE")
        plug = store.ensure_room("plug", RoomKind.PUBLIC, NOW)
        # The writer has taken the plug once the queue is empty; it then blocks on the lock.
        while store._jobs.qsize():
            await asyncio.sleep(0.001)
        await asyncio.sleep(0.05)
        try:
            yield
        finally:
            other.execute("COMMIT")
        await plug
    finally:
        other.close()


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


# --- seq allocation ------------------------------------------------------------------------


async def test_seq_runs_from_one_without_holes_per_room(
    store: SQLiteStorage, sink: Recorder
) -> None:
    await store.create_room("red", RoomKind.PUBLIC, "alice", NOW)
    await store.create_room("blue", RoomKind.PRIVATE, "bob", NOW)
    pending = []
    for i in range(40):  # interleaved, all queued before any is awaited
        pending.append(append(store, "red", "alice", f"red {i}"))
        pending.append(append(store, "blue", "bob", f"blue {i}"))
    results = await asyncio.gather(*pending)
    red = [r.event.seq for r in results if r.event.room == "red"]
    blue = [r.event.seq for r in results if r.event.room == "blue"]
    assert red == list(range(2, 42))  # seq 1 is the creator's member_joined
    assert blue == list(range(2, 42))
    for room in ("red", "blue"):
        page = await store.history(room, None, None, 200)
        assert [e.seq for e in page.events] == list(range(1, 42))
        assert page.events[0].type == EventType.MEMBER_JOINED
        assert [e.body for e in page.events[1:]] == [f"{room} {i}" for i in range(40)]
        stored = await store.get_room(room)
        assert stored is not None and stored.last_seq == 41
    published = [(e.room, e.seq) for e in sink.events if e.room in ("red", "blue")]
    assert sorted(published) == sorted({(r, s) for r in ("red", "blue") for s in range(1, 42)})


async def test_a_failing_job_rolls_back_alone_and_the_rest_of_its_batch_commits(
    store: SQLiteStorage, sink: Recorder, db_path: Path
) -> None:
    await store.create_room("open", RoomKind.PUBLIC, "alice", NOW)
    await store.create_room("closed", RoomKind.PRIVATE, "alice", NOW)
    sink.calls.clear()
    async with writer_held(store, db_path):
        jobs = [
            append(store, "open", "alice", "one"),
            append(store, "missing", "alice", "to nowhere"),
            append(store, "open", "alice", "two"),
            append(store, "open", "mallory", "not a member of a public room"),
            append(store, "closed", "alice", "three"),
            append(store, "closed", "bob", "not a member of a private room"),
            store.create_room("open", RoomKind.PUBLIC, "bob", NOW),  # a taken name
            append(store, "open", "alice", "four"),
        ]
    results = await asyncio.gather(*jobs, return_exceptions=True)
    assert isinstance(results[1], NotFound)
    assert isinstance(results[3], Forbidden)
    assert isinstance(results[5], NotFound)  # a private room looks like a missing one
    assert isinstance(results[6], Conflict)
    ok = [r for r in results if isinstance(r, Appended)]
    assert [(a.event.room, a.event.seq, a.event.body) for a in ok] == [
        ("open", 2, "one"),
        ("open", 3, "two"),
        ("closed", 2, "three"),
        ("open", 4, "four"),
    ]
    # One commit carried the four messages, and nothing of the failed jobs.
    batches = [call for call in sink.calls if any(e.room != "plug" for e in call)]
    assert len(batches) == 1
    assert [(e.room, e.seq, e.body) for e in batches[0]] == [
        (a.event.room, a.event.seq, a.event.body) for a in ok
    ]
    page = await store.history("open", None, None, 50)
    assert [e.body for e in page.events[1:]] == ["one", "two", "four"]
    assert [e.seq for e in page.events] == [1, 2, 3, 4]
    assert await store.members("open") == ["alice"]
    assert await store.get_room("missing") is None


async def test_group_commit_batches_and_publishes_before_resolving(
    store: SQLiteStorage, sink: Recorder
) -> None:
    await store.create_room("a", RoomKind.PUBLIC, "alice", NOW)
    await store.create_room("b", RoomKind.PUBLIC, "bob", NOW)
    sink.calls.clear()
    futures: dict[str, Any] = {}
    resolved_before_published: list[str] = []

    def on_events(events: list[Event]) -> None:
        for event in events:
            future = futures.get(event.client_msg_id or "")
            if future is None or future.done():
                resolved_before_published.append(repr(event))
        sink(events)

    store.on_events = on_events
    for i in range(500):
        room, author = ("a", "alice") if i % 3 else ("b", "bob")
        cmid = f"c{i}"
        futures[cmid] = append(store, room, author, f"msg {i}", client_msg_id=cmid)
    results = await asyncio.gather(*futures.values())

    assert not resolved_before_published
    commits = len(sink.calls)
    assert 1 <= commits <= 25, f"{commits} commits for 500 appends"
    published = sink.events
    assert len(published) == 500
    for room, author in (("a", "alice"), ("b", "bob")):
        seqs = [e.seq for e in published if e.room == room]
        assert seqs == list(range(2, 2 + len(seqs)))
        mine = [r.event for r in results if r.event.room == room]
        assert [e.seq for e in mine] == seqs  # submission order is commit order
        assert all(e.user == author for e in mine)
    assert {r.event.client_msg_id for r in results} == set(futures)


async def test_membership_checks_and_guest_messages(store: SQLiteStorage) -> None:
    await store.ensure_room("lobby", RoomKind.PUBLIC, NOW)
    with pytest.raises(Forbidden):
        await append(store, "lobby", "guest:zed", "hi")
    guest = await append(store, "lobby", "guest:zed", "hi", require_member=False)
    assert (guest.event.seq, guest.event.user, guest.event.body) == (1, "guest:zed", "hi")

    await store.create_room("r", RoomKind.PUBLIC, "alice", NOW)
    joined = await store.add_member("r", "bob", NOW, None)
    assert joined.event is not None and joined.event.seq == 2
    assert (await store.add_member("r", "bob", NOW, None)).event is None  # already in
    with pytest.raises(NotFound):
        await store.add_member("r", "nobody", NOW, None)
    await append(store, "r", "bob", "bye")
    left = await store.remove_member("r", "bob", NOW)
    assert left is not None and (left.type, left.seq, left.user) == (
        EventType.MEMBER_LEFT,
        4,
        "bob",
    )
    assert await store.remove_member("r", "bob", NOW) is None
    with pytest.raises(Forbidden):
        await append(store, "r", "bob", "still here?")
    assert await store.room_info("r", "bob") is None
    assert await store.members("r") == ["alice"]
    room = await store.get_room("r")
    assert room is not None and room.last_seq == 4


# --- idempotence ---------------------------------------------------------------------------


async def test_a_duplicate_client_msg_id_returns_the_stored_event(
    store: SQLiteStorage, sink: Recorder
) -> None:
    await store.create_room("general", RoomKind.PUBLIC, "alice", NOW)
    first = await store.append_message("general", "alice", "cm-1", "hello", "id-1", NOW)
    assert not first.duplicate and first.event.seq == 2
    sink.calls.clear()

    again = await store.append_message("general", "alice", "cm-1", "hello?", "id-2", NOW + 5)
    assert again.duplicate
    assert again.event == first.event  # the stored body, msg_id, seq and ts
    assert sink.calls == []  # nothing new was published

    # Twice in the same batch: the second sees the first.
    a, b = await asyncio.gather(
        store.append_message("general", "alice", "cm-2", "x", "id-3", NOW),
        store.append_message("general", "alice", "cm-2", "x", "id-4", NOW),
    )
    assert (a.duplicate, b.duplicate) == (False, True)
    assert b.event == a.event and a.event.seq == 3

    # The same client_msg_id from another author is another message.
    await store.add_member("general", "bob", NOW, None)
    other = await store.append_message("general", "bob", "cm-1", "mine", "id-5", NOW)
    assert not other.duplicate and other.event.seq == 5
    page = await store.history("general", None, None, 50)
    assert [e.seq for e in page.events] == [1, 2, 3, 4, 5]
    assert [e.body for e in page.events if e.type == EventType.MESSAGE] == ["hello", "x", "mine"]

    # Reused for another room, it is a client's mistake: refused, nothing stored.
    await store.create_room("other", RoomKind.PUBLIC, "alice", NOW)
    with pytest.raises(Conflict):
        await store.append_message("other", "alice", "cm-1", "elsewhere", "id-6", NOW)
    assert [e.type for e in (await store.history("other", None, None, 50)).events] == [
        EventType.MEMBER_JOINED
    ]


# --- reads ---------------------------------------------------------------------------------


async def test_history_pages_return_every_event_once_in_order(store: SQLiteStorage) -> None:
    await store.create_room("big", RoomKind.PUBLIC, "alice", NOW)
    await asyncio.gather(*(append(store, "big", "alice", f"m{i}") for i in range(250)))
    everything = list(range(1, 252))

    backwards: list[int] = []
    before = None
    while True:
        page = await store.history("big", before, None, 40)
        seqs = [e.seq for e in page.events]
        assert seqs == sorted(seqs) and len(seqs) <= 40
        backwards = seqs + backwards
        if not page.has_more:
            break
        assert len(seqs) == 40
        before = seqs[0]
    assert backwards == everything

    forwards: list[int] = []
    after = 0
    while True:
        page = await store.history("big", None, after, 60)
        seqs = [e.seq for e in page.events]
        forwards += seqs
        if not page.has_more:
            break
        after = seqs[-1]
    assert forwards == everything

    exact = await store.history("big", None, None, 251)
    assert [e.seq for e in exact.events] == everything and not exact.has_more
    one_short = await store.history("big", None, None, 250)
    assert [e.seq for e in one_short.events] == everything[1:] and one_short.has_more
    assert (await store.history("big", 1, None, 10)) == ([], False)
    assert (await store.history("big", None, 251, 10)) == ([], False)
    with pytest.raises(NotFound):
        await store.history("nowhere", None, None, 10)


async def test_replay_since_is_all_or_nothing(store: SQLiteStorage) -> None:
    await store.create_room("r", RoomKind.PUBLIC, "alice", NOW)
    await asyncio.gather(*(append(store, "r", "alice", f"m{i}") for i in range(10)))  # 2..11

    replay = await store.replay_since("r", 3, 1000)
    assert replay.last_seq == 11
    assert replay.events is not None
    assert [e.seq for e in replay.events] == list(range(4, 12))
    assert [e.body for e in replay.events] == [f"m{i}" for i in range(2, 10)]

    at_bound = await store.replay_since("r", 3, 8)
    assert at_bound.events is not None and len(at_bound.events) == 8
    over = await store.replay_since("r", 3, 7)
    assert over.events is None and over.last_seq == 11
    assert await store.replay_since("r", 11, 5) == ([], 11)
    whole = await store.replay_since("r", 0, 11)
    assert whole.events is not None and [e.seq for e in whole.events] == list(range(1, 12))
    with pytest.raises(NotFound):
        await store.replay_since("nowhere", 0, 10)


async def test_mark_read_never_moves_back_nor_past_last_seq(store: SQLiteStorage) -> None:
    await store.create_room("r", RoomKind.PUBLIC, "alice", NOW)
    await asyncio.gather(*(append(store, "r", "alice", f"m{i}") for i in range(9)))  # 2..10

    assert await store.mark_read("r", "alice", 5) == 5
    assert await store.mark_read("r", "alice", 3) == 5
    assert await store.mark_read("r", "alice", 0) == 5
    assert await store.mark_read("r", "alice", 999) == 10
    info = await store.room_info("r", "alice")
    assert info is not None and (info.read_seq, info.last_seq) == (10, 10)
    await append(store, "r", "alice", "later")
    assert await store.mark_read("r", "alice", 7) == 10
    assert await store.mark_read("r", "alice", 11) == 11
    with pytest.raises(NotFound):
        await store.mark_read("r", "bob", 3)  # not a member
    with pytest.raises(NotFound):
        await store.mark_read("nowhere", "alice", 3)


async def test_unread_counts_only_messages_of_others(store: SQLiteStorage) -> None:
    await store.create_room("r", RoomKind.PUBLIC, "alice", NOW)  # seq 1
    await store.add_member("r", "bob", NOW, None)  # seq 2: bob has read up to his join
    for body in ("a1", "a2", "a3"):
        await append(store, "r", "alice", body)
    for body in ("b1", "b2"):
        await append(store, "r", "bob", body)
    await store.add_member("r", "carol", NOW, "alice")  # seq 8, not a message

    def unread(infos: list[Any]) -> dict[str, int]:
        return {i.name: i.unread for i in infos}

    assert unread(await store.user_rooms("alice")) == {"r": 2}
    assert unread(await store.user_rooms("bob")) == {"r": 3}
    assert unread(await store.user_rooms("carol")) == {"r": 0}
    await store.mark_read("r", "bob", 4)
    assert unread(await store.user_rooms("bob")) == {"r": 1}
    await store.mark_read("r", "alice", 8)
    rooms = await store.user_rooms("alice")
    assert [(i.name, i.last_seq, i.read_seq, i.unread) for i in rooms] == [("r", 8, 8, 0)]


async def test_open_dm_is_idempotent(store: SQLiteStorage, sink: Recorder) -> None:
    name = "dm:alice:bob"
    first = await store.open_dm(name, ("alice", "bob"), "alice", NOW)
    assert first.info.name == name and first.info.kind == RoomKind.DM
    created = [(e.type, e.user, e.by) for e in sink.events if e.room == name]
    assert created == [
        (EventType.MEMBER_JOINED, "alice", None),
        (EventType.MEMBER_JOINED, "bob", "alice"),
    ]
    again = await store.open_dm(name, ("alice", "bob"), "alice", NOW + 1)
    from_bob = await store.open_dm(name, ("bob", "alice"), "bob", NOW + 2)
    assert again.info == first.info
    assert from_bob.info.name == name and from_bob.info.last_seq == 2
    assert [e for e in sink.events if e.room == name and e.seq > 2] == []
    assert await store.members(name) == ["alice", "bob"]
    assert [r.name for r in await store.user_rooms("bob")] == [name]
    with pytest.raises(NotFound):
        await store.open_dm("dm:alice:nobody", ("alice", "nobody"), "alice", NOW)
    assert await store.get_room("dm:alice:nobody") is None


async def test_create_room_conflicts_on_a_taken_name(store: SQLiteStorage) -> None:
    joined = await store.create_room("general", RoomKind.PUBLIC, "alice", NOW)
    assert joined.event is not None and joined.event.seq == 1
    with pytest.raises(Conflict):
        await store.create_room("general", RoomKind.PRIVATE, "bob", NOW)
    await store.ensure_room("lobby", RoomKind.PUBLIC, NOW)
    await store.ensure_room("lobby", RoomKind.PUBLIC, NOW)  # no-op the second time
    with pytest.raises(Conflict):
        await store.create_room("lobby", RoomKind.PUBLIC, "bob", NOW)
    room = await store.get_room("general")
    assert room is not None and room.kind == RoomKind.PUBLIC and room.last_seq == 1
    assert await store.members("general") == ["alice"]
    assert [(p.name, p.members) for p in await store.public_rooms()] == [
        ("general", 1),
        ("lobby", 0),
    ]


async def test_tokens_expire_and_can_be_deleted(store: SQLiteStorage) -> None:
    await store.create_token(b"t1", "alice", NOW, NOW + 1000)
    await store.create_token(b"t2", "bob", NOW, NOW + 5000)
    assert await store.user_for_token(b"t1", NOW) == "alice"
    assert await store.user_for_token(b"t1", NOW + 999) == "alice"
    assert await store.user_for_token(b"t1", NOW + 1000) is None
    assert await store.user_for_token(b"t1", NOW + 4000) is None
    assert await store.user_for_token(b"t2", NOW + 4000) == "bob"
    assert await store.user_for_token(b"nope", NOW) is None
    await store.delete_token(b"t2")
    assert await store.user_for_token(b"t2", NOW) is None


# --- shutdown ------------------------------------------------------------------------------


async def test_close_commits_the_writes_queued_before_it(db_path: Path) -> None:
    sink = Recorder()
    async with opened(db_path, sink) as s:
        await s.create_user("alice", "h", NOW)
        await s.create_room("r", RoomKind.PUBLIC, "alice", NOW)
        queued = [append(s, "r", "alice", f"m{i}") for i in range(300)]
        await s.close()
        results = await asyncio.wait_for(asyncio.gather(*queued), 30)
        assert [r.event.seq for r in results] == list(range(2, 302))
        late = append(s, "r", "alice", "after close")
        with pytest.raises(Unavailable):
            await late
    assert [e.seq for e in sink.events if e.room == "r"] == list(range(1, 302))

    async with opened(db_path) as s:
        page = await s.history("r", None, None, 200)
        room = await s.get_room("r")
        assert room is not None and room.last_seq == 301
        replay = await s.replay_since("r", 0, 1000)
        assert replay.events is not None
        assert [e.body for e in replay.events[1:]] == [f"m{i}" for i in range(300)]
        assert page.has_more


async def test_last_seq_is_right_within_a_batch_and_after_it(store: SQLiteStorage) -> None:
    """rooms.last_seq is written once per commit; what the writer reports must not lag."""
    await store.create_room("busy", RoomKind.PUBLIC, "alice", NOW)
    writes = [append(store, "busy", "alice", f"m{i}", f"c{i}") for i in range(3)]
    joined = store.add_member("busy", "bob", NOW, None)
    read = store.mark_read("busy", "alice", 99)
    await asyncio.gather(*writes)
    info = (await joined).info
    assert info.last_seq == 5 and info.read_seq == 5  # after three messages and bob's join
    assert await read == 5
    room = await store.get_room("busy")
    assert room is not None and room.last_seq == 5
    replay = await store.replay_since("busy", 0, 100)
    assert replay.last_seq == 5 and [e.seq for e in replay.events or []] == [1, 2, 3, 4, 5]
