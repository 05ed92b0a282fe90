"""Server accounts as a server admin manages them: roles, deactivation, and their rules. No I/O.

A server has any number of admins (the first account created is one). An admin makes members
admins and admins members, and deactivates and reactivates accounts. A deactivated account
keeps its name, messages, memberships and files, but cannot sign in, and every token of its
is revoked. The server never loses its last active admin: demoting or deactivating them is
refused, and nobody deactivates themselves. Storage checks these rules in the write that
changes the account, so two admins acting at once cannot both pass them.
"""

from __future__ import annotations

import enum

import msgspec

from hubbub.core.moderation import AuditEntry
from hubbub.errors import BadRequest, Conflict, Forbidden, NotFound

MAX_ACCOUNTS_PAGE = 200  # accounts per page of the listing
SERVER_WIDE = ""  # the audit log's ``room`` of an action that is not a room's
COMMAND_LINE = ""  # the audit log's ``actor`` of a change made with ``hubbub admin``
ACCOUNT_CHANGES_KEPT_MS = 3_600_000  # how long a node may take to hear of an account change
MAX_ACCOUNT_CHANGES_READ = 1000  # account changes read per poll
DEACTIVATED = "this account is deactivated; a server admin can reactivate it"


class ServerRole(enum.StrEnum):
    ADMIN = "admin"
    MEMBER = "member"


class AccountChange(enum.StrEnum):
    """Why every session of an account is closed, on every node."""

    DEACTIVATED = "deactivated"  # by a server admin or the command line
    PASSWORD = "password"  # a new password given with ``hubbub admin user password``


class Account(msgspec.Struct, frozen=True, kw_only=True):
    """An account as the server admins' listing shows it."""

    username: str
    display_name: str  # "" = none
    role: ServerRole
    deactivated: bool
    created_at: int  # ms since the epoch

    @property
    def active_admin(self) -> bool:
        return self.role is ServerRole.ADMIN and not self.deactivated


def check_actor(actor: Account | None) -> None:
    """``Forbidden`` unless the one who acts is an active server admin."""
    if actor is None or not actor.active_admin:
        raise Forbidden("only server admins can manage accounts")


def found(account: Account | None, username: str) -> Account:
    if account is None:
        raise NotFound(f"no user named {username!r}")
    return account


def changes_role(target: Account, role: ServerRole, active_admins: int) -> bool:
    """Whether giving ``target`` the role changes anything; ``Conflict`` for the last active
    admin made a member."""
    if target.role is role:
        return False
    if role is ServerRole.MEMBER and target.active_admin and active_admins <= 1:
        raise Conflict(last_admin(target.username))
    return True


def changes_state(by: str | None, target: Account, deactivated: bool, active_admins: int) -> bool:
    """Whether (de)activating ``target`` changes anything; ``BadRequest`` for deactivating
    oneself, ``Conflict`` for the last active admin."""
    if deactivated and by == target.username:
        raise BadRequest("you cannot deactivate your own account")
    if target.deactivated is deactivated:
        return False
    if deactivated and target.active_admin and active_admins <= 1:
        raise Conflict(last_admin(target.username))
    return True


def last_admin(username: str) -> str:
    return f"{username!r} is the last active server admin: make another one admin first"


def entry(by: str | None, action: str, username: str, now: int) -> AuditEntry:
    """The audit log's entry of a change of an account (its id given by storage)."""
    return AuditEntry(
        id=0,
        ts=now,
        actor=COMMAND_LINE if by is None else by,
        action=action,
        room=SERVER_WIDE,
        target=username,
        detail="",
    )


def role_action(role: ServerRole) -> str:
    return "promote" if role is ServerRole.ADMIN else "demote"


def state_action(deactivated: bool) -> str:
    return "deactivate" if deactivated else "reactivate"


def deactivated_user(username: str) -> str:
    """The refusal of a request that would reach a deactivated account (``dm``, ``invite``)."""
    return f"{username!r} is deactivated"
