"""The storage contract of moderation (guarantee 17), on each backend through the public
interface only: who may kick, ban, mute and change a room's settings, checked in the write;
what a ban and a mute keep a user from; and the audit log written with each event.

``root`` is the server's admin (the first account); ``olive`` owns the rooms, ``adam`` is an
admin of them, ``mia`` and ``max`` are members and ``otto`` is in none of them."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from support import Recorder

from hubbub.core.events import (
    Event,
    MemberBanned,
    MemberKicked,
    MemberMuted,
    MemberUnbanned,
    MemberUnmuted,
    Message,
    MessageDeleted,
    ReactionAdded,
    Role,
    RoleChanged,
    RoomChanged,
)
from hubbub.core.models import RoomKind
from hubbub.errors import BadRequest, Forbidden, NotFound
from hubbub.storage.base import Storage
from hubbub.storage.factory import build_storage

NOW = 1_764_000_000_000
USERS = ("root", "olive", "adam", "mia", "max", "otto")


@pytest.fixture
def sink() -> Recorder:
    return Recorder()


@pytest.fixture
async def store(url: str, sink: Recorder) -> AsyncIterator[Storage]:
    async with build_storage(url) as s:
        for user in USERS:
            await s.create_user(user, "hash-of-" + user, NOW)
        for room, kind in (("pub", RoomKind.PUBLIC), ("priv", RoomKind.PRIVATE)):
            await s.create_room(room, kind, "olive", NOW)
            for member in ("adam", "mia", "max"):
                await s.add_member(room, member, NOW, "olive")
            await s.set_role(
                RoleChanged(room=room, seq=0, ts=NOW, user="olive", member="adam", role=Role.ADMIN)
            )
        s.on_events = sink
        yield s


def by(actor: str, room: str = "pub", ts: int = NOW) -> dict[str, Any]:
    return {"room": room, "seq": 0, "ts": ts, "by": actor}


def say(room: str, user: str, body: str, ts: int = NOW) -> Message:
    return Message(room=room, seq=0, ts=ts, user=user, msg_id=body, client_msg_id=body, body=body)


async def test_a_kick_removes_the_member_who_may_join_again(store: Storage, sink: Recorder) -> None:
    kicked = await store.moderate(MemberKicked(**by("adam"), user="mia"))
    assert isinstance(kicked, MemberKicked) and kicked.seq > 0
    assert kicked.user == "mia" and kicked.by == "adam"
    assert sink.events[-1] == kicked  # published with its commit
    assert "mia" not in await store.members("pub")
    assert await store.room_info("pub", "mia") is None
    with pytest.raises(NotFound, match="not a member"):
        await store.moderate(MemberKicked(**by("adam"), user="mia"))
    joined = await store.add_member("pub", "mia", NOW, None)
    assert joined.event is not None
    [entry] = await store.audit(None, 10)
    assert (entry.actor, entry.action, entry.room, entry.target) == ("adam", "kick", "pub", "mia")
    assert entry.ts == NOW


async def test_a_ban_keeps_the_user_out_until_it_is_lifted(store: Storage) -> None:
    banned = await store.moderate(MemberBanned(**by("olive"), user="max", reason="spam"))
    assert isinstance(banned, MemberBanned) and banned.reason == "spam"
    assert "max" not in await store.members("pub")
    assert await store.is_banned("pub", "max") and not await store.is_banned("priv", "max")
    with pytest.raises(Forbidden, match="you are banned"):
        await store.add_member("pub", "max", NOW, None)
    with pytest.raises(Forbidden, match="'max' is banned"):
        await store.add_member("pub", "max", NOW, "mia")
    with pytest.raises(Forbidden):  # a banned user is no member: nothing in the room is theirs
        await store.append(say("pub", "max", "let me in"))
    # A second ban changes nothing and logs nothing; a user who is no member may be banned.
    assert await store.moderate(MemberBanned(**by("olive"), user="max")) is None
    assert await store.moderate(MemberBanned(**by("olive"), user="otto")) is not None
    with pytest.raises(Forbidden):
        await store.add_member("pub", "otto", NOW, None)

    unbanned = await store.moderate(MemberUnbanned(**by("adam"), user="max"))
    assert isinstance(unbanned, MemberUnbanned)
    assert await store.moderate(MemberUnbanned(**by("adam"), user="max")) is None
    assert not await store.is_banned("pub", "max")
    assert (await store.add_member("pub", "max", NOW, None)).event is not None
    actions = [(e.action, e.target, e.detail) for e in await store.audit(None, 10)]
    assert actions == [("unban", "max", ""), ("ban", "otto", ""), ("ban", "max", "spam")]


async def test_a_mute_refuses_messages_and_reactions_until_it_ends(store: Storage) -> None:
    hi = (await store.append(say("pub", "olive", "hi"))).event
    await store.append(say("pub", "mia", "before"))  # as the writer knew her: not muted
    until = NOW + 60_000
    muted = await store.moderate(MemberMuted(**by("adam"), user="mia", until=until))
    assert isinstance(muted, MemberMuted) and muted.until == until
    assert "mia" in await store.members("pub")  # a muted member stays
    with pytest.raises(Forbidden, match="you are muted in 'pub'"):
        await store.append(say("pub", "mia", "ahem", ts=until - 1))
    up = ReactionAdded(room="pub", seq=0, ts=until - 1, user="mia", target=hi.seq, emoji="👍")
    with pytest.raises(Forbidden, match="muted"):
        await store.react(up)
    await store.append(say("priv", "mia", "elsewhere", ts=until - 1))  # only in that room
    # Decided by the event's time: from ``until`` on, the mute is over.
    await store.append(say("pub", "mia", "back", ts=until))
    # The same mute again changes nothing; one until lifted lasts until it is lifted.
    assert await store.moderate(MemberMuted(**by("adam"), user="mia", until=until)) is None
    assert await store.moderate(MemberMuted(**by("adam"), user="mia")) is not None
    with pytest.raises(Forbidden, match="until a moderator unmutes you"):
        await store.append(say("pub", "mia", "later", ts=until * 2))
    assert await store.moderate(MemberUnmuted(**by("olive"), user="mia")) is not None
    assert await store.moderate(MemberUnmuted(**by("olive"), user="mia")) is None
    await store.append(say("pub", "mia", "free", ts=until * 2))
    await store.react(up)
    # An expired mute is no mute: lifting it changes nothing.
    await store.moderate(MemberMuted(**by("adam"), user="max", until=NOW + 1))
    assert await store.moderate(MemberUnmuted(**by("adam", ts=NOW + 1), user="max")) is None


async def test_a_mute_outlasts_leaving_and_joining_again(store: Storage) -> None:
    await store.moderate(MemberMuted(**by("adam"), user="mia"))
    await store.remove_member("pub", "mia", NOW)
    await store.add_member("pub", "mia", NOW, None)
    with pytest.raises(Forbidden, match="muted"):
        await store.append(say("pub", "mia", "fresh start?"))


@pytest.mark.parametrize(
    ("actor", "allowed"),
    [("root", True), ("olive", True), ("adam", True), ("mia", False), ("otto", False)],
)
async def test_who_may_moderate_a_member(store: Storage, actor: str, allowed: bool) -> None:
    """The server's admin, the owner and an admin may; a member and an outsider may not:
    the outsider of a private room learns nothing (``NotFound``, as for no such room)."""
    for room in ("pub", "priv"):
        change = MemberKicked(**by(actor, room), user="max")
        if allowed:
            assert await store.moderate(change) is not None
        elif room == "priv" and actor == "otto":
            with pytest.raises(NotFound, match="no room named 'priv'"):
                await store.moderate(change)
        else:
            with pytest.raises(Forbidden, match="only the room's owner and admins"):
                await store.moderate(change)
    assert len(await store.audit(None, 10)) == (2 if allowed else 0)


async def test_each_acts_only_on_those_below_them(store: Storage) -> None:
    await store.add_member("pub", "root", NOW, None)
    await store.set_role(
        RoleChanged(room="pub", seq=0, ts=NOW, user="olive", member="mia", role=Role.ADMIN)
    )
    for actor, target in (("adam", "olive"), ("adam", "mia"), ("olive", "root")):
        for change in (
            MemberKicked(**by(actor), user=target),
            MemberBanned(**by(actor), user=target),
            MemberMuted(**by(actor), user=target),
        ):
            with pytest.raises(Forbidden, match="as high as you"):
                await store.moderate(change)
    for actor in ("olive", "adam", "root"):
        with pytest.raises(BadRequest, match="yourself"):
            await store.moderate(MemberBanned(**by(actor), user=actor))
    assert await store.moderate(MemberMuted(**by("root"), user="olive")) is not None
    assert await store.moderate(MemberKicked(**by("olive"), user="adam")) is not None
    with pytest.raises(NotFound, match="no user named"):
        await store.moderate(MemberBanned(**by("olive"), user="nobody"))
    assert await store.audit(None, 10) != []


async def test_a_dm_has_no_moderation(store: Storage) -> None:
    await store.open_dm("dm:mia:root", ("mia", "root"), "mia", NOW)
    with pytest.raises(Forbidden, match="direct-message"):
        await store.moderate(MemberKicked(**by("root", "dm:mia:root"), user="mia"))
    with pytest.raises(NotFound):
        await store.moderate(MemberKicked(**by("olive", "dm:mia:root"), user="mia"))


async def test_room_settings_change_the_topic_and_the_kind(store: Storage) -> None:
    change = RoomChanged(room="priv", seq=0, ts=NOW, user="adam", topic="plans", private=False)
    stored = await store.moderate(change)
    assert isinstance(stored, RoomChanged) and stored.topic == "plans" and stored.private is False
    room = await store.get_room("priv")
    assert room is not None and room.kind == RoomKind.PUBLIC
    # Only what differs is changed and told; nothing that differs appends nothing.
    assert await store.moderate(change) is None
    again = await store.moderate(
        RoomChanged(room="priv", seq=0, ts=NOW, user="olive", topic="plans", private=True)
    )
    assert isinstance(again, RoomChanged) and again.topic is None and again.private is True
    room = await store.get_room("priv")
    assert room is not None and room.kind == RoomKind.PRIVATE
    with pytest.raises(NotFound):  # an outsider of a private room
        await store.moderate(RoomChanged(room="priv", seq=0, ts=NOW, user="otto", topic="mine"))
    with pytest.raises(Forbidden, match="change its settings"):
        await store.moderate(RoomChanged(room="pub", seq=0, ts=NOW, user="mia", topic="x"))
    [entry, first] = (await store.audit(None, 10))[:2]
    assert (entry.action, entry.target, entry.detail) == ("room_settings", None, "private=true")
    assert first.detail == "topic=plans private=false"


async def test_the_server_admin_deletes_any_message_but_in_a_dm(store: Storage) -> None:
    said = (await store.append(say("priv", "mia", "oops"))).event
    deleted = await store.delete_message(
        MessageDeleted(room="priv", seq=0, ts=NOW, user="root", target=said.seq)
    )
    assert deleted.event is not None and deleted.message.deleted
    [entry] = await store.audit(None, 10)
    assert (entry.actor, entry.action, entry.target, entry.detail) == (
        "root",
        "delete",
        "mia",
        f"seq={said.seq}",
    )
    # Deleting one's own message is no moderation: not logged.
    mine = (await store.append(say("priv", "mia", "mine"))).event
    await store.delete_message(
        MessageDeleted(room="priv", seq=0, ts=NOW, user="mia", target=mine.seq)
    )
    assert len(await store.audit(None, 10)) == 1
    await store.open_dm("dm:max:mia", ("max", "mia"), "mia", NOW)
    dm = (await store.append(say("dm:max:mia", "mia", "private words"))).event
    with pytest.raises(NotFound):
        await store.delete_message(
            MessageDeleted(room="dm:max:mia", seq=0, ts=NOW, user="root", target=dm.seq)
        )


async def test_the_audit_log_reads_newest_first_in_pages(store: Storage) -> None:
    for n in range(5):
        await store.moderate(RoomChanged(room="pub", seq=0, ts=NOW + n, user="olive", topic=f"{n}"))
    entries = await store.audit(None, 50)
    assert [e.detail for e in entries] == [f"topic={n}" for n in range(4, -1, -1)]
    assert [e.id for e in entries] == sorted((e.id for e in entries), reverse=True)
    page = await store.audit(entries[1].id, 2)
    assert page == entries[2:4]
    assert await store.audit(entries[-1].id, 2) == []


async def test_moderation_events_are_in_the_log_with_their_fields(store: Storage) -> None:
    changes: list[Event] = []
    for change in (
        MemberMuted(**by("adam"), user="mia", until=NOW + 5),
        MemberBanned(**by("adam"), user="max", reason="flood"),
        RoomChanged(room="pub", seq=0, ts=NOW, user="adam", topic="t"),
    ):
        stored = await store.moderate(change)
        assert stored is not None
        changes.append(stored)
    replay = await store.replay_since("pub", changes[0].seq - 1, 100)
    assert replay.events == changes
