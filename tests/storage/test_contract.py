"""The storage contract: every guarantee written in ``hubbub/storage/base.py``, and what each
method promises, tested against each backend through the public interface only (the
``Storage`` methods, ``on_events``, and storage built from its URL).

A new backend joins by one line in ``BACKENDS`` (tests/storage/conftest.py), which every
contract suite runs on. What only one engine does (SQLite's WAL, its writer thread and group
commit, damaged files) is tested in that engine's own files.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

import msgspec
import pytest
from support import Recorder

from hubbub.core.events import (
    EVENT_CLASSES,
    Event,
    MemberBanned,
    MemberJoined,
    MemberKicked,
    MemberLeft,
    MemberMuted,
    MemberUnbanned,
    MemberUnmuted,
    Message,
    MessageDeleted,
    MessageEdited,
    Reaction,
    ReactionAdded,
    ReactionRemoved,
    Role,
    RoleChanged,
    RoomChanged,
)
from hubbub.core.models import RoomInfo, RoomKind, RoomRole
from hubbub.core.projection import current, project, tombstone
from hubbub.core.reactions import MAX_REACTIONS
from hubbub.core.search import MAX_CANDIDATES, UNKNOWN_CURSOR, Cursor
from hubbub.errors import BadRequest, Conflict, Forbidden, NotFound, Unavailable
from hubbub.storage.base import Appended, Changed, Storage
from hubbub.storage.factory import build_storage

NOW = 1_764_000_000_000
UP, TADA = "\N{THUMBS UP SIGN}", "\N{PARTY POPPER}"


# The URL of a fresh, empty storage of each backend, for one test.
@asynccontextmanager
async def opened(url: str, sink: Recorder | None = None) -> AsyncIterator[Storage]:
    store = build_storage(url)
    if sink is not None:
        store.on_events = sink
    async with store:
        yield store


@pytest.fixture
def sink() -> Recorder:
    return Recorder()


@pytest.fixture
async def store(url: str, sink: Recorder) -> AsyncIterator[Storage]:
    async with opened(url, sink) as s:
        for user in ("alice", "bob", "carol"):
            await s.create_user(user, "hash-of-" + user, NOW)
        yield s


def message(room: str, author: str, body: str, client_msg_id: str | None = None) -> Message:
    return Message(
        room=room,
        seq=0,
        ts=NOW,
        user=author,
        msg_id="m-" + (client_msg_id or body),
        client_msg_id=client_msg_id,
        body=body,
    )


def append(
    store: Storage,
    room: str,
    author: str,
    body: str,
    client_msg_id: str | None = None,
    require_member: bool = True,
) -> Awaitable[Appended[Message]]:
    return store.append(message(room, author, body, client_msg_id), require_member)


def bodies(events: list[Event]) -> list[str]:
    return [e.body for e in events if isinstance(e, Message)]


def edit(room: str, user: str, target: int, body: str, ts: int = NOW) -> MessageEdited:
    return MessageEdited(room=room, seq=0, ts=ts, user=user, target=target, body=body)


def delete(room: str, user: str, target: int) -> MessageDeleted:
    return MessageDeleted(room=room, seq=0, ts=NOW, user=user, target=target)


def reaction(
    room: str, user: str, target: int, emoji: str, on: bool = True
) -> ReactionAdded | ReactionRemoved:
    kind = ReactionAdded if on else ReactionRemoved
    return kind(room=room, seq=0, ts=NOW, user=user, target=target, emoji=emoji)


def role(room: str, owner: str, member: str, to: Role) -> RoleChanged:
    return RoleChanged(room=room, seq=0, ts=NOW, user=owner, member=member, role=to)


async def log_of(store: Storage, room: str) -> list[Event]:
    replay = await store.replay_since(room, 0, 100_000)
    assert replay.events is not None
    return replay.events


# --- 1. ordered writes ---------------------------------------------------------------------


async def test_writes_apply_in_the_order_they_were_called(store: Storage) -> None:
    """Each write below depends on the one before it; none is awaited before the next call."""
    writes: list[Awaitable[Any]] = [
        store.create_room("r", RoomKind.PUBLIC, "alice", NOW),
        store.add_member("r", "bob", NOW, None),
        append(store, "r", "bob", "hi"),
        store.remove_member("r", "bob", NOW),
        append(store, "r", "bob", "too late"),
        *(append(store, "r", "alice", f"a{i}") for i in range(30)),
    ]
    results = await asyncio.gather(*writes, return_exceptions=True)
    assert isinstance(results[4], Forbidden)  # applied after bob left
    log = await log_of(store, "r")
    assert [(type(e), e.user) for e in log[:4]] == [
        (MemberJoined, "alice"),
        (MemberJoined, "bob"),
        (Message, "bob"),
        (MemberLeft, "bob"),
    ]
    assert bodies(log) == ["hi", *(f"a{i}" for i in range(30))]  # in call order


# --- 2. gapless sequence numbers -----------------------------------------------------------


async def test_seq_runs_from_one_without_holes_per_room(store: Storage, sink: Recorder) -> None:
    await store.create_room("red", RoomKind.PUBLIC, "alice", NOW)
    await store.create_room("blue", RoomKind.PRIVATE, "bob", NOW)
    pending = []
    for i in range(40):  # interleaved, all queued before any is awaited
        pending.append(append(store, "red", "alice", f"red {i}"))
        pending.append(append(store, "blue", "bob", f"blue {i}"))
    results = await asyncio.gather(*pending)
    assert [r.event.seq for r in results if r.event.room == "red"] == list(range(2, 42))
    assert [r.event.seq for r in results if r.event.room == "blue"] == list(range(2, 42))
    for room in ("red", "blue"):
        page = await store.history(room, None, None, 200)
        assert [e.seq for e in page.events] == list(range(1, 42))
        assert isinstance(page.events[0], MemberJoined)  # seq 1: the creator joined
        assert bodies(page.events) == [f"{room} {i}" for i in range(40)]
        stored = await store.get_room(room)
        assert stored is not None and stored.last_seq == 41
    published = [(e.room, e.seq) for e in sink.events if e.room in ("red", "blue")]
    assert sorted(published) == sorted({(r, s) for r in ("red", "blue") for s in range(1, 42)})


async def test_a_failed_write_takes_no_number(store: Storage, sink: Recorder) -> None:
    await store.create_room("open", RoomKind.PUBLIC, "alice", NOW)
    await store.create_room("closed", RoomKind.PRIVATE, "alice", NOW)
    sink.calls.clear()
    results = await asyncio.gather(
        append(store, "open", "alice", "one"),
        append(store, "missing", "alice", "to nowhere"),
        append(store, "open", "alice", "two"),
        append(store, "open", "mallory", "not a member of a public room"),
        append(store, "closed", "alice", "three"),
        append(store, "closed", "bob", "not a member of a private room"),
        store.create_room("open", RoomKind.PUBLIC, "bob", NOW),  # a taken name
        append(store, "open", "alice", "four"),
        return_exceptions=True,
    )
    assert isinstance(results[1], NotFound)
    assert isinstance(results[3], Forbidden)
    assert isinstance(results[5], NotFound)  # a private room looks like a missing one
    assert isinstance(results[6], Conflict)
    ok = [r.event for r in results if isinstance(r, Appended)]
    assert [(e.room, e.seq, e.body) for e in ok] == [
        ("open", 2, "one"),
        ("open", 3, "two"),
        ("closed", 2, "three"),
        ("open", 4, "four"),
    ]
    assert sink.events == ok  # nothing of the failed writes was published
    assert [e.seq for e in await log_of(store, "open")] == [1, 2, 3, 4]
    assert await store.members("open") == ["alice"]
    assert await store.get_room("missing") is None


# --- 3. durable before resolved, and 8. nothing waits -----------------------------------------


async def test_close_commits_what_was_queued_and_it_is_there_when_opened_again(url: str) -> None:
    sink = Recorder()
    async with opened(url, sink) as s:
        await s.create_user("alice", "h", NOW)
        await s.create_room("r", RoomKind.PUBLIC, "alice", NOW)
        queued = [append(s, "r", "alice", f"m{i}") for i in range(300)]
        await s.close()
        results = await asyncio.wait_for(asyncio.gather(*queued), 30)
        assert [r.event.seq for r in results] == list(range(2, 302))
        with pytest.raises(Unavailable):
            await asyncio.wait_for(append(s, "r", "alice", "after close"), 10)
    assert [e.seq for e in sink.events if e.room == "r"] == list(range(1, 302))

    async with opened(url) as s:
        room = await s.get_room("r")
        assert room is not None and room.last_seq == 301
        log = await log_of(s, "r")
        assert log == [e for e in sink.events if e.room == "r"]  # exactly what was published
        assert bodies(log) == [f"m{i}" for i in range(300)]
        assert await s.password_hash("alice") == "h"


# --- 4. published once, before resolved ------------------------------------------------------


async def test_events_are_published_once_in_commit_order_before_their_writes_resolve(
    store: Storage, sink: Recorder
) -> None:
    await store.create_room("a", RoomKind.PUBLIC, "alice", NOW)
    await store.create_room("b", RoomKind.PUBLIC, "bob", NOW)
    sink.calls.clear()
    writes: dict[str, asyncio.Future[Appended[Message]]] = {}
    resolved_before_published: list[Event] = []

    def on_events(events: list[Event]) -> None:
        for event in events:
            assert isinstance(event, Message) and event.client_msg_id is not None
            write = writes.get(event.client_msg_id)
            if write is None or write.done():
                resolved_before_published.append(event)
        sink(events)

    store.on_events = on_events
    for i in range(500):
        room, author = ("a", "alice") if i % 3 else ("b", "bob")
        writes[f"c{i}"] = asyncio.ensure_future(
            append(store, room, author, f"msg {i}", client_msg_id=f"c{i}")
        )
    results = await asyncio.gather(*writes.values())

    assert resolved_before_published == []
    published = sink.events
    assert sorted(published, key=lambda e: (e.room, e.seq)) == sorted(
        (r.event for r in results), key=lambda e: (e.room, e.seq)
    )  # each once
    for room, author in (("a", "alice"), ("b", "bob")):
        seqs = [e.seq for e in published if e.room == room]
        assert seqs == list(range(2, 2 + len(seqs)))  # in commit order
        mine = [r.event for r in results if r.event.room == room]
        assert [e.seq for e in mine] == seqs  # call order is commit order
        assert all(e.user == author for e in mine)


# --- 5. idempotent appends -----------------------------------------------------------------


async def test_a_duplicate_client_msg_id_returns_the_stored_event(
    store: Storage, sink: Recorder
) -> None:
    await store.create_room("general", RoomKind.PUBLIC, "alice", NOW)
    first = await append(store, "general", "alice", "hello", "cm-1")
    assert not first.duplicate and first.event.seq == 2
    sink.calls.clear()

    again = await store.append(
        Message(
            room="general",
            seq=0,
            ts=NOW + 5,
            user="alice",
            msg_id="id-2",
            client_msg_id="cm-1",
            body="hello?",
        )
    )
    assert again.duplicate
    assert again.event == first.event  # the stored body, msg_id, seq and ts
    assert sink.calls == []  # nothing new was published

    # Twice before either is stored: the second gets the first.
    a, b = await asyncio.gather(
        append(store, "general", "alice", "x", "cm-2"),
        append(store, "general", "alice", "x", "cm-2"),
    )
    assert (a.duplicate, b.duplicate) == (False, True)
    assert b.event == a.event and a.event.seq == 3

    # The same client_msg_id from another author is another message.
    await store.add_member("general", "bob", NOW, None)
    other = await append(store, "general", "bob", "mine", "cm-1")
    assert not other.duplicate and other.event.seq == 5
    log = await log_of(store, "general")
    assert [e.seq for e in log] == [1, 2, 3, 4, 5]
    assert bodies(log) == ["hello", "x", "mine"]

    # Reused for another room, it is a client's mistake: refused, nothing stored.
    await store.create_room("other", RoomKind.PUBLIC, "alice", NOW)
    with pytest.raises(Conflict):
        await append(store, "other", "alice", "elsewhere", "cm-1")
    assert [type(e) for e in await log_of(store, "other")] == [MemberJoined]


async def test_messages_without_a_client_msg_id_are_never_duplicates(store: Storage) -> None:
    await store.ensure_room("lobby", RoomKind.PUBLIC, NOW)
    same = [append(store, "lobby", "guest:zed", "hi", require_member=False) for _ in range(3)]
    results = await asyncio.gather(*same)
    assert [(r.event.seq, r.duplicate) for r in results] == [(1, False), (2, False), (3, False)]


# --- 6. membership inside the write ----------------------------------------------------------


async def test_membership_is_checked_in_the_write(store: Storage) -> None:
    await store.ensure_room("lobby", RoomKind.PUBLIC, NOW)
    with pytest.raises(Forbidden):
        await append(store, "lobby", "guest:zed", "hi")
    guest = await append(store, "lobby", "guest:zed", "hi", require_member=False)
    assert (guest.event.seq, guest.event.user, guest.event.body) == (1, "guest:zed", "hi")
    assert guest.event.client_msg_id is None

    await store.create_room("r", RoomKind.PUBLIC, "alice", NOW)
    joined = await store.add_member("r", "bob", NOW, None)
    assert joined.event is not None and joined.event.seq == 2
    assert (await store.add_member("r", "bob", NOW, None)).event is None  # already in
    await append(store, "r", "bob", "bye", "b-1")
    left = await store.remove_member("r", "bob", NOW)
    assert left == MemberLeft(room="r", seq=4, ts=NOW, user="bob")
    assert await store.remove_member("r", "bob", NOW) is None
    with pytest.raises(Forbidden):
        await append(store, "r", "bob", "still here?", "b-2")
    retried = await append(store, "r", "bob", "bye", "b-1")  # a retry after leaving
    assert retried.duplicate and retried.event.seq == 3
    assert await store.room_info("r", "bob") is None
    assert await store.members("r") == ["alice"]
    room = await store.get_room("r")
    assert room is not None and room.last_seq == 4


async def test_a_non_member_learns_nothing_from_a_client_msg_id(store: Storage) -> None:
    await store.create_room("mine", RoomKind.PUBLIC, "alice", NOW)
    await store.create_room("secret", RoomKind.PRIVATE, "bob", NOW)
    await append(store, "mine", "alice", "hello", "cm-1")
    # An id alice used elsewhere answers, in a room she is not in, as a fresh id would.
    with pytest.raises(NotFound):
        await append(store, "secret", "alice", "let me in", "cm-1")
    with pytest.raises(NotFound):
        await append(store, "secret", "alice", "let me in", "cm-fresh")


async def test_membership_events_are_appended_by_the_member_methods_only(store: Storage) -> None:
    await store.create_room("r", RoomKind.PUBLIC, "alice", NOW)
    for event in (
        MemberJoined(room="r", seq=0, ts=NOW, user="bob"),
        MemberLeft(room="r", seq=0, ts=NOW, user="alice"),
    ):
        with pytest.raises(ValueError):
            store.append(event)
    assert await store.members("r") == ["alice"]
    assert len(await log_of(store, "r")) == 1


# --- 7. errors -------------------------------------------------------------------------------


async def test_missing_rooms_and_users_are_not_found_and_taken_names_conflict(
    store: Storage,
) -> None:
    await store.create_room("general", RoomKind.PUBLIC, "alice", NOW)
    missing: list[Callable[[], Awaitable[Any]]] = [
        lambda: store.add_member("general", "nobody", NOW, None),
        lambda: store.add_member("nowhere", "bob", NOW, None),
        lambda: store.open_dm("dm:alice:nobody", ("alice", "nobody"), "alice", NOW),
        lambda: store.mark_read("nowhere", "alice", 1),
        lambda: store.members("nowhere"),
        lambda: store.history("nowhere", None, None, 10),
        lambda: store.replay_since("nowhere", 0, 10),
        lambda: append(store, "nowhere", "alice", "hi"),
        lambda: append(store, "nowhere", "alice", "hi", require_member=False),
    ]
    for call in missing:
        with pytest.raises(NotFound):
            await call()
    assert await store.get_room("dm:alice:nobody") is None
    with pytest.raises(Conflict):
        await store.create_room("general", RoomKind.PRIVATE, "bob", NOW)
    with pytest.raises(Conflict):
        await store.create_user("alice", "another hash", NOW)
    assert await store.password_hash("alice") == "hash-of-alice"


# --- 9. replay in one snapshot ---------------------------------------------------------------


async def test_replay_since_is_all_or_nothing(store: Storage) -> None:
    await store.create_room("r", RoomKind.PUBLIC, "alice", NOW)
    await asyncio.gather(*(append(store, "r", "alice", f"m{i}") for i in range(10)))  # 2..11

    replay = await store.replay_since("r", 3, 1000)
    assert replay.last_seq == 11
    assert replay.events is not None
    assert [e.seq for e in replay.events] == list(range(4, 12))
    assert bodies(replay.events) == [f"m{i}" for i in range(2, 10)]

    at_bound = await store.replay_since("r", 3, 8)
    assert at_bound.events is not None and len(at_bound.events) == 8
    over = await store.replay_since("r", 3, 7)
    assert over.events is None and over.last_seq == 11
    assert await store.replay_since("r", 11, 5) == ([], 11)
    whole = await store.replay_since("r", 0, 11)
    assert whole.events is not None and [e.seq for e in whole.events] == list(range(1, 12))


async def test_a_replay_and_its_last_seq_come_from_one_snapshot(store: Storage) -> None:
    await store.create_room("busy", RoomKind.PUBLIC, "alice", NOW)
    writes = asyncio.gather(*(append(store, "busy", "alice", f"m{i}") for i in range(400)))
    replays = 0
    while not writes.done() or replays == 0:
        replay = await store.replay_since("busy", 0, 100_000)
        assert replay.events is not None
        assert [e.seq for e in replay.events] == list(range(1, replay.last_seq + 1))
        replays += 1
    await writes


# --- what the other methods promise ----------------------------------------------------------


async def test_every_kind_of_event_is_read_back_as_it_was_stored(store: Storage) -> None:
    made: list[Event] = []
    created = await store.create_room("r", RoomKind.PRIVATE, "alice", NOW)
    invited = await store.add_member("r", "bob", NOW + 1, "alice")
    made += [e for e in (created.event, invited.event) if e is not None]
    made.append((await append(store, "r", "bob", "with an id", "b-1")).event)
    made.append((await append(store, "r", "guest:zed", "without", require_member=False)).event)
    given = await store.set_role(role("r", "alice", "bob", Role.ADMIN))
    edited = (await store.edit_message(edit("r", "bob", 3, "edited"))).event
    added = (await store.react(reaction("r", "alice", 3, UP))).event
    removed = (await store.react(reaction("r", "alice", 3, UP, on=False))).event
    deleted = (await store.delete_message(delete("r", "bob", 4))).event
    assert given is not None and edited is not None and deleted is not None
    assert added is not None and removed is not None
    made += [given, edited, added, removed, deleted]
    left = await store.remove_member("r", "bob", NOW + 2)
    assert left is not None
    made.append(left)
    back = await store.add_member("r", "bob", NOW + 3, "alice")
    assert back.event is not None
    made.append(back.event)
    by: dict[str, Any] = {"room": "r", "seq": 0, "ts": NOW + 4, "user": "bob", "by": "alice"}
    for change in (
        MemberMuted(**by, until=NOW + 9),
        MemberUnmuted(**by),
        MemberKicked(**by),
        MemberBanned(**by, reason="spam"),
        MemberUnbanned(**by),
        RoomChanged(room="r", seq=0, ts=NOW + 5, user="alice", topic="plans", private=False),
    ):
        moderated = await store.moderate(change)
        assert moderated is not None
        made.append(moderated)

    assert {type(e) for e in made} == set(EVENT_CLASSES.values())  # a new kind: add it here
    # Messages are read back as they stand now (the stored form of the log).
    assert await log_of(store, "r") == current(made)
    assert (await store.history("r", None, None, 50)).events == current(made)
    assert made[1] == MemberJoined(room="r", seq=2, ts=NOW + 1, user="bob", by="alice")


async def test_the_projection_of_a_rooms_log_has_its_members_and_messages(
    store: Storage,
) -> None:
    await store.create_room("r", RoomKind.PUBLIC, "alice", NOW)
    await store.add_member("r", "bob", NOW, None)
    await store.add_member("r", "carol", NOW, "bob")
    await append(store, "r", "bob", "one")
    await store.remove_member("r", "bob", NOW)
    await append(store, "r", "carol", "two")
    await store.open_dm("dm:alice:carol", ("alice", "carol"), "carol", NOW)

    for room in ("r", "dm:alice:carol"):
        state = project(await log_of(store, room))
        assert state.members == set(await store.members(room))
        info = await store.get_room(room)
        assert info is not None and state.last_seq == info.last_seq
    state = project(await log_of(store, "r"))
    assert [m.body for m in state.messages.values()] == ["one", "two"]


async def test_history_pages_return_every_event_once_in_order(store: Storage) -> None:
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


async def test_mark_read_never_moves_back_nor_past_last_seq(store: Storage) -> None:
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


async def test_unread_counts_only_messages_of_others(store: Storage) -> None:
    await store.create_room("r", RoomKind.PUBLIC, "alice", NOW)  # seq 1
    await store.add_member("r", "bob", NOW, None)  # seq 2: bob has read up to his join
    for body in ("a1", "a2", "a3"):
        await append(store, "r", "alice", body)
    for body in ("b1", "b2"):
        await append(store, "r", "bob", body)
    await store.add_member("r", "carol", NOW, "alice")  # seq 8, not a message

    def unread(infos: list[RoomInfo]) -> dict[str, int]:
        return {i.name: i.unread for i in infos}

    assert unread(await store.user_rooms("alice")) == {"r": 2}
    assert unread(await store.user_rooms("bob")) == {"r": 3}
    assert unread(await store.user_rooms("carol")) == {"r": 0}
    await store.mark_read("r", "bob", 4)
    assert unread(await store.user_rooms("bob")) == {"r": 1}
    await store.mark_read("r", "alice", 8)
    rooms = await store.user_rooms("alice")
    assert [(i.name, i.last_seq, i.read_seq, i.unread) for i in rooms] == [("r", 8, 8, 0)]


async def test_open_dm_is_idempotent(store: Storage, sink: Recorder) -> None:
    name = "dm:alice:bob"
    first = await store.open_dm(name, ("alice", "bob"), "alice", NOW)
    assert first.info.name == name and first.info.kind == RoomKind.DM
    assert [e for e in sink.events if e.room == name] == [
        MemberJoined(room=name, seq=1, ts=NOW, user="alice"),
        MemberJoined(room=name, seq=2, ts=NOW, user="bob", by="alice"),
    ]
    again = await store.open_dm(name, ("alice", "bob"), "alice", NOW + 1)
    from_bob = await store.open_dm(name, ("bob", "alice"), "bob", NOW + 2)
    assert again.info == first.info
    assert from_bob.info.name == name and from_bob.info.last_seq == 2
    assert [e for e in sink.events if e.room == name and e.seq > 2] == []
    assert await store.members(name) == ["alice", "bob"]
    assert [r.name for r in await store.user_rooms("bob")] == [name]


async def test_create_room_and_ensure_room(store: Storage) -> None:
    joined = await store.create_room("general", RoomKind.PUBLIC, "alice", NOW)
    assert joined.event == MemberJoined(room="general", seq=1, ts=NOW, user="alice")
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


async def test_tokens_expire_and_can_be_deleted(store: Storage) -> None:
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


async def test_last_seq_is_right_within_a_batch_of_writes_and_after_it(store: Storage) -> None:
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


# --- 10. changes in the write ------------------------------------------------------------------


async def test_an_edit_shows_in_history_and_replay_and_the_same_body_appends_nothing(
    store: Storage, sink: Recorder
) -> None:
    await store.create_room("r", RoomKind.PUBLIC, "alice", NOW)
    await store.add_member("r", "bob", NOW, None)
    sent = (await append(store, "r", "bob", "helo", "b1")).event
    changed = await store.edit_message(edit("r", "bob", sent.seq, "hello", NOW + 5))
    now = msgspec.structs.replace(sent, body="hello", edited_at=NOW + 5)
    assert changed == Changed(
        now, MessageEdited(room="r", seq=4, ts=NOW + 5, user="bob", target=3, body="hello")
    )
    assert (await store.history("r", None, None, 10)).events[2] == now
    assert (await log_of(store, "r"))[2] == now
    assert sink.events[-1] == changed.event

    published = len(sink.events)
    again = await store.edit_message(edit("r", "bob", sent.seq, "hello", NOW + 9))
    assert again == Changed(now, None)  # a retry: the current state, no event
    assert len(sink.events) == published
    room = await store.get_room("r")
    assert room is not None and room.last_seq == 4


async def test_an_edit_is_refused_for_others_deleted_messages_and_non_messages(
    store: Storage, sink: Recorder
) -> None:
    await store.create_room("r", RoomKind.PRIVATE, "alice", NOW)
    await store.add_member("r", "bob", NOW, "alice")
    await append(store, "r", "bob", "mine", "b1")  # seq 3
    published = len(sink.events)
    with pytest.raises(Forbidden):
        await store.edit_message(edit("r", "alice", 3, "hers now"))
    with pytest.raises(NotFound, match="no message 1 in 'r'"):
        await store.edit_message(edit("r", "bob", 1, "a join"))
    with pytest.raises(NotFound, match="no message 99 in 'r'"):
        await store.edit_message(edit("r", "bob", 99, "nothing"))
    with pytest.raises(NotFound, match="no room named 'r'"):
        await store.edit_message(edit("r", "carol", 3, "an outsider"))
    assert len(sink.events) == published
    await store.delete_message(delete("r", "bob", 3))
    with pytest.raises(Conflict, match="message 3 is deleted"):
        await store.edit_message(edit("r", "bob", 3, "back"))


async def test_a_delete_leaves_a_tombstone_and_erases_every_body(
    store: Storage, sink: Recorder
) -> None:
    await store.create_room("r", RoomKind.PUBLIC, "alice", NOW)
    await store.add_member("r", "bob", NOW, None)
    sent = (await append(store, "r", "bob", "oops", "b1")).event  # seq 3
    await store.edit_message(edit("r", "bob", 3, "oops again"))  # seq 4
    changed = await store.delete_message(delete("r", "bob", 3))
    assert changed.message == tombstone(sent) and changed.message.deleted
    assert changed.event == MessageDeleted(room="r", seq=5, ts=NOW, user="bob", target=3)
    events = (await store.history("r", None, None, 10)).events
    assert [e.seq for e in events] == [1, 2, 3, 4, 5]  # gapless
    assert events[2] == tombstone(sent) and events[2].body == ""
    assert events[3] == MessageEdited(room="r", seq=4, ts=NOW, user="bob", target=3)
    assert await log_of(store, "r") == events

    published = len(sink.events)
    assert await store.delete_message(delete("r", "alice", 3)) == Changed(tombstone(sent), None)
    assert len(sink.events) == published  # a second delete appends nothing


async def test_who_may_delete_is_checked_in_the_write(store: Storage) -> None:
    await store.create_room("r", RoomKind.PUBLIC, "alice", NOW)
    for user in ("bob", "carol"):
        await store.add_member("r", user, NOW, None)
    for n in range(4):
        await append(store, "r", "bob", f"bob {n}", f"b{n}")  # seqs 4-7
    await append(store, "r", "carol", "carol's", "c1")  # seq 8
    with pytest.raises(Forbidden, match="only its author, the room's owner or an admin"):
        await store.delete_message(delete("r", "carol", 4))
    assert (await store.delete_message(delete("r", "bob", 4))).event is not None  # the author
    assert (await store.delete_message(delete("r", "alice", 5))).event is not None  # the owner
    await store.set_role(role("r", "alice", "carol", Role.ADMIN))
    assert (await store.delete_message(delete("r", "carol", 6))).event is not None  # an admin
    await store.set_role(role("r", "alice", "carol", Role.MEMBER))
    with pytest.raises(Forbidden):
        await store.delete_message(delete("r", "carol", 7))
    with pytest.raises(NotFound, match="no message 2 in 'r'"):
        await store.delete_message(delete("r", "alice", 2))
    with pytest.raises(Forbidden, match="join 'r'"):
        await store.delete_message(delete("r", "guest:zed", 8))


async def test_a_dm_has_no_owner_each_deletes_only_their_own(store: Storage) -> None:
    await store.open_dm("dm:alice:bob", ("alice", "bob"), "alice", NOW)
    await append(store, "dm:alice:bob", "bob", "bob's", "b1")  # seq 3
    await append(store, "dm:alice:bob", "alice", "alice's", "a1")  # seq 4
    with pytest.raises(Forbidden):
        await store.delete_message(delete("dm:alice:bob", "alice", 3))  # the opener
    with pytest.raises(Forbidden, match="only the room's owner"):
        await store.set_role(role("dm:alice:bob", "alice", "bob", Role.ADMIN))
    assert (await store.delete_message(delete("dm:alice:bob", "alice", 4))).event is not None


async def test_roles_are_given_by_the_owner_once_per_change(store: Storage, sink: Recorder) -> None:
    await store.create_room("r", RoomKind.PRIVATE, "alice", NOW)
    await store.add_member("r", "bob", NOW, "alice")
    await store.add_member("r", "carol", NOW, "alice")
    given = await store.set_role(role("r", "alice", "bob", Role.ADMIN))
    assert given == RoleChanged(
        room="r", seq=4, ts=NOW, user="alice", member="bob", role=Role.ADMIN
    )
    published = len(sink.events)
    assert await store.set_role(role("r", "alice", "bob", Role.ADMIN)) is None
    assert len(sink.events) == published
    with pytest.raises(Forbidden, match="only the room's owner"):
        await store.set_role(role("r", "bob", "carol", Role.ADMIN))  # an admin is no owner
    with pytest.raises(NotFound, match="'dave' is not a member of 'r'"):
        await store.set_role(role("r", "alice", "dave", Role.ADMIN))
    with pytest.raises(BadRequest):
        await store.set_role(role("r", "alice", "alice", Role.MEMBER))
    await store.remove_member("r", "bob", NOW)
    await store.add_member("r", "bob", NOW, "alice")  # the role ended with the membership
    assert project(await log_of(store, "r")).admins == set()
    assert (await store.set_role(role("r", "alice", "bob", Role.ADMIN))) is not None


async def test_a_rooms_roles_name_its_owner_and_admins(store: Storage) -> None:
    await store.create_room("r", RoomKind.PUBLIC, "alice", NOW)
    for member in ("bob", "carol"):
        await store.add_member("r", member, NOW, None)
    assert await store.room_roles("r") == {"alice": RoomRole.OWNER}
    await store.set_role(role("r", "alice", "carol", Role.ADMIN))
    assert await store.room_roles("r") == {"alice": RoomRole.OWNER, "carol": RoomRole.ADMIN}
    await store.remove_member("r", "alice", NOW)  # an owner who left owns nothing here
    assert await store.room_roles("r") == {"carol": RoomRole.ADMIN}
    await store.open_dm("dm:alice:bob", ("alice", "bob"), "alice", NOW)
    assert await store.room_roles("dm:alice:bob") == {}  # a DM has no owner
    with pytest.raises(NotFound):
        await store.room_roles("nowhere")


@pytest.mark.parametrize("seed", range(8))
async def test_folding_what_was_published_then_a_replay_equals_a_fresh_history(
    store: Storage, sink: Recorder, seed: int
) -> None:
    """Random sends, replies, mentions, reactions, edits and deletes: a client that received
    the events up to any cut and then replays the rest ends where a fresh reader of history
    starts."""
    rng = random.Random(seed)
    await store.create_room("r", RoomKind.PUBLIC, "alice", NOW)
    await store.add_member("r", "bob", NOW, None)
    messages: list[int] = []
    for n in range(30):
        user = rng.choice(["alice", "bob"])
        what = rng.random()
        if what < 0.35 or not messages:
            messages.append((await append(store, "r", user, f"m{n}", f"c{n}")).event.seq)
        elif what < 0.5:
            parent = rng.choice(messages)
            answer = msgspec.structs.replace(
                message("r", user, f"re{n} @alice @bob", f"c{n}"),
                reply_to=parent,
                mentions=("alice", "bob"),
            )
            with contextlib.suppress(Conflict):
                messages.append((await store.append(answer)).event.seq)
        elif what < 0.65:
            on = rng.random() < 0.7
            with contextlib.suppress(Conflict):
                await store.react(reaction("r", user, rng.choice(messages), UP, on))
        elif what < 0.8:
            author_edit = edit("r", user, rng.choice(messages), rng.choice(["x", "y"]), NOW + n)
            if rng.random() < 0.5:
                author_edit = msgspec.structs.replace(author_edit, mentions=("alice", "bob"))
            with contextlib.suppress(Forbidden, Conflict):
                await store.edit_message(author_edit)
        else:
            with contextlib.suppress(Forbidden):
                await store.delete_message(delete("r", user, rng.choice(messages)))
    published = sink.events
    fresh = (await store.history("r", None, None, 1000)).events
    assert fresh == current(published)
    for cut in range(len(published) + 1):
        replay = await store.replay_since("r", cut, 1000)
        assert replay.events is not None
        assert project(replay.events, project(published[:cut])) == project(fresh)


async def test_reactions_are_counted_per_reader_and_a_retry_appends_nothing(
    store: Storage, sink: Recorder
) -> None:
    await store.create_room("r", RoomKind.PUBLIC, "alice", NOW)
    await store.add_member("r", "bob", NOW, None)
    sent = (await append(store, "r", "bob", "hi", "b1")).event  # seq 3
    first = await store.react(reaction("r", "alice", 3, UP))
    assert first.event == ReactionAdded(room="r", seq=4, ts=NOW, user="alice", target=3, emoji=UP)
    assert first.message.reactions == (Reaction(emoji=UP, count=1, me=True),)
    published = len(sink.events)
    again = await store.react(reaction("r", "alice", 3, UP))
    assert again == Changed(first.message, None)  # adding twice is one reaction
    absent = await store.react(reaction("r", "alice", 3, TADA, on=False))
    assert absent == Changed(first.message, None)  # removing what is not there: nothing
    assert len(sink.events) == published
    await store.react(reaction("r", "bob", 3, UP))
    await store.react(reaction("r", "bob", 3, TADA))

    as_bob = (await store.history("r", None, None, 10, reader="bob")).events[2]
    as_alice = (await store.history("r", None, None, 10, reader="alice")).events[2]
    assert isinstance(as_bob, Message) and isinstance(as_alice, Message)
    counts = [(TADA, 1), (UP, 2)]  # in code point order
    assert [(r.emoji, r.count, r.me) for r in as_bob.reactions] == [(e, n, True) for e, n in counts]
    assert [(r.emoji, r.me) for r in as_alice.reactions] == [(TADA, False), (UP, True)]
    replay = await store.replay_since("r", 0, 100, reader="bob")
    assert replay.events is not None and replay.events[2] == as_bob
    assert (await store.history("r", None, None, 10, reader="bob")).events == current(
        await log_of(store, "r"), reader="bob"
    )
    assert msgspec.structs.replace(as_bob, reactions=()) == sent


async def test_a_reaction_is_refused_to_outsiders_non_messages_and_deleted_messages(
    store: Storage, sink: Recorder
) -> None:
    await store.create_room("r", RoomKind.PRIVATE, "alice", NOW)
    await store.add_member("r", "bob", NOW, "alice")
    await append(store, "r", "bob", "mine", "b1")  # seq 3
    published = len(sink.events)
    with pytest.raises(NotFound, match="no room named 'r'"):
        await store.react(reaction("r", "carol", 3, UP))
    with pytest.raises(NotFound, match="no message 1 in 'r'"):
        await store.react(reaction("r", "bob", 1, UP))
    with pytest.raises(NotFound, match="no message 99 in 'r'"):
        await store.react(reaction("r", "bob", 99, UP))
    assert len(sink.events) == published
    await store.react(reaction("r", "alice", 3, UP))
    await store.delete_message(delete("r", "bob", 3))
    with pytest.raises(Conflict, match="message 3 is deleted"):
        await store.react(reaction("r", "bob", 3, TADA))
    (message,) = [e for e in await log_of(store, "r") if isinstance(e, Message)]
    assert message.deleted and message.reactions == ()  # its reactions went with it


async def test_a_message_holds_a_bounded_number_of_distinct_reactions(store: Storage) -> None:
    await store.create_room("r", RoomKind.PUBLIC, "alice", NOW)
    await append(store, "r", "alice", "popular", "a1")  # seq 2
    names = [f":e{n}:" for n in range(MAX_REACTIONS)]
    for name in names:
        await store.react(reaction("r", "alice", 2, name))
    with pytest.raises(Conflict, match=f"at most {MAX_REACTIONS} different reactions"):
        await store.react(reaction("r", "alice", 2, ":one-more:"))
    await store.add_member("r", "bob", NOW, None)
    assert (await store.react(reaction("r", "bob", 2, names[0]))).event is not None


# --- 12. threads and mentions in the write ---------------------------------------------------


def replying_to(parent: int, room: str, author: str, body: str, key: str) -> Message:
    return msgspec.structs.replace(message(room, author, body, key), reply_to=parent)


async def test_a_reply_joins_its_parents_thread_quotes_it_and_counts_on_the_root(
    store: Storage, sink: Recorder
) -> None:
    await store.create_room("r", RoomKind.PUBLIC, "alice", NOW)
    await store.add_member("r", "bob", NOW, None)
    root = (await append(store, "r", "alice", "root")).event.seq
    first = (await store.append(replying_to(root, "r", "bob", "first", "b1"))).event
    assert (first.reply_to, first.thread) == (root, root)
    assert first.quote is not None and first.quote.body == "root"
    assert sink.events[-1] == first  # published with its quote
    later = msgspec.structs.replace(
        replying_to(first.seq, "r", "alice", "second", "a2"), ts=NOW + 9
    )
    second = (await store.append(later)).event
    assert (second.reply_to, second.thread) == (first.seq, root)

    shown = (await store.thread("r", root, None, 10)).root
    assert (shown.replies, shown.last_reply_at) == (2, NOW + 9)
    await store.delete_message(delete("r", "bob", first.seq))
    thread = await store.thread("r", root, None, 10, reader="bob")
    assert thread.root.replies == 1 and thread.root.last_reply_at == NOW + 9
    assert [e.seq for e in thread.events] == [first.seq, second.seq]
    gone, kept = thread.events
    assert isinstance(gone, Message) and gone.deleted and gone.quote is None
    assert isinstance(kept, Message) and kept.quote is not None and kept.quote.deleted
    (deleted,) = [e for e in sink.events if isinstance(e, MessageDeleted)]
    assert deleted.thread == root

    with pytest.raises(Conflict):  # a deleted parent
        await store.append(replying_to(first.seq, "r", "alice", "late", "a3"))
    with pytest.raises(NotFound):  # member_joined is no message
        await store.append(replying_to(1, "r", "alice", "no", "a4"))
    with pytest.raises(NotFound):
        await store.thread("r", 2, None, 10)
    assert (await store.get_room("r")).last_seq == second.seq + 1  # type: ignore[union-attr]
    # A retry of a stored reply gets it, though its parent is deleted now.
    again = await store.append(replying_to(first.seq, "r", "bob", "first", "b1"))
    assert again.duplicate and again.event.seq == first.seq
    assert await log_of(store, "r") == current(sink.events)


async def test_a_thread_pages_its_replies_newest_page_first(store: Storage) -> None:
    await store.create_room("r", RoomKind.PUBLIC, "alice", NOW)
    root = (await append(store, "r", "alice", "root")).event.seq
    seqs = []
    for i in range(7):
        await append(store, "r", "alice", f"between {i}")
        seqs.append(
            (await store.append(replying_to(root, "r", "alice", f"{i}", f"k{i}"))).event.seq
        )
    page = await store.thread("r", root, None, 3)
    assert [e.seq for e in page.events] == seqs[-3:] and page.has_more
    page = await store.thread("r", root, seqs[-3], 10)
    assert [e.seq for e in page.events] == seqs[:4] and not page.has_more


async def test_mentions_name_members_only_and_room_only_where_allowed(store: Storage) -> None:
    await store.create_room("r", RoomKind.PUBLIC, "alice", NOW)
    await store.add_member("r", "bob", NOW, None)
    named = msgspec.structs.replace(
        message("r", "bob", "@alice @bob @carol @room", "b1"),
        mentions=("alice", "bob", "carol"),
        room_mention=True,
    )
    stored = (await store.append(named)).event
    assert stored.mentions == ("alice",) and stored.room_mention  # 2 members: anyone may
    info = await store.room_info("r", "alice")
    assert info is not None and (info.unread, info.unread_mentions) == (1, 1)

    for n in range(49):  # 51 members: only the owner and admins may @room
        await store.create_user(f"u{n}", "h", NOW)
        await store.add_member("r", f"u{n}", NOW, None)
    everyone = msgspec.structs.replace(message("r", "bob", "@room", "b2"), room_mention=True)
    assert not (await store.append(everyone)).event.room_mention
    by_owner = msgspec.structs.replace(message("r", "alice", "@room", "a1"), room_mention=True)
    assert (await store.append(by_owner)).event.room_mention
    await store.set_role(role("r", "alice", "bob", Role.ADMIN))
    by_admin = msgspec.structs.replace(message("r", "bob", "@room", "b3"), room_mention=True)
    admins_room = (await store.append(by_admin)).event
    assert admins_room.room_mention
    info = await store.room_info("r", "u0")
    assert info is not None and info.unread_mentions == 2
    info = await store.room_info("r", "alice")
    assert info is not None and (info.unread, info.unread_mentions) == (3, 2)

    # Edits change the mentions; a delete takes them away with the body.
    changed = msgspec.structs.replace(edit("r", "bob", stored.seq, "plain"), mentions=())
    await store.edit_message(changed)
    info = await store.room_info("r", "alice")
    assert info is not None and info.unread_mentions == 1
    await store.delete_message(delete("r", "bob", admins_room.seq))
    info = await store.room_info("r", "alice")
    assert info is not None and (info.unread, info.unread_mentions) == (2, 0)
    (tombstone_,) = (await store.history("r", None, admins_room.seq - 1, 1)).events
    assert isinstance(tombstone_, Message) and tombstone_.deleted and not tombstone_.room_mention


# --- 13. search follows the rows -------------------------------------------------------------


def at(room: str, author: str, body: str, ts: int) -> Message:
    return msgspec.structs.replace(message(room, author, body), ts=ts)


async def found(store: Storage, user: str, query: str, room: str | None = None) -> list[str]:
    return [f.body for f in (await store.search(user, query, room, None, 50)).found]


async def test_search_finds_substrings_in_any_script_and_case(store: Storage) -> None:
    await store.create_room("r", RoomKind.PUBLIC, "alice", NOW)
    for body in ("今天我们去吃饭", "Meeting at NOON", "the noonday sun", "nothing here"):
        await append(store, "r", "alice", body)
    assert await found(store, "alice", "我们去") == ["今天我们去吃饭"]
    assert await found(store, "alice", "noon") == ["the noonday sun", "Meeting at NOON"]
    assert await found(store, "alice", "ETIN") == ["Meeting at NOON"]  # inside a word
    assert await found(store, "alice", "50%") == []  # no wildcards
    (hit,) = (await store.search("alice", "NG AT", None, None, 5)).found
    assert (hit.room, hit.user, hit.ranges) == ("r", "alice", [(5, 10)])


async def test_search_follows_edits_and_deletes(store: Storage) -> None:
    await store.create_room("r", RoomKind.PUBLIC, "alice", NOW)
    first = (await append(store, "r", "alice", "original wording")).event.seq
    second = (await append(store, "r", "alice", "doomed wording")).event.seq
    await store.edit_message(edit("r", "alice", first, "revised text"))
    assert await found(store, "alice", "original") == []
    assert await found(store, "alice", "revised") == ["revised text"]
    await store.delete_message(delete("r", "alice", second))
    assert await found(store, "alice", "doomed") == []
    assert await found(store, "alice", "wording") == []


async def test_search_reads_only_the_rooms_the_user_is_in_now(store: Storage) -> None:
    await store.create_room("mine", RoomKind.PUBLIC, "alice", NOW)
    await store.create_room("left", RoomKind.PUBLIC, "alice", NOW)
    await store.create_room("theirs", RoomKind.PRIVATE, "bob", NOW)
    await store.add_member("left", "bob", NOW, None)
    await append(store, "mine", "alice", "shared phrase in mine")
    await append(store, "left", "bob", "shared phrase in left")
    await append(store, "theirs", "bob", "shared phrase in theirs")
    await store.add_member("mine", "bob", NOW, None)
    await store.remove_member("left", "bob", NOW)
    assert await found(store, "bob", "shared phrase") == [
        "shared phrase in theirs",
        "shared phrase in mine",
    ]
    assert await found(store, "bob", "shared phrase", "mine") == ["shared phrase in mine"]
    for room in ("left", "missing"):
        with pytest.raises(NotFound) as raised:
            await store.search("bob", "shared phrase", room, None, 5)
        assert str(raised.value) == str(NotFound(f"no room named {room!r}"))


async def test_search_pages_newest_first_below_a_cursor(store: Storage) -> None:
    await store.create_room("a", RoomKind.PUBLIC, "alice", NOW)
    await store.create_room("b", RoomKind.PUBLIC, "alice", NOW)
    for n in range(5):  # in the order sent, whatever the times say
        await store.append(at("a", "alice", f"hit a{n}", NOW - n))
        await store.append(at("b", "alice", f"hit b{n}", NOW))
        await store.append(at("a", "alice", f"miss {n}", NOW))
    first = (await store.search("alice", "hit a0", None, None, 5)).found[0].seq
    await store.edit_message(edit("a", "alice", first, "hit a0, edited"))  # keeps its place
    order = ["b4", "a4", "b3", "a3", "b2", "a2", "b1", "a1", "b0", "a0"]
    pages: list[list[str]] = []
    before = None
    while True:
        page = await store.search("alice", "hit ", None, before, 4)
        pages.append([f.body[4:6] for f in page.found])
        if not page.has_more:
            assert page.next is None
            break
        assert page.next == page.found[-1].cursor
        before = page.next
    assert pages == [order[:4], order[4:8], order[8:]]


async def test_search_goes_on_after_a_result_a_client_names(store: Storage) -> None:
    await store.create_room("a", RoomKind.PUBLIC, "alice", NOW)
    await store.create_room("theirs", RoomKind.PRIVATE, "bob", NOW)
    seqs = [(await append(store, "a", "alice", f"hit {n}")).event.seq for n in range(4)]
    secret = (await append(store, "theirs", "bob", "hit secret")).event.seq
    page = await store.search("alice", "hit ", None, Cursor.parse(f"0:{seqs[2]}:a"), 5)
    assert ([f.body for f in page.found], page.has_more) == (["hit 1", "hit 0"], False)
    # Only a message of the searcher's rooms places a page: another's is as one missing.
    for named in (Cursor(None, "theirs", secret), Cursor(None, "a", 99)):
        with pytest.raises(BadRequest) as raised:
            await store.search("alice", "hit ", None, named, 5)
        assert str(raised.value) == UNKNOWN_CURSOR


async def test_search_examines_a_bounded_number_of_candidates_per_page(store: Storage) -> None:
    await store.create_room("quiet", RoomKind.PUBLIC, "bob", NOW)
    await store.create_room("busy", RoomKind.PUBLIC, "alice", NOW)
    await append(store, "quiet", "bob", "common old")
    await append(store, "quiet", "bob", "common older")  # the newer of bob's two
    count = MAX_CANDIDATES + 50  # matches in a room bob is not in, all newer than his
    for start in range(0, count, 200):
        await asyncio.gather(
            *(append(store, "busy", "alice", f"common {n}") for n in range(start, start + 200))
        )
    page = await store.search("bob", "common", None, None, 20)
    assert (page.found, page.has_more) == ([], True)  # stopped at the bound, short
    assert page.next is not None
    rest = await store.search("bob", "common", None, page.next, 20)
    assert ([f.body for f in rest.found], rest.has_more) == (["common older", "common old"], False)
    full = await store.search("alice", "common", None, None, 20)  # alice's: a full page
    assert len(full.found) == 20 and full.has_more


async def test_search_finds_rare_matches_under_thousands_of_newer_messages(
    store: Storage,
) -> None:
    await store.create_room("r", RoomKind.PUBLIC, "alice", NOW)
    await append(store, "r", "alice", "a needle, oldest")
    await append(store, "r", "alice", "a NEEDLE, older")
    for start in range(0, 2500, 250):  # more than a backend reads before it chooses a plan
        await asyncio.gather(
            *(append(store, "r", "alice", f"hay {n}") for n in range(start, start + 250))
        )
    await append(store, "r", "alice", "the needle, newest")
    page = await store.search("alice", "needle", None, None, 20)
    assert [f.body for f in page.found] == [
        "the needle, newest",
        "a NEEDLE, older",
        "a needle, oldest",
    ]
    assert not page.has_more


async def test_search_refuses_a_query_shorter_than_three_characters(store: Storage) -> None:
    await store.create_room("r", RoomKind.PUBLIC, "alice", NOW)
    await append(store, "r", "alice", "ab ab ab")
    with pytest.raises(BadRequest, match="at least 3 characters"):
        await store.search("alice", "ab", None, None, 5)


# --- 14. one first admin -----------------------------------------------------------------


async def test_the_first_account_is_the_admin_and_the_next_is_not(url: str) -> None:
    async with opened(url) as store:
        assert not await store.is_admin("alice")  # no such user yet
        await store.create_user("alice", "hash-of-alice", NOW)
        await store.create_user("bob", "hash-of-bob", NOW)
        assert await store.is_admin("alice")
        assert not await store.is_admin("bob")
        with pytest.raises(Conflict):  # a taken name changes nobody's role
            await store.create_user("alice", "another hash", NOW)
    async with opened(url) as store:  # kept
        assert [await store.is_admin(u) for u in ("alice", "bob")] == [True, False]


async def test_accounts_created_at_once_on_two_nodes_have_exactly_one_admin(url: str) -> None:
    names = [f"user{n}" for n in range(12)]
    async with opened(url) as one, opened(url) as two:
        created = await asyncio.gather(
            *(
                (one if n % 2 else two).create_user(name, "hash-of-" + name, NOW)
                for n, name in enumerate(names)
            )
        )
        assert created == [None] * len(names)
        admins = [name for name in names if await one.is_admin(name)]
        assert len(admins) == 1
        assert [name for name in names if await two.is_admin(name)] == admins
