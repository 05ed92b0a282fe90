"""The storage contract of the lists a moderator reads, on each backend: the bans in force
(newest first, each with who banned and why) and who is muted now, and until when."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from hubbub.core.events import MemberBanned, MemberMuted, MemberUnbanned, MemberUnmuted
from hubbub.core.models import RoomKind
from hubbub.core.moderation import BanEntry
from hubbub.errors import NotFound
from hubbub.storage.base import Storage
from hubbub.storage.factory import build_storage

NOW = 1_764_000_000_000
USERS = ("olive", "mia", "max", "otto")


@pytest.fixture
async def store(url: str) -> AsyncIterator[Storage]:
    async with build_storage(url) as s:
        for user in USERS:
            await s.create_user(user, "hash-of-" + user, NOW)
        for room in ("pub", "other"):
            await s.create_room(room, RoomKind.PUBLIC, "olive", NOW)
            for member in ("mia", "max"):
                await s.add_member(room, member, NOW, "olive")
        yield s


def by(ts: int, room: str = "pub") -> dict[str, Any]:
    return {"room": room, "seq": 0, "ts": ts, "by": "olive"}


async def test_bans_lists_the_bans_in_force_newest_first(store: Storage) -> None:
    assert await store.bans("pub") == []
    await store.moderate(MemberBanned(**by(NOW + 1), user="mia", reason="<b>spam</b>"))
    await store.moderate(MemberBanned(**by(NOW + 2), user="otto"))  # no member: banned too
    await store.moderate(MemberBanned(**by(NOW + 3, "other"), user="max"))
    assert await store.bans("pub") == [
        BanEntry(user="otto", by="olive", reason="", ts=NOW + 2),
        BanEntry(user="mia", by="olive", reason="<b>spam</b>", ts=NOW + 1),
    ]
    await store.moderate(MemberUnbanned(**by(NOW + 4), user="otto"))
    assert [ban.user for ban in await store.bans("pub")] == ["mia"]
    assert [ban.user for ban in await store.bans("other")] == ["max"]
    with pytest.raises(NotFound):
        await store.bans("ghost")


async def test_mutes_are_those_in_force_at_the_time_asked(store: Storage) -> None:
    assert await store.mutes("pub", NOW) == {}
    until = NOW + 60_000
    await store.moderate(MemberMuted(**by(NOW), user="mia", until=until))
    await store.moderate(MemberMuted(**by(NOW), user="max"))
    assert await store.mutes("pub", NOW) == {"max": None, "mia": until}
    assert await store.mutes("pub", until - 1) == {"max": None, "mia": until}
    assert await store.mutes("pub", until) == {"max": None}  # over at ``until``
    assert await store.mutes("other", NOW) == {}
    await store.moderate(MemberUnmuted(**by(NOW + 1), user="max"))
    assert await store.mutes("pub", NOW + 1) == {"mia": until}
    with pytest.raises(NotFound):
        await store.mutes("ghost", NOW)
