"""The storage contract of consent (guarantee 18), on each backend through the public
interface only: pending invitations (kept, capped, accepted, declined, consumed by a join,
removed by a ban), blocks and their cap, a block refusing messages in a DM in the write,
and the DM policy.

``olive`` owns the rooms, ``mia`` is a member of them, ``max`` and ``otto`` are in none."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from support import Recorder

from hubbub.core.consent import Consent, DmPolicy, Invitation
from hubbub.core.events import MemberBanned, MemberJoined, Message, RoomChanged
from hubbub.core.models import RoomKind, dm_room_name
from hubbub.errors import Forbidden, NotFound, TooLarge
from hubbub.storage.base import Storage
from hubbub.storage.factory import build_storage

NOW = 1_764_000_000_000
USERS = ("olive", "mia", "max", "otto")


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
            await s.add_member(room, "mia", NOW, None)
        s.on_events = sink
        yield s


def say(room: str, user: str, body: str) -> Message:
    return Message(room=room, seq=0, ts=NOW, user=user, msg_id=body, client_msg_id=body, body=body)


async def test_an_invitation_is_pending_and_appends_nothing(store: Storage, sink: Recorder) -> None:
    invited = await store.invite("priv", "max", "mia", NOW + 1)
    assert invited == Invitation(room="priv", by="mia", ts=NOW + 1, private=True, topic="")
    assert sink.events == []
    assert await store.room_info("priv", "max") is None
    assert await store.members("priv") == ["mia", "olive"]
    assert await store.invitations("max") == [invited]
    # Again, or to a member: nothing changes.
    assert await store.invite("priv", "max", "olive", NOW + 2) is None
    assert await store.invite("priv", "mia", "olive", NOW + 2) is None
    assert await store.invitations("max") == [invited]
    assert await store.invitations("mia") == []
    assert sink.events == []


async def test_an_invitation_shows_the_room_as_it_is_now(store: Storage) -> None:
    await store.moderate(RoomChanged(room="pub", seq=0, ts=NOW, user="olive", topic="tea"))
    await store.invite("pub", "max", "olive", NOW)
    await store.invite("priv", "max", "olive", NOW + 1)
    assert await store.invitations("max") == [
        Invitation(room="pub", by="olive", ts=NOW, private=False, topic="tea"),
        Invitation(room="priv", by="olive", ts=NOW + 1, private=True, topic=""),
    ]


async def test_accepting_joins_by_the_inviter_once(store: Storage, sink: Recorder) -> None:
    await store.invite("priv", "max", "mia", NOW)
    joined = await store.accept_invitation("priv", "max", NOW + 5)
    assert joined.event == MemberJoined(room="priv", seq=3, ts=NOW + 5, user="max", by="mia")
    assert joined.info.name == "priv" and joined.info.read_seq == 3
    assert sink.events == [joined.event]
    assert await store.invitations("max") == []
    with pytest.raises(NotFound, match="no invitation to 'priv'"):
        await store.accept_invitation("priv", "max", NOW + 6)
    assert len(sink.events) == 1


async def test_no_invitation_and_no_room_answer_alike(store: Storage) -> None:
    answers = []
    for room in ("priv", "ghost"):
        for method in (
            store.accept_invitation(room, "otto", NOW),
            store.decline_invitation(room, "otto"),
        ):
            with pytest.raises(NotFound) as refused:
                await method
            answers.append(refused.value.message.replace(room, "<room>"))
    assert set(answers) == {"no invitation to '<room>'"}


async def test_declining_deletes_it_and_appends_nothing(store: Storage, sink: Recorder) -> None:
    before = await store.history("priv", None, None, 50)
    await store.invite("priv", "max", "mia", NOW)
    await store.decline_invitation("priv", "max")
    assert await store.invitations("max") == []
    assert await store.history("priv", None, None, 50) == before
    assert sink.events == []
    # A declined invitation may be sent again.
    assert await store.invite("priv", "max", "mia", NOW + 1) is not None


async def test_a_join_consumes_an_invitation_and_a_ban_removes_one(store: Storage) -> None:
    await store.invite("pub", "max", "mia", NOW)
    await store.add_member("pub", "max", NOW, None)
    assert await store.invitations("max") == []
    await store.invite("priv", "otto", "mia", NOW)
    await store.moderate(MemberBanned(room="priv", seq=0, ts=NOW, user="otto", by="olive"))
    assert await store.invitations("otto") == []
    with pytest.raises(NotFound):
        await store.accept_invitation("priv", "otto", NOW)
    with pytest.raises(Forbidden, match="banned"):
        await store.invite("priv", "otto", "mia", NOW)
    assert await store.invitations("otto") == []


async def test_an_invitation_is_checked_in_the_write(store: Storage) -> None:
    with pytest.raises(NotFound, match="no user named 'zed'"):
        await store.invite("priv", "zed", "mia", NOW)
    with pytest.raises(NotFound, match="no room named 'priv'"):  # otto is not in it
        await store.invite("priv", "max", "otto", NOW)
    with pytest.raises(Forbidden, match="join 'pub'"):
        await store.invite("pub", "max", "otto", NOW)
    with pytest.raises(NotFound, match="no room named 'ghost'"):
        await store.invite("ghost", "max", "mia", NOW)
    assert await store.invitations("max") == []


async def test_the_caps_of_pending_invitations(store: Storage) -> None:
    for n in range(3):
        await store.create_room(f"r{n}", RoomKind.PRIVATE, "olive", NOW)
        await store.add_member(f"r{n}", "mia", NOW, None)
    caps = {"per_invitee": 3, "per_inviter": 2}
    await store.invite("r0", "max", "olive", NOW, **caps)
    await store.invite("r1", "max", "olive", NOW, **caps)
    with pytest.raises(TooLarge, match="you have 2 pending invitations"):
        await store.invite("r2", "max", "olive", NOW, **caps)
    await store.invite("r2", "max", "mia", NOW, **caps)
    with pytest.raises(TooLarge, match="'max' has 3 pending invitations"):
        await store.invite("priv", "max", "mia", NOW, **caps)
    assert [i.room for i in await store.invitations("max")] == ["r0", "r1", "r2"]
    # Accepting one frees a place under both caps.
    await store.accept_invitation("r0", "max", NOW)
    await store.invite("priv", "max", "olive", NOW, **caps)


async def test_blocks_and_their_cap(store: Storage) -> None:
    assert await store.block("mia", "max", NOW) is True
    assert await store.block("mia", "max", NOW) is False
    with pytest.raises(NotFound, match="no user named 'zed'"):
        await store.block("mia", "zed", NOW)
    with pytest.raises(TooLarge, match="at most 1 users"):
        await store.block("mia", "otto", NOW, cap=1)
    await store.block("mia", "otto", NOW, cap=2)
    assert await store.blocks("mia") == ["max", "otto"]
    assert await store.blocks("max") == []
    assert await store.unblock("mia", "max") is True
    assert await store.unblock("mia", "max") is False
    assert await store.blocks("mia") == ["otto"]


async def test_a_block_refuses_messages_in_the_dm_in_the_write(store: Storage) -> None:
    dm = dm_room_name("mia", "max")
    await store.open_dm(dm, ("mia", "max"), "max", NOW)
    await store.append(say(dm, "max", "hello"))
    await store.block("mia", "max", NOW)
    with pytest.raises(Forbidden, match="'mia' does not accept direct messages from you"):
        await store.append(say(dm, "max", "hello again"))
    await store.append(say(dm, "mia", "she still can"))
    await store.unblock("mia", "max")
    await store.append(say(dm, "max", "after all"))
    page = await store.history(dm, None, None, 50)
    bodies = [e.body for e in page.events if isinstance(e, Message)]
    assert bodies == ["hello", "she still can", "after all"]


async def test_consent_and_the_dm_policy(store: Storage) -> None:
    assert await store.dm_policy("max") == DmPolicy.EVERYONE
    assert await store.consent("mia", "olive") == Consent(DmPolicy.EVERYONE, False, True)
    assert await store.consent("mia", "max") == Consent(DmPolicy.EVERYONE, False, False)
    await store.set_dm_policy("mia", DmPolicy.SHARED_ROOMS)
    await store.block("mia", "olive", NOW)
    assert await store.dm_policy("mia") == DmPolicy.SHARED_ROOMS
    assert await store.consent("mia", "olive") == Consent(DmPolicy.SHARED_ROOMS, True, True)
    assert await store.consent("olive", "mia") == Consent(DmPolicy.EVERYONE, False, True)
    await store.set_dm_policy("mia", DmPolicy.NOBODY)
    assert await store.dm_policy("mia") == DmPolicy.NOBODY
    with pytest.raises(NotFound):
        await store.set_dm_policy("zed", DmPolicy.NOBODY)
    assert await store.dm_policy("zed") == DmPolicy.EVERYONE
