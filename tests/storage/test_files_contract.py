"""The storage contract for files (guarantee 15 of ``hubbub/storage/base.py``), on each backend
as ``test_contract.py`` runs them, through the public interface only; and ``migrate-to``
copying the files of an SQLite deployment into PostgreSQL.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import msgspec
import pg
import pytest
from support import Recorder

from hubbub.core.events import Event, Message, MessageDeleted
from hubbub.core.files import FileInfo, StoredFile, file_ref
from hubbub.core.models import RoomKind
from hubbub.errors import Conflict, NotFound, TooLarge
from hubbub.storage.base import Storage
from hubbub.storage.factory import build_storage, sqlite_url
from hubbub.storage.transfer import move

NOW = 1_764_000_000_000
QUOTA = 10_000


# The URL of a fresh, empty storage of each backend, for one test (as in test_contract.py).
@asynccontextmanager
async def opened(url: str, sink: Recorder | None = None) -> AsyncIterator[Storage]:
    store = build_storage(url)
    if sink is not None:
        store.on_events = sink
    async with store:
        yield store


async def log_of(store: Storage, room: str) -> list[Event]:
    replay = await store.replay_since(room, 0, 100_000)
    assert replay.events is not None
    return replay.events


def bodies(events: list[Event]) -> list[str]:
    return [e.body for e in events if isinstance(e, Message)]


def delete(room: str, user: str, target: int) -> MessageDeleted:
    return MessageDeleted(room=room, seq=0, ts=NOW, user=user, target=target)


@pytest.fixture
async def store(url: str) -> AsyncIterator[Storage]:
    async with opened(url, Recorder()) as s:
        for user in ("alice", "bob", "carol"):
            await s.create_user(user, "hash-of-" + user, NOW)
        await s.create_room("team", RoomKind.PUBLIC, "alice", NOW)
        await s.add_member("team", "bob", NOW, None)
        await s.create_room("other", RoomKind.PRIVATE, "alice", NOW)
        yield s


def a_file(
    file_id: str,
    uploader: str = "alice",
    room: str = "team",
    size: int = 100,
    blob: str = "a" * 64,
    thumb: str | None = None,
    created_at: int = NOW,
) -> StoredFile:
    info = FileInfo(
        id=file_id,
        name=f"{file_id}.png",
        size=size,
        type="image/png",
        width=3,
        height=2,
        thumb=thumb is not None,
    )
    return StoredFile(
        info=info,
        sha256=blob,
        thumb_sha256=thumb,
        uploader=uploader,
        room=room,
        created_at=created_at,
    )


def with_files(
    author: str, body: str, ids: list[str], client_msg_id: str, room: str = "team"
) -> Message:
    return Message(
        room=room,
        seq=0,
        ts=NOW,
        user=author,
        msg_id="m-" + client_msg_id,
        client_msg_id=client_msg_id,
        body=body,
        files=tuple(file_ref(i) for i in ids),
    )


async def test_a_pending_file_is_kept_as_given(store: Storage) -> None:
    file = a_file("f1", thumb="b" * 64)
    await store.add_file(file, QUOTA)
    assert await store.file("f1") == file
    assert await store.file("nothing") is None
    assert await store.file_usage("alice") == 100
    assert await store.file_usage("bob") == 0


async def test_only_members_upload_and_within_their_quota(store: Storage) -> None:
    with pytest.raises(NotFound):
        await store.add_file(a_file("c1", uploader="carol"), QUOTA)  # not in team
    with pytest.raises(NotFound):
        await store.add_file(a_file("b1", uploader="bob", room="other"), QUOTA)
    with pytest.raises(NotFound):
        await store.add_file(a_file("x1", room="nowhere"), QUOTA)
    await store.add_file(a_file("f1", size=6000), QUOTA)
    with pytest.raises(TooLarge, match="quota"):
        await store.add_file(a_file("f2", size=4001), QUOTA)
    await store.add_file(a_file("f3", size=4000), QUOTA)  # exactly the quota
    assert await store.file("f2") is None
    assert await store.file_usage("alice") == QUOTA


async def test_the_quota_holds_however_many_uploads_race(store: Storage) -> None:
    """Checked in the write: of twenty at once, only what fits is kept."""
    results = await asyncio.gather(
        *(store.add_file(a_file(f"r{i}", size=1000), QUOTA) for i in range(20)),
        return_exceptions=True,
    )
    assert sum(r is None for r in results) == 10
    assert all(isinstance(r, TooLarge) for r in results if r is not None)
    assert await store.file_usage("alice") == QUOTA


async def test_a_message_attaches_its_files_as_stored(store: Storage) -> None:
    await store.add_file(a_file("f1"), QUOTA)
    await store.add_file(a_file("f2", thumb="c" * 64), QUOTA)
    sent = await store.append(with_files("alice", "", ["f2", "f1"], "c1"))
    assert not sent.duplicate
    message = sent.event
    expected = (a_file("f2", thumb="c" * 64).info, a_file("f1").info)
    assert message.files == expected  # in the order named, as stored (not the refs)
    assert message.body == ""
    for file_id in ("f1", "f2"):
        stored = await store.file(file_id)
        assert stored is not None and stored.seq == message.seq
    (read,) = [e for e in await log_of(store, "team") if isinstance(e, Message)]
    assert read == message
    page = await store.history("team", None, None, 50, reader="bob")
    assert page.events[-1] == message


async def test_files_attach_to_their_uploaders_messages_in_their_room_only(
    store: Storage,
) -> None:
    await store.add_file(a_file("mine"), QUOTA)
    await store.add_file(a_file("elsewhere", room="other"), QUOTA)
    with pytest.raises(NotFound, match="'mine'"):
        await store.append(with_files("bob", "hers", ["mine"], "b1"))
    with pytest.raises(NotFound, match="'elsewhere'"):
        await store.append(with_files("alice", "wrong room", ["elsewhere"], "a1"))
    with pytest.raises(NotFound, match="'ghost'"):
        await store.append(with_files("alice", "no such", ["mine", "ghost"], "a2"))
    # Nothing of a refused message stays: no event, no file attached.
    assert bodies(await log_of(store, "team")) == []
    stored = await store.file("mine")
    assert stored is not None and stored.seq is None


async def test_a_file_attaches_to_one_message_only(store: Storage) -> None:
    await store.add_file(a_file("f1"), QUOTA)
    first = await store.append(with_files("alice", "one", ["f1"], "c1"))
    with pytest.raises(Conflict):
        await store.append(with_files("alice", "two", ["f1"], "c2"))
    again = await store.append(with_files("alice", "one", ["f1"], "c1"))  # a retry
    assert again.duplicate and again.event == first.event
    assert bodies(await log_of(store, "team")) == ["one"]


async def test_two_messages_racing_for_a_file_one_gets_it(store: Storage) -> None:
    await store.add_file(a_file("f1"), QUOTA)
    results = await asyncio.gather(
        *(store.append(with_files("alice", f"m{i}", ["f1"], f"c{i}")) for i in range(5)),
        return_exceptions=True,
    )
    won = [r for r in results if not isinstance(r, BaseException)]
    assert len(won) == 1
    assert all(isinstance(r, Conflict) for r in results if isinstance(r, BaseException))
    stored = await store.file("f1")
    assert stored is not None and stored.seq == won[0].event.seq


async def test_deleting_the_message_drops_its_files_at_once(store: Storage) -> None:
    await store.add_file(a_file("f1", size=700), QUOTA)
    await store.add_file(a_file("f2", size=300), QUOTA)
    sent = await store.append(with_files("alice", "both", ["f1", "f2"], "c1"))
    changed = await store.delete_message(delete("team", "alice", sent.event.seq))
    assert changed.message.deleted and changed.message.files == ()
    assert await store.file("f1") is None and await store.file("f2") is None
    assert await store.file_usage("alice") == 0
    shown = [e for e in await log_of(store, "team") if isinstance(e, Message)]
    assert shown == [changed.message]
    assert await store.referenced_blobs(["a" * 64]) == set()


async def test_pending_files_past_their_time_are_dropped(store: Storage) -> None:
    await store.add_file(a_file("old", created_at=NOW - 10), QUOTA)
    await store.add_file(a_file("new", created_at=NOW), QUOTA)
    await store.add_file(a_file("sent", created_at=NOW - 10), QUOTA)
    await store.append(with_files("alice", "kept", ["sent"], "c1"))
    assert await store.drop_pending_files(NOW) == 1
    assert await store.file("old") is None
    assert await store.file("new") is not None and await store.file("sent") is not None
    assert await store.drop_pending_files(NOW) == 0


async def test_referenced_blobs_are_contents_and_thumbnails_still_stored(
    store: Storage,
) -> None:
    content, thumb, shared, orphan = "1" * 64, "2" * 64, "3" * 64, "4" * 64
    await store.add_file(a_file("f1", blob=content, thumb=thumb), QUOTA)
    await store.add_file(a_file("f2", blob=shared), QUOTA)
    await store.add_file(a_file("f3", blob=shared), QUOTA)
    asked = [content, thumb, shared, orphan]
    assert await store.referenced_blobs(asked) == {content, thumb, shared}
    assert await store.referenced_blobs([]) == set()
    many = [f"{i:064x}" for i in range(2000)] + [content]  # more than one query's worth
    assert await store.referenced_blobs(many) == {content}
    sent = await store.append(with_files("alice", "one of two", ["f2"], "c1"))
    await store.delete_message(delete("team", "alice", sent.event.seq))
    assert await store.referenced_blobs(asked) == {content, thumb, shared}  # f3 still has it


async def test_migrate_to_copies_the_files(tmp_path: Path) -> None:
    source = sqlite_url(tmp_path / "hubbub.sqlite3")
    async with opened(source) as old:
        await old.create_user("alice", "h", NOW)
        await old.create_room("team", RoomKind.PUBLIC, "alice", NOW)
        await old.add_file(a_file("f1", thumb="b" * 64), QUOTA)
        await old.add_file(a_file("f2"), QUOTA)
        sent = (await old.append(with_files("alice", "", ["f1"], "c1"))).event
    target = pg.fresh_database()
    moved = await asyncio.to_thread(move, source, target)
    assert ("files", 2) in moved.counts
    async with opened(target) as new:
        (message,) = [e for e in await log_of(new, "team") if isinstance(e, Message)]
        assert message == sent
        assert await new.file("f1") == msgspec.structs.replace(
            a_file("f1", thumb="b" * 64), seq=sent.seq
        )
        assert await new.file("f2") == a_file("f2")
