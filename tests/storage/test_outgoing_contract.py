"""The storage contract of outgoing webhooks (guarantee 23), on each backend through the
public interface only: a hook made by one who runs the room (or a server admin) with its own
bot account, which joins the room in the same write; the room's cap; a revoked hook found no
more, its deliveries gone, its bot out of the room; deliveries kept per hook, the newest by
seq, trimmed in the write.

``root`` is the first account (a server admin, in no room); ``mia`` owns the room ``ops``,
``max`` is a plain member of it, ``zoe`` an admin of it."""

from __future__ import annotations

from collections.abc import AsyncIterator

import msgspec
import pytest

from hubbub.core import outgoing
from hubbub.core.events import Event, MemberJoined, MemberLeft, Role, RoleChanged
from hubbub.core.models import RoomKind
from hubbub.core.outgoing import Delivery, OutgoingWebhook, Trigger
from hubbub.errors import Conflict, Forbidden, NotFound, TooLarge
from hubbub.storage.base import Storage
from hubbub.storage.factory import build_storage

NOW = 1_764_000_000_000
USERS = ("root", "mia", "max", "zoe", "eve")


@pytest.fixture
async def store(url: str) -> AsyncIterator[Storage]:
    async with build_storage(url) as s:
        for user in USERS:
            await s.create_user(user, "hash-of-" + user, NOW)
        await s.create_room("ops", RoomKind.PRIVATE, "mia", NOW)
        for user in ("max", "zoe"):
            await s.add_member("ops", user, NOW, None)
        role = RoleChanged(room="ops", seq=0, ts=NOW, user="mia", member="zoe", role=Role.ADMIN)
        await s.set_role(role)
        yield s


def hook(hook_id: str, by: str = "mia", trigger: Trigger = Trigger.ALL) -> OutgoingWebhook:
    return OutgoingWebhook(
        id=hook_id,
        room="ops",
        name="Relay",
        url=f"https://example.org/in/{hook_id}",
        trigger=trigger,
        words=("deploy", "ship") if trigger is Trigger.WORDS else (),
        username=outgoing.bot_name(hook_id),
        created_by=by,
        created_at=NOW + 1,
    )


def delivery(seq: int, status: int | None = 200, error: str = "") -> Delivery:
    return Delivery(
        seq=seq,
        msg_id=f"m{seq}",
        attempts=1,
        status=status,
        error=error,
        duration_ms=seq,
        at=NOW + seq,
    )


async def test_a_hook_comes_with_its_bot_which_joins_the_room(store: Storage) -> None:
    published: list[Event] = []
    store.on_events = published.extend
    joined = await store.create_outgoing_webhook(hook("a1", trigger=Trigger.WORDS), "sec", 5)
    assert isinstance(joined, MemberJoined)
    assert (joined.user, joined.by, joined.room) == ("hook-a1", "mia", "ops")
    assert published == [joined]
    assert "hook-a1" in await store.members("ops")
    [profile] = await store.profiles(["hook-a1"])
    assert (profile.display_name, profile.bot) == ("Relay", True)
    assert await store.outgoing_webhooks("ops") == [(hook("a1", trigger=Trigger.WORDS), "sec")]
    assert await store.outgoing_webhooks("nowhere") == []
    assert await store.bots(None, 100) == []  # a hook's bot is no bot of anyone's
    assert await store.bot("hook-a1") is None
    assert await store.webhooks("ops") == []  # nor an incoming webhook


async def test_only_those_who_run_the_room_make_hooks_under_its_cap(store: Storage) -> None:
    with pytest.raises(Forbidden):  # a plain member
        await store.create_outgoing_webhook(hook("b1", by="max"), "s", 5)
    with pytest.raises(NotFound):  # no member, no server admin: as if missing
        await store.create_outgoing_webhook(hook("b2", by="eve"), "s", 5)
    with pytest.raises(NotFound):
        ghost = msgspec.structs.replace(hook("b3"), room="ghost")
        await store.create_outgoing_webhook(ghost, "s", 5)
    await store.create_outgoing_webhook(hook("b4", by="zoe"), "s", 3)  # an admin of it
    await store.create_outgoing_webhook(hook("b5", by="root"), "s", 3)  # a server admin
    await store.create_outgoing_webhook(hook("b6"), "s", 3)
    with pytest.raises(TooLarge):
        await store.create_outgoing_webhook(hook("b7"), "s", 3)
    assert await store.profiles(["hook-b1", "hook-b2", "hook-b3", "hook-b7"]) == []
    await store.create_bot("hook-b8", "root", NOW, b"x" * 32)
    await store.revoke_outgoing_webhook("ops", "b4", NOW + 2)  # frees a place
    with pytest.raises(Conflict):  # its bot's name is taken
        await store.create_outgoing_webhook(hook("b8"), "s", 3)
    await store.create_outgoing_webhook(hook("b9"), "s", 3)
    assert [h.id for h, _ in await store.outgoing_webhooks("ops")] == ["b5", "b6", "b9"]


async def test_a_revoked_hook_is_found_no_more_and_its_bot_leaves(store: Storage) -> None:
    await store.create_outgoing_webhook(hook("c1"), "s", 5)
    await store.add_outgoing_delivery("c1", delivery(3), 50)
    await store.create_room("den", RoomKind.PUBLIC, "mia", NOW)
    for room in ("den", "ghost"):  # the hook of another room, or of none
        with pytest.raises(NotFound):
            await store.revoke_outgoing_webhook(room, "c1", NOW + 5)
    published: list[Event] = []
    store.on_events = published.extend
    left = await store.revoke_outgoing_webhook("ops", "c1", NOW + 5)
    assert isinstance(left, MemberLeft)
    assert (left.user, left.room) == ("hook-c1", "ops")
    assert published == [left]
    assert await store.outgoing_webhooks("ops") == []
    assert "hook-c1" not in await store.members("ops")
    [profile] = await store.profiles(["hook-c1"])
    assert profile.deactivated and profile.bot
    assert await store.outgoing_deliveries("c1", 50) == []
    await store.add_outgoing_delivery("c1", delivery(4), 50)  # too late: not kept
    assert await store.outgoing_deliveries("c1", 50) == []
    with pytest.raises(NotFound):
        await store.revoke_outgoing_webhook("ops", "c1", NOW + 6)


async def test_deliveries_keep_the_newest_trimmed_in_the_write(store: Storage) -> None:
    await store.create_outgoing_webhook(hook("d1"), "s", 5)
    await store.create_outgoing_webhook(hook("d2"), "s", 5)
    for seq in range(1, 9):
        await store.add_outgoing_delivery("d1", delivery(seq), 5)
    await store.add_outgoing_delivery("d2", delivery(1, None, "cannot connect"), 5)
    kept = await store.outgoing_deliveries("d1", 50)
    assert [d.seq for d in kept] == [8, 7, 6, 5, 4]
    assert kept[0] == delivery(8)
    assert [d.seq for d in await store.outgoing_deliveries("d1", 2)] == [8, 7]
    assert await store.outgoing_deliveries("d2", 50) == [delivery(1, None, "cannot connect")]
    # A second record of a message replaces the first; an old one is trimmed at once.
    await store.add_outgoing_delivery("d1", delivery(8, 500, "HTTP 500"), 5)
    await store.add_outgoing_delivery("d1", delivery(2), 5)
    kept = await store.outgoing_deliveries("d1", 50)
    assert [(d.seq, d.status) for d in kept] == [(8, 500), (7, 200), (6, 200), (5, 200), (4, 200)]
    await store.add_outgoing_delivery("nope", delivery(1), 5)  # no such hook: nothing kept
    assert await store.outgoing_deliveries("nope", 50) == []
