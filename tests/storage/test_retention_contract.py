"""The storage contract of retention (guarantee 21) and of a room's title and retention
settings, on each backend through the public interface only: a pass deletes what is due as
a delete does (events published and replayed, edits, reactions, replies, search and files
alike) and nothing else, a room's setting wins over the server's, one audit entry per room
and pass, and two passes at once delete each message once."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
from support import Recorder

from hubbub.core.events import (
    Event,
    Message,
    MessageDeleted,
    MessageEdited,
    ReactionAdded,
    RoomChanged,
)
from hubbub.core.files import FileInfo, StoredFile, file_ref
from hubbub.core.models import RoomKind
from hubbub.core.retention import DAY_MS, RETENTION_ACTION, RETENTION_DELETER
from hubbub.service.retention import run_pass
from hubbub.storage.base import Storage
from hubbub.storage.factory import build_storage

NOW = 1_764_000_000_000


@pytest.fixture
def sink() -> Recorder:
    return Recorder()


@pytest.fixture
async def store(url: str, sink: Recorder) -> AsyncIterator[Storage]:
    async with build_storage(url) as s:
        for user in ("root", "olive", "mia"):
            await s.create_user(user, "hash-of-" + user, NOW)
        for room in ("short", "long"):
            await s.create_room(room, RoomKind.PUBLIC, "olive", NOW)
            await s.add_member(room, "mia", NOW, None)
        await s.open_dm("dm:mia:olive", ("mia", "olive"), "mia", NOW)
        s.on_events = sink
        yield s


def say(room: str, body: str, ts: int, **more: Any) -> Message:
    key = f"{room}-{body}"
    return Message(
        room=room, seq=0, ts=ts, user="mia", msg_id=key, client_msg_id=key, body=body, **more
    )


async def post(store: Storage, room: str, body: str, ts: int, **more: Any) -> int:
    return (await store.append(say(room, body, ts, **more))).event.seq


async def settings(store: Storage, room: str, **changed: Any) -> RoomChanged | None:
    change = RoomChanged(room=room, seq=0, ts=NOW, user="olive", **changed)
    stored = await store.moderate(change)
    assert stored is None or isinstance(stored, RoomChanged)
    return stored


async def log_of(store: Storage, room: str) -> list[Event]:
    replay = await store.replay_since(room, 0, 100_000)
    assert replay.events is not None
    return replay.events


def live(events: list[Event]) -> list[str]:
    return [e.body for e in events if isinstance(e, Message) and not e.deleted]


async def test_a_pass_deletes_what_is_due_and_nothing_else(store: Storage, sink: Recorder) -> None:
    cutoff = NOW - 10 * DAY_MS
    for i in range(5):  # more than a batch of 2: the pass takes several writes
        await post(store, "short", f"old{i}", cutoff - 1000 * (i + 1))
    await post(store, "short", "at-cutoff", cutoff)
    await post(store, "short", "one-second-younger", cutoff + 1000)
    for room in ("long", "dm:mia:olive"):
        await post(store, room, "old", cutoff - 1000)
    await settings(store, "long", retention_days=30)  # longer than the server's: it wins

    done = await run_pass(store, server_days=10, now=NOW, batch=2)

    assert (done.rooms, done.deleted) == (2, 6)
    assert live(await log_of(store, "short")) == ["at-cutoff", "one-second-younger"]
    assert live(await log_of(store, "long")) == ["old"]
    assert live(await log_of(store, "dm:mia:olive")) == []  # a DM follows the server
    deletes = [e for e in sink.events if isinstance(e, MessageDeleted)]
    assert len(deletes) == 6
    assert {(e.user, e.ts) for e in deletes} == {(RETENTION_DELETER, NOW)}
    # As published, so replayed: a client resuming from before the pass sees them.
    assert [e for e in await log_of(store, "short") if isinstance(e, MessageDeleted)] == [
        e for e in deletes if e.room == "short"
    ]
    # One audit entry per room and pass, however many writes it took.
    entries = [e for e in await store.audit(None, 10) if e.action == RETENTION_ACTION]
    assert sorted((e.room, e.detail) for e in entries) == [
        ("dm:mia:olive", f"deleted=1 before={cutoff}"),
        ("short", f"deleted=5 before={cutoff}"),
    ]
    # A second pass finds nothing due and writes nothing.
    published = len(sink.events)
    assert await run_pass(store, server_days=10, now=NOW, batch=2) == type(done)(0, 0)
    assert len(sink.events) == published
    assert len(await store.audit(None, 10)) == len(entries) + 1  # and the settings change


async def test_a_room_setting_overrides_the_server_and_may_keep_for_ever(store: Storage) -> None:
    old = NOW - 400 * DAY_MS
    await post(store, "short", "old", old)
    await post(store, "long", "old", old)
    await settings(store, "short", retention_days=1)
    await settings(store, "long", retention_days=0)  # for ever, whatever the server says
    await run_pass(store, server_days=0, now=NOW)
    assert live(await log_of(store, "short")) == []
    assert live(await log_of(store, "long")) == ["old"]
    await run_pass(store, server_days=30, now=NOW)
    assert live(await log_of(store, "long")) == ["old"]
    # Back to the server's setting (-1): now it is due.
    assert await settings(store, "long", retention_days=-1) is not None
    assert (await store.room_info("long", "mia")).retention_days is None  # type: ignore[union-attr]
    assert (await run_pass(store, server_days=30, now=NOW)).deleted == 1


async def test_retention_deletes_as_a_delete_does(store: Storage) -> None:
    old = NOW - 2 * DAY_MS
    root = await post(store, "short", "root needle", old)
    reply = await post(store, "short", "reply needle", old, reply_to=root)
    young = await post(store, "short", "young needle", NOW, reply_to=root)
    await store.edit_message(
        MessageEdited(room="short", seq=0, ts=old, user="mia", target=reply, body="edited needle")
    )
    await store.react(
        ReactionAdded(room="short", seq=0, ts=old, user="olive", target=young, emoji="👍")
    )
    await store.react(
        ReactionAdded(room="short", seq=0, ts=old, user="olive", target=root, emoji="👍")
    )
    blob = "b" * 64
    info = FileInfo(id="f1", name="f1.png", size=10, type="image/png", width=1, height=1)
    await store.add_file(
        StoredFile(
            info=info,
            sha256=blob,
            thumb_sha256=None,
            uploader="mia",
            room="short",
            created_at=old,
        ),
        10_000,
    )
    await post(store, "short", "with a file", old, files=(file_ref("f1"),))

    assert (await run_pass(store, server_days=1, now=NOW)).deleted == 3

    events = await log_of(store, "short")
    messages = {e.seq: e for e in events if isinstance(e, Message)}
    assert messages[root].deleted and messages[root].body == ""
    assert messages[reply].deleted
    assert messages[young].body == "young needle" and messages[young].thread == root
    assert messages[root].replies == 1  # the reply went, as a delete takes one off
    # The edit's body is erased with its message, as a delete erases it.
    assert [e.body for e in events if isinstance(e, MessageEdited)] == [""]
    page = await store.history("short", None, None, 50, reader="olive")
    shown = {m.seq: m for m in page.events if isinstance(m, Message)}
    assert shown[young].reactions and not shown[root].reactions
    found = await store.search("mia", "needle", None, None, 10)
    assert [f.body for f in found.found] == ["young needle"]
    # The file's row goes with its message: unreachable, and its blob left to the sweep.
    assert await store.file("f1") is None
    assert await store.referenced_blobs([blob]) == set()


async def test_passes_at_once_delete_each_message_once(store: Storage, sink: Recorder) -> None:
    for i in range(7):
        await post(store, "short", f"old{i}", NOW - DAY_MS - 1 - i)
    first, second = await asyncio.gather(
        run_pass(store, server_days=1, now=NOW, batch=3),
        run_pass(store, server_days=1, now=NOW, batch=3),
    )
    assert first.deleted + second.deleted == 7
    targets = [e.target for e in sink.events if isinstance(e, MessageDeleted)]
    assert sorted(targets) == sorted(set(targets)) and len(targets) == 7


async def test_title_topic_and_retention_are_shown_in_room_lists(store: Storage) -> None:
    changed = await settings(store, "short", title="Short-lived", topic="gone soon")
    assert changed is not None and (changed.title, changed.topic) == ("Short-lived", "gone soon")
    assert await settings(store, "short", title="Short-lived") is None  # the same: nothing
    changed = await settings(store, "short", title="Short-lived", retention_days=7)
    assert changed is not None and changed.title is None and changed.retention_days == 7
    info = await store.room_info("short", "mia")
    assert info is not None
    assert (info.title, info.topic, info.retention_days) == ("Short-lived", "gone soon", 7)
    [mine] = [r for r in await store.user_rooms("mia") if r.name == "short"]
    assert mine == info
    public = {r.name: r for r in await store.public_rooms()}
    assert (public["short"].title, public["short"].topic) == ("Short-lived", "gone soon")
    assert (public["long"].title, public["long"].topic) == ("", "")
    assert await settings(store, "short", title="") is not None  # cleared: the name is shown
    info = await store.room_info("short", "mia")
    assert info is not None and info.title == ""
    entries = [e.detail for e in await store.audit(None, 10)]
    assert entries[:2] == ["title=", "retention_days=7"]
