"""The storage contract of registration and guests (guarantee 19), on each backend through
the public interface only: the run-time settings and their version, the refusal that spares
the first account, invite links used up in the write that creates the account (one winner
when two race for the last use, on PostgreSQL from two nodes' storages), and guest bans.
Each change is in the audit log, room ""."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack

import msgspec
import pytest

from hubbub.auth.tokens import token_hash
from hubbub.core import registration as reg
from hubbub.errors import Conflict, Forbidden, NotFound, TooLarge
from hubbub.storage.base import Storage
from hubbub.storage.factory import build_storage

NOW = 1_764_000_000_000
HOUR = 3_600_000


@pytest.fixture
async def store(url: str) -> AsyncIterator[Storage]:
    async with build_storage(url) as s:
        yield s


def invite(id_: str, expires_in: int = HOUR, max_uses: int | None = None) -> reg.Invite:
    return reg.Invite(
        id=id_,
        created_by="root",
        created_at=NOW,
        expires_at=NOW + expires_in,
        max_uses=max_uses,
        uses=0,
    )


async def add_invite(store: Storage, id_: str, code: str, **kw: int | None) -> reg.Invite:
    made = invite(id_, **kw)  # type: ignore[arg-type]
    await store.create_invite(made, token_hash(code))
    return made


async def test_settings_start_unset_and_each_change_moves_the_version(store: Storage) -> None:
    assert await store.server_settings() == reg.Stored()
    assert await store.settings_version() == 0
    await store.change_settings("root", NOW, reg.Changes(registration=reg.Mode.CLOSED))
    assert await store.server_settings() == reg.Stored(reg.Mode.CLOSED, None, (), 1)
    await store.change_settings("root", NOW + 1, reg.Changes(guests=False))
    assert await store.server_settings() == reg.Stored(reg.Mode.CLOSED, False, (), 2)
    await store.change_settings("root", NOW + 2, reg.Changes(registration=None, guests=True))
    assert await store.server_settings() == reg.Stored(None, True, (), 3)
    assert await store.settings_version() == 3
    log = [(e.action, e.room, e.target, e.detail) for e in await store.audit(None, 10)]
    assert log == [
        ("guests", "", None, "on"),
        ("registration", "", None, "default"),
        ("guests", "", None, "off"),
        ("registration", "", None, "closed"),
    ]


async def test_a_refusal_spares_only_the_first_account(store: Storage) -> None:
    assert not await store.has_users()
    await store.create_user("root", "h", NOW, refusal=reg.CLOSED)
    assert await store.has_users() and await store.is_admin("root")
    with pytest.raises(Forbidden, match=reg.CLOSED):
        await store.create_user("mia", "h", NOW, refusal=reg.CLOSED)
    assert await store.password_hash("mia") is None
    await store.create_user("mia", "h", NOW)  # no refusal: open


async def test_an_invite_admits_until_it_is_used_up_expired_or_revoked(store: Storage) -> None:
    await store.create_user("root", "h", NOW)
    made = await add_invite(store, "twice", "code-2", max_uses=2)
    await add_invite(store, "short", "code-s", expires_in=60_000)
    await add_invite(store, "gone", "code-g")
    await store.create_user("ann", "h", NOW, invite=token_hash("code-2"), refusal=reg.CLOSED)
    with pytest.raises(Conflict):  # a taken name uses nothing up
        await store.create_user("ann", "h", NOW, invite=token_hash("code-2"))
    await store.create_user("bob", "h", NOW, invite=token_hash("code-2"))
    listed = {i.id: i for i in await store.invites()}
    assert listed["twice"] == msgspec.structs.replace(made, uses=2)
    with pytest.raises(Forbidden, match=reg.BAD_INVITE):  # used up
        await store.create_user("cat", "h", NOW, invite=token_hash("code-2"))
    with pytest.raises(Forbidden, match=reg.BAD_INVITE):  # expired
        await store.create_user("cat", "h", NOW + 60_000, invite=token_hash("code-s"))
    await store.revoke_invite("gone", "root", NOW)
    with pytest.raises(Forbidden, match=reg.BAD_INVITE):  # revoked
        await store.create_user("cat", "h", NOW, invite=token_hash("code-g"))
    with pytest.raises(Forbidden, match=reg.BAD_INVITE):  # never made
        await store.create_user("cat", "h", NOW, invite=token_hash("nothing"))
    with pytest.raises(NotFound):
        await store.revoke_invite("gone", "root", NOW)
    assert await store.password_hash("cat") is None
    assert {i.id for i in await store.invites()} == {"twice", "short"}
    actions = [(e.action, e.room, e.target) for e in await store.audit(None, 10)]
    assert actions == [
        ("invite_revoke", "", "gone"),
        ("invite_create", "", "gone"),
        ("invite_create", "", "short"),
        ("invite_create", "", "twice"),
    ]


async def test_live_invites_are_capped_and_dead_ones_forgotten(
    store: Storage, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(reg, "MAX_INVITES", 2)
    await store.create_user("root", "h", NOW)
    await add_invite(store, "one", "c1", max_uses=1)
    await add_invite(store, "two", "c2")
    with pytest.raises(Conflict, match="too many"):
        await add_invite(store, "three", "c3")
    await store.create_user("ann", "h", NOW, invite=token_hash("c1"))  # "one" is used up
    await add_invite(store, "three", "c3")
    assert {i.id for i in await store.invites()} == {"three", "two"}


async def test_two_registrations_racing_for_the_last_use_one_wins(url: str) -> None:
    """Two storages on PostgreSQL (two nodes' writers), one on SQLite (its one writer)."""
    async with build_storage(url) as first:
        await first.create_user("root", "h", NOW)
        await add_invite(first, "last", "code", max_uses=1)
        async with AsyncExitStack() as stack:
            second = first
            if url.startswith("postgresql"):
                second = await stack.enter_async_context(build_storage(url))
            results = await asyncio.gather(
                first.create_user("ann", "h", NOW, invite=token_hash("code")),
                second.create_user("bob", "h", NOW, invite=token_hash("code")),
                return_exceptions=True,
            )
        refused = [r for r in results if isinstance(r, Forbidden)]
        assert len(refused) == 1 and results.count(None) == 1, results
        created = [n for n in ("ann", "bob") if await first.password_hash(n) is not None]
        assert len(created) == 1
        [listed] = await first.invites()
        assert listed.uses == 1


async def test_guest_bans_are_kept_capped_and_lifted(
    store: Storage, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(reg, "MAX_GUEST_BANS", 2)
    assert await store.ban_guests("10.0.0.0/8", "root", NOW)
    assert not await store.ban_guests("10.0.0.0/8", "root", NOW)  # banned already
    assert await store.ban_guests("2001:db8::/32", "root", NOW)
    with pytest.raises(TooLarge):
        await store.ban_guests("192.0.2.7/32", "root", NOW)
    stored = await store.server_settings()
    assert stored.guest_bans == ("10.0.0.0/8", "2001:db8::/32")
    assert stored.version == await store.settings_version() == 2
    await store.unban_guests("10.0.0.0/8", "root", NOW)
    with pytest.raises(NotFound):
        await store.unban_guests("10.0.0.0/8", "root", NOW)
    assert (await store.server_settings()).guest_bans == ("2001:db8::/32",)
    log = [(e.action, e.room, e.target) for e in await store.audit(None, 10)]
    assert log == [
        ("guest_unban", "", "10.0.0.0/8"),
        ("guest_ban", "", "2001:db8::/32"),
        ("guest_ban", "", "10.0.0.0/8"),
    ]
