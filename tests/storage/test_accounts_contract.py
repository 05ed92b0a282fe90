"""The storage contract of server accounts (guarantee 20), on each backend through the public
interface only: several admins, the last active admin kept, deactivation revoking tokens and
refusing new ones in the write, the audit log, and the account changes nodes poll.

``root`` is a server admin (the first account); ``mia`` and ``max`` are members."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from hubbub.core.accounts import AccountChange, ServerRole
from hubbub.core.moderation import AuditEntry
from hubbub.errors import AccountDeactivated, BadRequest, Conflict, Forbidden, NotFound
from hubbub.storage.base import Storage
from hubbub.storage.factory import build_storage

NOW = 1_764_000_000_000
HOUR = 3_600_000
USERS = ("root", "mia", "max")
ADMIN, MEMBER = ServerRole.ADMIN, ServerRole.MEMBER


@pytest.fixture
async def store(url: str) -> AsyncIterator[Storage]:
    async with build_storage(url) as s:
        for user in USERS:
            await s.create_user(user, "hash-of-" + user, NOW)
        yield s


async def roles(store: Storage) -> dict[str, tuple[str, bool]]:
    return {a.username: (a.role.value, a.deactivated) for a in await store.accounts(None, 200)}


async def logged(store: Storage) -> list[tuple[str, str, str, str | None]]:
    """The audit log, oldest first: (actor, action, room, target)."""
    entries: list[AuditEntry] = await store.audit(None, 200)
    return [(e.actor, e.action, e.room, e.target) for e in reversed(entries)]


async def test_accounts_are_listed_by_name_in_pages(store: Storage) -> None:
    await store.set_profile("mia", "Mia M.", None)
    first = await store.accounts(None, 2)
    assert [(a.username, a.display_name, a.role, a.deactivated) for a in first] == [
        ("max", "", MEMBER, False),
        ("mia", "Mia M.", MEMBER, False),
    ]
    assert first[0].created_at == NOW
    rest = await store.accounts(first[-1].username, 2)
    assert [a.username for a in rest] == ["root"]
    assert await store.accounts("root", 2) == []


async def test_several_admins_and_the_last_active_one_stays(store: Storage) -> None:
    mia = await store.set_server_role("root", "mia", ADMIN, NOW)
    assert (mia.username, mia.role) == ("mia", ADMIN)
    assert await store.is_admin("mia") and await store.is_admin("root")
    again = await store.set_server_role("root", "mia", ADMIN, NOW)  # changes nothing
    assert again.role is ADMIN
    # mia, an admin now, demotes root; then she is the last one and cannot go.
    assert (await store.set_server_role("mia", "root", MEMBER, NOW + 1)).role is MEMBER
    with pytest.raises(Conflict, match="last active server admin"):
        await store.set_server_role(None, "mia", MEMBER, NOW + 2)
    with pytest.raises(Conflict, match="last active server admin"):
        await store.set_deactivated(None, "mia", True, NOW + 2)
    assert await roles(store) == {
        "max": ("member", False),
        "mia": ("admin", False),
        "root": ("member", False),
    }
    assert await logged(store) == [
        ("root", "promote", "", "mia"),
        ("mia", "demote", "", "root"),
    ]


async def test_only_active_admins_change_accounts(store: Storage) -> None:
    with pytest.raises(Forbidden):
        await store.set_server_role("max", "max", ADMIN, NOW)
    with pytest.raises(Forbidden):
        await store.set_deactivated("max", "mia", True, NOW)
    with pytest.raises(Forbidden):  # no such actor
        await store.set_deactivated("nobody", "mia", True, NOW)
    with pytest.raises(NotFound):
        await store.set_server_role("root", "nobody", ADMIN, NOW)
    with pytest.raises(NotFound):
        await store.set_deactivated("root", "nobody", True, NOW)
    with pytest.raises(BadRequest, match="your own account"):
        await store.set_deactivated("root", "root", True, NOW)
    # A deactivated admin acts no more, and is not counted among the active ones.
    await store.set_server_role("root", "mia", ADMIN, NOW)
    await store.set_deactivated("root", "mia", True, NOW)
    with pytest.raises(Forbidden):
        await store.set_deactivated("mia", "max", True, NOW)
    with pytest.raises(Conflict):  # mia does not count: root is the last active admin
        await store.set_server_role(None, "root", MEMBER, NOW)
    assert await roles(store) == {
        "max": ("member", False),
        "mia": ("admin", True),
        "root": ("admin", False),
    }
    assert await logged(store) == [
        ("root", "promote", "", "mia"),
        ("root", "deactivate", "", "mia"),
    ]


async def test_deactivation_revokes_every_token_in_its_write(store: Storage) -> None:
    for n in range(3):
        await store.create_token(b"mia-%d" % n, "mia", NOW, NOW + HOUR)
    await store.create_token(b"max-0", "max", NOW, NOW + HOUR)
    done = await store.set_deactivated("root", "mia", True, NOW)
    assert done.deactivated
    assert [await store.user_for_token(b"mia-%d" % n, NOW) for n in range(3)] == [None] * 3
    assert await store.user_for_token(b"max-0", NOW) == "max"
    with pytest.raises(AccountDeactivated):
        await store.create_token(b"mia-new", "mia", NOW, NOW + HOUR)
    assert await store.user_for_token(b"mia-new", NOW) is None
    [profile] = await store.profiles(["mia"])
    assert profile.deactivated and not (await store.profiles(["max"]))[0].deactivated
    with pytest.raises(Conflict):  # the name stays taken
        await store.create_user("mia", "another hash", NOW)

    undone = await store.set_deactivated("root", "mia", False, NOW + 1)
    assert not undone.deactivated
    assert await store.user_for_token(b"mia-0", NOW) is None  # no token comes back
    await store.create_token(b"mia-new", "mia", NOW, NOW + HOUR)
    assert await store.user_for_token(b"mia-new", NOW) == "mia"
    assert not (await store.profiles(["mia"]))[0].deactivated
    assert await logged(store) == [
        ("root", "deactivate", "", "mia"),
        ("root", "reactivate", "", "mia"),
    ]


async def test_account_changes_are_read_by_id_from_the_last_one(store: Storage) -> None:
    start, none = await store.account_changes(None, 10)
    assert none == []
    await store.set_deactivated(None, "mia", True, NOW)
    await store.set_deactivated(None, "mia", True, NOW)  # changes nothing: no change told
    await store.set_password("max", "new hash", keep=b"", close_sessions=True, now=NOW)
    await store.set_password("max", "newer hash", keep=b"")  # no change told
    await store.set_deactivated(None, "mia", False, NOW)  # nothing to close
    last, changes = await store.account_changes(start, 10)
    assert changes == [("mia", AccountChange.DEACTIVATED), ("max", AccountChange.PASSWORD)]
    assert (await store.account_changes(None, 10))[0] == last
    assert await store.account_changes(last, 10) == (last, [])
    first, [one] = await store.account_changes(start, 1)  # bounded
    assert one == ("mia", AccountChange.DEACTIVATED) and start < first < last
    # Changes older than an hour go with the next one written.
    await store.set_deactivated(None, "max", True, NOW + HOUR + 1)
    assert (await store.account_changes(start, 10))[1] == [("max", AccountChange.DEACTIVATED)]
    assert await logged(store) == [
        ("", "deactivate", "", "mia"),
        ("", "reactivate", "", "mia"),
        ("", "deactivate", "", "max"),
    ]


async def test_two_admins_demoting_each_other_at_once_leave_one(url: str) -> None:
    async with build_storage(url) as one, build_storage(url) as two:
        for user in USERS:
            await one.create_user(user, "hash-of-" + user, NOW)
        await one.set_server_role("root", "mia", ADMIN, NOW)
        results = await asyncio.gather(
            one.set_server_role("root", "mia", MEMBER, NOW),
            two.set_server_role("mia", "root", MEMBER, NOW),
            return_exceptions=True,
        )
        # The second checked is refused: its actor is no admin any more, or the last one.
        assert sorted(type(r).__name__ for r in results) in (
            ["Account", "Forbidden"],
            ["Account", "Conflict"],
        )
        assert sum(role == ("admin", False) for role in (await roles(two)).values()) == 1
