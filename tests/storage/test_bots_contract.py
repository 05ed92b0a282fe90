"""The storage contract of bots and incoming webhooks (guarantee 22), on each backend through
the public interface only: a bot account with its token that does not expire and no password,
its maker's cap checked in the write, the listings; a webhook made with its own bot account,
which joins the room in the same write; a revoked webhook found no more, its bot out of the
room and deactivated.

``root`` is the first account (a server admin); ``mia`` and ``max`` are members; ``mia``
owns the room ``ops``."""

from __future__ import annotations

from collections.abc import AsyncIterator

import msgspec
import pytest

from hubbub.auth.passwords import Passwords
from hubbub.core import bots, webhooks
from hubbub.core.bots import Bot
from hubbub.core.events import Event, MemberJoined, MemberLeft
from hubbub.core.models import RoomKind
from hubbub.core.webhooks import Webhook
from hubbub.errors import Conflict, NotFound, TooLarge
from hubbub.storage.base import Storage
from hubbub.storage.factory import build_storage

NOW = 1_764_000_000_000
USERS = ("root", "mia", "max")


@pytest.fixture
async def store(url: str) -> AsyncIterator[Storage]:
    async with build_storage(url) as s:
        for user in USERS:
            await s.create_user(user, "hash-of-" + user, NOW)
        await s.create_room("ops", RoomKind.PRIVATE, "mia", NOW)
        yield s


def hook(hook_id: str, by: str = "mia", name: str = "Deploys") -> Webhook:
    return Webhook(
        id=hook_id,
        room="ops",
        name=name,
        username=webhooks.bot_name(hook_id),
        created_by=by,
        created_at=NOW + 1,
    )


async def test_a_bot_has_a_token_that_does_not_expire_and_no_password(store: Storage) -> None:
    await store.create_bot("echo", "root", NOW, b"t" * 32)
    [profile] = await store.profiles(["echo"])
    assert profile.bot and not profile.admin and not profile.deactivated
    [person] = await store.profiles(["mia"])
    assert not person.bot
    far = bots.NEVER_EXPIRES - 1  # a century from now, and more: still its token
    assert await store.user_for_token(b"t" * 32, far) == "echo"
    stored = await store.password_hash("echo")
    # No password at all verifies against it, not even the empty one or the hash itself.
    passwords = Passwords(time_cost=1, memory_kib=8)
    for attempt in ("", "!", stored or "", "hash-of-echo"):
        assert not await passwords.verify(stored, attempt)
    with pytest.raises(Conflict):
        await store.create_bot("mia", "root", NOW, b"u" * 32)
    with pytest.raises(Conflict):
        await store.create_bot("echo", "root", NOW, b"v" * 32)
    assert await store.user_for_token(b"u" * 32, NOW) is None  # nothing of a refusal stays


async def test_bots_are_listed_by_maker_and_capped_in_the_write(store: Storage) -> None:
    await store.create_bot("zed", "", NOW, b"0" * 32)  # the command line
    for n in range(3):
        await store.create_bot(f"b{n}", "max", NOW + n, bytes([n]) * 32, cap=3)
    with pytest.raises(TooLarge):
        await store.create_bot("b3", "max", NOW, b"3" * 32, cap=3)
    assert await store.profiles(["b3"]) == []
    made = await store.bots("max", 100)
    assert [(b.name, b.created_by, b.deactivated) for b in made] == [
        ("b0", "max", False),
        ("b1", "max", False),
        ("b2", "max", False),
    ]
    assert [b.name for b in await store.bots(None, 100)] == ["b0", "b1", "b2", "zed"]
    assert [b.name for b in await store.bots(None, 2)] == ["b0", "b1"]
    assert await store.bots("mia", 100) == []
    assert await store.bot("zed") == Bot(name="zed", created_by="", created_at=NOW)
    assert await store.bot("mia") is None  # a person is no bot
    # A deactivated bot is listed as one, its token gone, and frees a place under the cap.
    await store.set_deactivated("root", "b1", True, NOW + 10)
    assert await store.user_for_token(bytes([1]) * 32, NOW + 11) is None
    assert [(b.name, b.deactivated) for b in await store.bots("max", 100)][1] == ("b1", True)
    await store.create_bot("b3", "max", NOW, b"3" * 32, cap=3)


async def test_a_webhook_comes_with_its_bot_which_joins_the_room(store: Storage) -> None:
    published: list[Event] = []
    store.on_events = published.extend
    joined = await store.create_webhook(hook("a1"), b"s" * 32, cap=5)
    assert isinstance(joined, MemberJoined)
    assert (joined.user, joined.by, joined.room) == ("hook-a1", "mia", "ops")
    assert published == [joined]
    assert sorted(await store.members("ops")) == ["hook-a1", "mia"]
    [profile] = await store.profiles(["hook-a1"])
    assert (profile.display_name, profile.bot) == ("Deploys", True)
    assert await store.webhook("a1") == (hook("a1"), b"s" * 32)
    assert await store.webhooks("ops") == [hook("a1")]
    assert await store.webhooks("nowhere") == []
    assert await store.webhook("nope") is None
    assert await store.bots(None, 100) == []  # a webhook's bot is no bot of anyone's
    assert await store.bot("hook-a1") is None


async def test_a_webhook_needs_a_member_and_a_place(store: Storage) -> None:
    with pytest.raises(NotFound):  # max is not in ops: as if it did not exist
        await store.create_webhook(hook("b1", by="max"), b"s" * 32, cap=5)
    with pytest.raises(NotFound):
        ghost = msgspec.structs.replace(hook("b2"), room="ghost")
        await store.create_webhook(ghost, b"s" * 32, cap=5)
    await store.create_webhook(hook("b3"), b"s" * 32, cap=2)
    await store.create_webhook(hook("b4"), b"t" * 32, cap=2)
    with pytest.raises(TooLarge):
        await store.create_webhook(hook("b5"), b"u" * 32, cap=2)
    assert await store.profiles(["hook-b1", "hook-b2", "hook-b5"]) == []
    await store.create_bot("hook-b6", "root", NOW, b"x" * 32)
    with pytest.raises(Conflict):  # its bot's name is taken
        await store.create_webhook(hook("b6"), b"v" * 32, cap=5)
    # A revoked webhook frees its place.
    await store.revoke_webhook("ops", "b3", NOW + 5)
    await store.create_webhook(hook("b7"), b"w" * 32, cap=2)


async def test_a_revoked_webhook_is_found_no_more_and_its_bot_leaves(store: Storage) -> None:
    await store.create_webhook(hook("c1"), b"s" * 32, cap=5)
    await store.create_room("den", RoomKind.PUBLIC, "mia", NOW)
    for room in ("den", "ghost"):  # the webhook of another room, or of none
        with pytest.raises(NotFound):
            await store.revoke_webhook(room, "c1", NOW + 5)
    published: list[Event] = []
    store.on_events = published.extend
    left = await store.revoke_webhook("ops", "c1", NOW + 5)
    assert isinstance(left, MemberLeft)
    assert (left.user, left.room, left.ts) == ("hook-c1", "ops", NOW + 5)
    assert published == [left]
    assert await store.webhook("c1") is None
    assert await store.webhooks("ops") == []
    assert await store.members("ops") == ["mia"]
    [profile] = await store.profiles(["hook-c1"])
    assert profile.deactivated and profile.bot
    with pytest.raises(NotFound):
        await store.revoke_webhook("ops", "c1", NOW + 6)
    with pytest.raises(NotFound):
        await store.revoke_webhook("ops", "nope", NOW + 6)
