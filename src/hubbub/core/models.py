"""Rooms and the names that identify them. Pure data, no I/O. (Room events: ``core.events``.)"""

from __future__ import annotations

import enum
import re

import msgspec

# 1-32 of a-z 0-9 _ . - starting with a letter or digit: the one username rule, for the
# wire types (``protocol.limits``) and for registration. Names are case-insensitive.
USERNAME = r"[A-Za-z0-9][A-Za-z0-9_.-]{0,31}"
USERNAME_RE = re.compile(rf"{USERNAME}\Z")  # \Z: "bob\n" is not "bob"
LOBBY = "lobby"
GUEST_PREFIX = "guest:"
DM_PREFIX = "dm:"


class RoomKind(enum.StrEnum):
    PUBLIC = "public"
    PRIVATE = "private"
    DM = "dm"


class Room(msgspec.Struct, frozen=True, kw_only=True):
    id: int
    name: str
    kind: RoomKind
    last_seq: int


class RoomRole(enum.StrEnum):
    """A member's standing in a room: its creator owns it (a DM has no owner); the owner
    makes members admins."""

    OWNER = "owner"
    ADMIN = "admin"
    MEMBER = "member"


class RoomInfo(msgspec.Struct, kw_only=True):
    """A room as one of its members sees it: ``unread`` messages of others after their
    read marker, and ``unread_mentions`` of those that name them (or @room; in a DM, all)."""

    name: str
    kind: RoomKind
    last_seq: int
    read_seq: int
    unread: int
    unread_mentions: int = 0
    role: RoomRole = RoomRole.MEMBER
    title: str = ""  # what to show instead of the name ("": the name)
    topic: str = ""
    retention_days: int | None = None  # the room's own (0: forever); None: the server's


class PublicRoom(msgspec.Struct, kw_only=True):
    name: str
    members: int
    last_seq: int
    title: str = ""
    topic: str = ""


def storable(text: str) -> bool:
    """Text every storage backend keeps as it is: no NUL character (U+0000), which
    PostgreSQL's text type refuses; so no backend takes it."""
    return "\x00" not in text


def dm_room_name(a: str, b: str) -> str:
    """The one room name of a pair of users, whoever opens it first."""
    first, second = sorted((a, b))
    return f"{DM_PREFIX}{first}:{second}"


def dm_members(name: str) -> tuple[str, str]:
    first, _, second = name.removeprefix(DM_PREFIX).partition(":")
    return first, second


def guest_author(name: str) -> str:
    return GUEST_PREFIX + name


def normalize_room(ref: str) -> str:
    """Room references are case-insensitive; a DM may be named with its users in any order."""
    ref = ref.lower()
    if ref.startswith(DM_PREFIX):
        return dm_room_name(*dm_members(ref))
    return ref
