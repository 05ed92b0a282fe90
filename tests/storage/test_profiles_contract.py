"""The storage contract of profiles and passwords, on each backend through the public
interface only: profiles read in the order asked, members' profiles beside ``members``,
changes that change only what they name, avatars, and a password change that revokes the
user's other tokens in its write."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from hubbub.core.models import RoomKind
from hubbub.core.profiles import Profile
from hubbub.errors import NotFound
from hubbub.storage.base import Storage
from hubbub.storage.factory import build_storage

NOW = 1_764_000_000_000
LATER = NOW + 1_000_000
BLOB = "ab" * 32  # a SHA-256, hex
OTHER_BLOB = "cd" * 32


@pytest.fixture
async def store(url: str) -> AsyncIterator[Storage]:
    async with build_storage(url) as s:
        for user in ("alice", "bob", "carol"):
            await s.create_user(user, "hash-of-" + user, NOW)
        yield s


async def test_a_new_account_has_an_empty_profile_and_the_first_is_the_admin(
    store: Storage,
) -> None:
    assert await store.profiles(["alice", "bob"]) == [
        Profile(username="alice", admin=True),
        Profile(username="bob"),
    ]
    assert await store.avatar("alice") is None


async def test_profiles_come_in_the_order_named_each_once_without_missing_ones(
    store: Storage,
) -> None:
    found = await store.profiles(["carol", "zed", "alice", "carol", "bob"])
    assert [p.username for p in found] == ["carol", "alice", "bob"]
    assert await store.profiles([]) == []
    assert await store.profiles(["zed"]) == []


async def test_many_profiles_are_read_at_once(store: Storage) -> None:
    names = [f"u{n:04d}" for n in range(1200)]
    for name in names:
        await store.create_user(name, "h", NOW)
    asked = list(reversed(names))
    assert [p.username for p in await store.profiles(asked)] == asked


async def test_a_change_changes_only_what_it_names_and_lasts(url: str) -> None:
    async with build_storage(url) as store:
        await store.create_user("alice", "h", NOW)
        await store.create_user("bob", "h", NOW)
        named = await store.set_profile("bob", "Bob Builder", None)
        assert named == Profile(username="bob", display_name="Bob Builder")
        both = await store.set_profile("bob", None, "on a call \N{TELEPHONE RECEIVER}")
        assert both == Profile(
            username="bob", display_name="Bob Builder", status="on a call \N{TELEPHONE RECEIVER}"
        )
        assert await store.set_profile("bob", None, None) == both
        cleared = await store.set_profile("bob", "", None)
        assert cleared == Profile(username="bob", status="on a call \N{TELEPHONE RECEIVER}")
        admin = await store.set_profile("alice", "Alice", "")
        assert admin == Profile(username="alice", display_name="Alice", admin=True)
    async with build_storage(url) as store:  # durable: there when opened again
        assert await store.profiles(["alice", "bob"]) == [admin, cleared]


async def test_changes_of_a_missing_user_are_not_found(store: Storage) -> None:
    with pytest.raises(NotFound, match="no user named 'zed'"):
        await store.set_profile("zed", "Zed", None)
    with pytest.raises(NotFound, match="no user named 'zed'"):
        await store.set_avatar("zed", BLOB, "v1")
    with pytest.raises(NotFound, match="no user named 'zed'"):
        await store.set_password("zed", "new-hash", None)
    assert await store.profiles(["zed"]) == []


async def test_member_profiles_are_the_members_in_order(store: Storage) -> None:
    await store.create_room("r", RoomKind.PRIVATE, "carol", NOW)
    await store.add_member("r", "alice", NOW, "carol")
    await store.set_profile("carol", "Carol", "here")
    profiles = await store.member_profiles("r")
    assert [p.username for p in profiles] == await store.members("r") == ["alice", "carol"]
    assert profiles == [
        Profile(username="alice", admin=True),
        Profile(username="carol", display_name="Carol", status="here"),
    ]
    await store.remove_member("r", "alice", NOW)
    assert [p.username for p in await store.member_profiles("r")] == ["carol"]
    with pytest.raises(NotFound, match="no room named 'ghost'"):
        await store.member_profiles("ghost")


async def test_an_avatar_is_set_replaced_and_removed(store: Storage) -> None:
    set_ = await store.set_avatar("bob", BLOB, "v1")
    assert set_ == Profile(username="bob", avatar="v1")
    assert await store.avatar("bob") == (BLOB, "v1")
    await store.set_profile("bob", "Bob", None)  # a text change keeps the avatar
    replaced = await store.set_avatar("bob", OTHER_BLOB, "v2")
    assert replaced == Profile(username="bob", display_name="Bob", avatar="v2")
    assert await store.avatar("bob") == (OTHER_BLOB, "v2")
    removed = await store.set_avatar("bob", None, "ignored")
    assert removed == Profile(username="bob", display_name="Bob")
    assert await store.avatar("bob") is None
    assert await store.avatar("zed") is None


async def test_a_password_change_keeps_tokens_unless_asked_to_revoke_the_others(
    store: Storage,
) -> None:
    for token in (b"t1", b"t2", b"t3"):
        await store.create_token(token, "alice", NOW, LATER)
    await store.create_token(b"b1", "bob", NOW, LATER)

    assert await store.set_password("alice", "hash-2", None) == []
    assert await store.password_hash("alice") == "hash-2"
    assert [await store.user_for_token(t, NOW) for t in (b"t1", b"t2", b"t3")] == ["alice"] * 3

    revoked = await store.set_password("alice", "hash-3", b"t2")
    assert sorted(revoked) == [b"t1", b"t3"]
    assert await store.password_hash("alice") == "hash-3"
    assert await store.user_for_token(b"t2", NOW) == "alice"
    assert await store.user_for_token(b"t1", NOW) is None
    assert await store.user_for_token(b"t3", NOW) is None
    assert await store.user_for_token(b"b1", NOW) == "bob"  # nobody else's
    assert await store.set_password("alice", "hash-4", b"t2") == []  # nothing left to revoke


async def test_a_password_change_may_revoke_every_token(store: Storage) -> None:
    """A key that is no token of the user (as over a session that is not a token's) keeps
    none."""
    await store.create_token(b"t1", "alice", NOW, LATER)
    assert await store.set_password("alice", "hash-2", b"") == [b"t1"]
    assert await store.user_for_token(b"t1", NOW) is None


async def test_an_avatar_keeps_its_blob_from_the_sweep_until_it_is_replaced(
    store: Storage,
) -> None:
    assert await store.referenced_blobs([BLOB, OTHER_BLOB]) == set()
    await store.set_avatar("bob", BLOB, "v1")
    await store.set_avatar("carol", BLOB, "v2")  # the same image: one blob
    assert await store.referenced_blobs([BLOB, OTHER_BLOB]) == {BLOB}
    await store.set_avatar("bob", OTHER_BLOB, "v3")
    assert await store.referenced_blobs([BLOB, OTHER_BLOB]) == {BLOB, OTHER_BLOB}
    await store.set_avatar("carol", None)
    assert await store.referenced_blobs([BLOB, OTHER_BLOB]) == {OTHER_BLOB}
