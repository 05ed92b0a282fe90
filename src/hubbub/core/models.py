"""Rooms, events and the names that identify them. Pure data, no I/O.

An ``Event`` is everything durable that happens in a room. It is stored, replayed and sent on
the wire in the same shape, so it is a msgspec Struct whose encoding *is* the wire form
(fields left at their default are omitted).
"""

from __future__ import annotations

import enum
import re

import msgspec

USERNAME_RE = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,31}$")
LOBBY = "lobby"
GUEST_PREFIX = "guest:"
DM_PREFIX = "dm:"


class RoomKind(enum.StrEnum):
    PUBLIC = "public"
    PRIVATE = "private"
    DM = "dm"


class EventType(enum.StrEnum):
    MESSAGE = "message"
    MEMBER_JOINED = "member_joined"
    MEMBER_LEFT = "member_left"


class Event(msgspec.Struct, omit_defaults=True, kw_only=True):
    """One entry of a room's log; ``seq`` runs 1, 2, 3 … per room with no hole."""

    type: str
    room: str
    seq: int
    ts: int
    user: str
    msg_id: str | None = None
    client_msg_id: str | None = None
    body: str | None = None
    by: str | None = None


class Room(msgspec.Struct, frozen=True, kw_only=True):
    id: int
    name: str
    kind: RoomKind
    last_seq: int


class RoomInfo(msgspec.Struct, kw_only=True):
    """A room as one of its members sees it."""

    name: str
    kind: RoomKind
    last_seq: int
    read_seq: int
    unread: int


class PublicRoom(msgspec.Struct, kw_only=True):
    name: str
    members: int
    last_seq: int


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
