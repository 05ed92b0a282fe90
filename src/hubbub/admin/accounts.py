"""Accounts from the command line: create one, reset a password, give or take the server's
admin role, and list users and rooms.

A new account and a new password go through ``Storage`` (``create_user``, ``set_password``),
as a sign-up and a password change do: the first account is the admin there, and the
user's tokens are revoked in the write that stores the new hash. The admin role is one row's
``role`` (at most one admin: the schema refuses a second). An account made here joins no
room: joining appends events, which only the server does.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator
from contextlib import aclosing
from datetime import UTC, datetime

from hubbub.admin.database import AdminError, Database, UsageError
from hubbub.auth.passwords import Passwords
from hubbub.config import Config
from hubbub.core.mentions import ROOM
from hubbub.core.models import USERNAME_RE
from hubbub.errors import Conflict, NotFound
from hubbub.protocol.limits import MAX_PASSWORD, MIN_PASSWORD
from hubbub.service.actions import wall_clock_ms
from hubbub.storage.factory import build_storage


def check_username(name: str) -> str:
    """The username as stored (lowercase), or ``UsageError``: the rules of a sign-up."""
    username = name.lower()
    if not USERNAME_RE.match(username):
        raise UsageError(
            f"{name!r} is no username: 1-32 of a-z 0-9 _ . - starting with a letter or digit"
        )
    if username == ROOM:
        raise UsageError(f"{ROOM!r} is reserved: @{ROOM} mentions everyone in a room")
    return username


def check_password(password: str) -> None:
    if not MIN_PASSWORD <= len(password) <= MAX_PASSWORD:
        raise UsageError(f"a password is {MIN_PASSWORD}-{MAX_PASSWORD} characters")


async def _hash(config: Config, password: str) -> str:
    check_password(password)
    return await Passwords(config.argon2_time_cost, config.argon2_memory_kib).hash(password)


async def create_user(
    config: Config, db: Database, username: str, password: str, admin: bool
) -> str:
    """Create the account; with ``admin`` it is the server's admin (refused while another
    account is). Its role, as stored."""
    if admin:
        await no_admin(db)
    password_hash = await _hash(config, password)
    async with build_storage(config.storage_url) as storage:
        try:
            await storage.create_user(username, password_hash, wall_clock_ms())
        except Conflict:
            raise AdminError(f"the username {username!r} is taken") from None
    if admin:
        await promote(db, username)
    return await _role(db, username)


async def set_password(config: Config, username: str, password: str) -> int:
    """Give the user a new password and revoke all of their tokens; how many."""
    password_hash = await _hash(config, password)
    async with build_storage(config.storage_url) as storage:
        try:
            # No token's hash is empty: keeping b"" revokes every one of them.
            revoked = await storage.set_password(username, password_hash, keep=b"")
        except NotFound:
            raise AdminError(f"no user named {username!r}") from None
    return len(revoked)


async def promote(db: Database, username: str) -> bool:
    """Make the user the server's admin; False if they were already."""
    async with db.writing():
        role = await _role(db, username)
        if role == "admin":
            return False
        await no_admin(db)
        await db.execute("UPDATE users SET role = 'admin' WHERE username = ?", username)
    return True


async def demote(db: Database, username: str) -> bool:
    """Make the user an ordinary member; False if they were already."""
    async with db.writing():
        if await _role(db, username) != "admin":
            return False
        await db.execute("UPDATE users SET role = 'member' WHERE username = ?", username)
    return True


async def role(db: Database, username: str) -> str | None:
    """The user's role, or None for no such user."""
    rows = await db.fetch("SELECT role FROM users WHERE username = ?", username)
    return str(rows[0][0]) if rows else None


async def _role(db: Database, username: str) -> str:
    found = await role(db, username)
    if found is None:
        raise AdminError(f"no user named {username!r}")
    return found


async def no_admin(db: Database) -> None:
    """``AdminError`` if an account is the server's admin: there is one at most."""
    rows = await db.fetch("SELECT username FROM users WHERE role = 'admin'")
    if rows:
        raise AdminError(f"{rows[0][0]!r} is the server's admin: demote them first")


async def users(db: Database) -> AsyncGenerator[str, None]:
    """One line per user (name, role, created), by name; a heading first."""
    yield f"{'NAME':<32} {'ROLE':<6} CREATED"
    async with db.snapshot():
        sql = f"SELECT username, role, created_at FROM users ORDER BY username{db.collate_c}"
        async with aclosing(db.stream(sql)) as rows:
            async for name, role, created_at in rows:
                yield f"{name:<32} {role:<6} {_time(created_at)}"


async def rooms(db: Database) -> AsyncGenerator[str, None]:
    """One line per room (name, kind, members, last seq), by name; a heading first."""
    yield f"{'NAME':<40} {'KIND':<7} {'MEMBERS':>7} {'LAST SEQ':>10}"
    async with db.snapshot():
        sql = (
            "SELECT r.name, r.kind, (SELECT count(*) FROM members m WHERE m.room_id = r.id),"
            f" r.last_seq FROM rooms r ORDER BY r.name{db.collate_c}"
        )
        async with aclosing(db.stream(sql)) as rows:
            async for name, kind, members, last_seq in rows:
                yield f"{name:<40} {kind:<7} {members:>7} {last_seq:>10}"


def _time(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%d %H:%M:%SZ")
