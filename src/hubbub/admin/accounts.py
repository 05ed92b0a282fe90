"""Accounts from the command line: create one (or a bot), reset a password, make server
admins and members, deactivate and reactivate, and list users and rooms.

Every change goes through ``Storage``, as the server's own requests do: the first account is
an admin there; a new password revokes the user's tokens in the write that stores its hash;
roles and deactivation are checked by the rules of ``core.accounts`` (the last active admin
stays one) and logged in the audit log with the actor ``""`` (the command line). A new
password and a deactivation add an account change, on which every node of a running server
closes the user's sessions within ``account_poll_interval``. An account made here joins no
room: joining appends events, which only the server does.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator
from contextlib import aclosing
from datetime import UTC, datetime

from hubbub.admin.database import AdminError, Database, UsageError
from hubbub.auth.passwords import Passwords
from hubbub.auth.tokens import new_token, token_hash
from hubbub.config import Config
from hubbub.core import bots
from hubbub.core.accounts import ServerRole
from hubbub.core.mentions import ROOM
from hubbub.core.models import USERNAME_RE
from hubbub.core.profiles import Profile
from hubbub.errors import Conflict, NotFound
from hubbub.protocol.limits import MAX_PASSWORD, MIN_PASSWORD
from hubbub.service.actions import wall_clock_ms
from hubbub.storage.base import Storage
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
    """Create the account; with ``admin`` it is a server admin. Its role, as stored."""
    password_hash = await _hash(config, password)
    async with build_storage(config.storage_url) as storage:
        try:
            await storage.create_user(username, password_hash, wall_clock_ms())
        except Conflict:
            raise AdminError(f"the username {username!r} is taken") from None
        if admin:
            await storage.set_server_role(None, username, ServerRole.ADMIN, wall_clock_ms())
    return await _role(db, username)


async def create_bot(config: Config, username: str) -> str:
    """Create the bot account (``core.bots``) with its token, which is returned: the only
    time it can be seen. Refused on a server with no account yet, whose first account
    must be a person, its admin."""
    token = new_token()
    async with build_storage(config.storage_url) as storage:
        if not await storage.has_users():
            raise AdminError(
                "create the first account before any bot (hubbub admin user create NAME):"
                " it is the server's admin"
            )
        try:
            await storage.create_bot(
                username, bots.COMMAND_LINE, wall_clock_ms(), token_hash(token)
            )
        except Conflict:
            raise AdminError(f"the username {username!r} is taken") from None
    return token


async def set_password(config: Config, username: str, password: str) -> int:
    """Give the user a new password, revoke all of their tokens and close their sessions on
    every node; how many tokens."""
    password_hash = await _hash(config, password)
    async with build_storage(config.storage_url) as storage:
        try:
            # No token's hash is empty: keeping b"" revokes every one of them.
            revoked = await storage.set_password(
                username, password_hash, keep=b"", close_sessions=True, now=wall_clock_ms()
            )
        except NotFound:
            raise AdminError(f"no user named {username!r}") from None
    return len(revoked)


async def set_role(config: Config, username: str, role: ServerRole) -> bool:
    """Make the user a server admin or a member; False if they were already."""
    async with build_storage(config.storage_url) as storage:
        before = await _profile(storage, username)
        await storage.set_server_role(None, username, role, wall_clock_ms())  # or Conflict
    return before.admin is not (role is ServerRole.ADMIN)


async def set_deactivated(config: Config, username: str, deactivated: bool) -> bool:
    """Deactivate (revoking every token, closing every session on every node) or reactivate
    the account; False if it was already."""
    async with build_storage(config.storage_url) as storage:
        before = await _profile(storage, username)
        await storage.set_deactivated(None, username, deactivated, wall_clock_ms())
    return before.deactivated is not deactivated


async def _profile(storage: Storage, username: str) -> Profile:
    found = await storage.profiles([username])
    if not found:
        raise AdminError(f"no user named {username!r}")
    return found[0]


async def role(db: Database, username: str) -> str | None:
    """The user's role, or None for no such user."""
    rows = await db.fetch("SELECT role FROM users WHERE username = ?", username)
    return str(rows[0][0]) if rows else None


async def _role(db: Database, username: str) -> str:
    found = await role(db, username)
    if found is None:
        raise AdminError(f"no user named {username!r}")
    return found


async def users(db: Database) -> AsyncGenerator[str, None]:
    """One line per user (name, role, state, created), by name; a heading first."""
    yield f"{'NAME':<32} {'ROLE':<6} {'STATE':<11} CREATED"
    async with db.snapshot():
        sql = (
            "SELECT username, role, deactivated_at, created_at FROM users"
            f" ORDER BY username{db.collate_c}"
        )
        async with aclosing(db.stream(sql)) as rows:
            async for name, role, deactivated_at, created_at in rows:
                state = "active" if deactivated_at is None else "deactivated"
                yield f"{name:<32} {role:<6} {state:<11} {_time(created_at)}"


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
