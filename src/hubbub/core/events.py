"""Room events: everything durable that happens in a room, one struct per kind. Pure data.

``Event`` is a tagged union on ``type``. Every kind has the common fields ``room``, ``seq``,
``ts`` and ``user``, and exactly its own. An event's encoding *is* its wire form (fields left
at their default are omitted): the hub encodes each event once and sends those bytes as they
are, so a field that must not reach clients does not belong in an event.

Code that must decide something for every kind matches on the classes and ends with
``assert_never``, so mypy names each place a new kind has to be handled: here, and in
``core.projection``. Everything else (storage, the hub, resume, history) handles any event.
"""

from __future__ import annotations

import enum
import typing
from typing import ClassVar

import msgspec

from hubbub.core.files import FileInfo


class EventType(enum.StrEnum):
    MESSAGE = "message"
    MEMBER_JOINED = "member_joined"
    MEMBER_LEFT = "member_left"
    MESSAGE_EDITED = "message_edited"
    MESSAGE_DELETED = "message_deleted"
    ROLE_CHANGED = "role_changed"
    REACTION_ADDED = "reaction_added"
    REACTION_REMOVED = "reaction_removed"
    MEMBER_KICKED = "member_kicked"
    MEMBER_BANNED = "member_banned"
    MEMBER_UNBANNED = "member_unbanned"
    MEMBER_MUTED = "member_muted"
    MEMBER_UNMUTED = "member_unmuted"
    ROOM_CHANGED = "room_changed"


class _Event(msgspec.Struct, tag_field="type", omit_defaults=True, frozen=True, kw_only=True):
    """The fields every event has. ``seq`` runs 1, 2, 3 … per room with no hole; an event
    not stored yet has ``seq`` 0 (storage gives it its number)."""

    type: ClassVar[EventType]
    room: str
    seq: int
    ts: int
    user: str  # the author of a message; the member who joined or left, or was moderated


class Message(_Event, tag=EventType.MESSAGE.value, frozen=True, kw_only=True):
    """A message: its text, the id the server gave it and the id its author gave it. As
    appended it has neither ``edited_at`` nor ``deleted``; in history and replay it stands
    as it is now: the latest body and ``edited_at``, or a tombstone (``deleted``, no body).

    A reply names the message it answers (``reply_to``) and its thread's root (``thread``:
    threads are one level deep, so a reply to a reply joins the same thread); a root counts
    its live ``replies`` and the time of its newest reply. ``mentions`` are the members the
    body names with ``@name``, ``room_mention`` an allowed ``@room``. ``files`` are the
    files it carries (a message with files may have an empty body; a tombstone has none)."""

    type: ClassVar[EventType] = EventType.MESSAGE
    msg_id: str
    client_msg_id: str | None = None  # None for the seed's guests
    body: str = ""  # "" only in a tombstone or beside files
    edited_at: int | None = None  # the ts of its latest message_edited
    deleted: bool = False
    reply_to: int | None = None
    thread: int | None = None
    replies: int = 0
    last_reply_at: int | None = None  # a delete does not lower it
    mentions: tuple[str, ...] = ()
    room_mention: bool = False
    files: tuple[FileInfo, ...] = ()
    # Read, never stored: counted from the reactions when a reader is shown the message.
    reactions: tuple[Reaction, ...] = ()
    # Read, never stored: the parent of a reply as it stands when the reply is read.
    quote: Quote | None = None

    computed: ClassVar[tuple[str, ...]] = ("reactions", "quote")


class Quote(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """The start of the message a reply answers, as it stands now: ``body`` is its first
    ``QUOTE_CODE_POINTS`` code points, "" once it is deleted."""

    user: str
    body: str
    deleted: bool = False


class Reaction(msgspec.Struct, frozen=True, kw_only=True):
    """One emoji on a message: how many members reacted with it, and whether the reader did."""

    emoji: str
    count: int
    me: bool = False


class MessageEdited(_Event, tag=EventType.MESSAGE_EDITED.value, frozen=True, kw_only=True):
    """The author gave the message ``target`` a new body (``ts`` is when). The body is
    erased from storage when the message is deleted."""

    type: ClassVar[EventType] = EventType.MESSAGE_EDITED
    target: int
    body: str = ""
    mentions: tuple[str, ...] = ()  # those of the new body
    room_mention: bool = False


class MessageDeleted(_Event, tag=EventType.MESSAGE_DELETED.value, frozen=True, kw_only=True):
    """``user`` deleted the message ``target``: its body and its edits' bodies are erased.
    ``thread`` is the target's, so a client holding the root can count one reply less."""

    type: ClassVar[EventType] = EventType.MESSAGE_DELETED
    target: int
    thread: int | None = None


class ReactionAdded(_Event, tag=EventType.REACTION_ADDED.value, frozen=True, kw_only=True):
    """``user`` reacted to the message ``target`` with ``emoji``."""

    type: ClassVar[EventType] = EventType.REACTION_ADDED
    target: int
    emoji: str


class ReactionRemoved(_Event, tag=EventType.REACTION_REMOVED.value, frozen=True, kw_only=True):
    """``user`` took back their reaction ``emoji`` to the message ``target``."""

    type: ClassVar[EventType] = EventType.REACTION_REMOVED
    target: int
    emoji: str


class Role(enum.StrEnum):
    """A member's role in a room; its creator is its owner, above every role."""

    ADMIN = "admin"
    MEMBER = "member"


class RoleChanged(_Event, tag=EventType.ROLE_CHANGED.value, frozen=True, kw_only=True):
    """The owner ``user`` gave the member ``member`` the role ``role``."""

    type: ClassVar[EventType] = EventType.ROLE_CHANGED
    member: str
    role: Role


class MemberJoined(_Event, tag=EventType.MEMBER_JOINED.value, frozen=True, kw_only=True):
    """A user became a member of the room."""

    type: ClassVar[EventType] = EventType.MEMBER_JOINED
    by: str | None = None  # the inviter, or a DM's opener; None when the user joined alone


class MemberLeft(_Event, tag=EventType.MEMBER_LEFT.value, frozen=True, kw_only=True):
    """A user stopped being a member of the room."""

    type: ClassVar[EventType] = EventType.MEMBER_LEFT


class MemberKicked(_Event, tag=EventType.MEMBER_KICKED.value, frozen=True, kw_only=True):
    """The room's owner, one of its admins or a server admin ``by`` removed the member
    ``user`` (who may join a public room again)."""

    type: ClassVar[EventType] = EventType.MEMBER_KICKED
    by: str


class MemberBanned(_Event, tag=EventType.MEMBER_BANNED.value, frozen=True, kw_only=True):
    """``by`` banned ``user`` from the room: removed if a member, and kept out (no join, no
    invitation, no reading) until ``member_unbanned``."""

    type: ClassVar[EventType] = EventType.MEMBER_BANNED
    by: str
    reason: str = ""


class MemberUnbanned(_Event, tag=EventType.MEMBER_UNBANNED.value, frozen=True, kw_only=True):
    """``by`` lifted the ban of ``user`` (who is not a member again until they join)."""

    type: ClassVar[EventType] = EventType.MEMBER_UNBANNED
    by: str


class MemberMuted(_Event, tag=EventType.MEMBER_MUTED.value, frozen=True, kw_only=True):
    """``by`` muted the member ``user``: they stay, but cannot send or react until ``until``
    (ms since the epoch; None: until ``member_unmuted``)."""

    type: ClassVar[EventType] = EventType.MEMBER_MUTED
    by: str
    until: int | None = None


class MemberUnmuted(_Event, tag=EventType.MEMBER_UNMUTED.value, frozen=True, kw_only=True):
    """``by`` lifted the mute of ``user`` before it ran out."""

    type: ClassVar[EventType] = EventType.MEMBER_UNMUTED
    by: str


class RoomChanged(_Event, tag=EventType.ROOM_CHANGED.value, frozen=True, kw_only=True):
    """``user`` changed the room's settings: those given (a topic, public or private, a
    title, how many days messages are kept: -1 for the server's setting, 0 for ever)."""

    type: ClassVar[EventType] = EventType.ROOM_CHANGED
    topic: str | None = None
    private: bool | None = None
    title: str | None = None
    retention_days: int | None = None


Event = (
    Message
    | MemberJoined
    | MemberLeft
    | MessageEdited
    | MessageDeleted
    | RoleChanged
    | ReactionAdded
    | ReactionRemoved
    | MemberKicked
    | MemberBanned
    | MemberUnbanned
    | MemberMuted
    | MemberUnmuted
    | RoomChanged
)

# What the room's owner, its admins and server admins do to a room and its members.
Moderation = (
    MemberKicked | MemberBanned | MemberUnbanned | MemberMuted | MemberUnmuted | RoomChanged
)

EVENT_CLASSES: dict[EventType, type[Event]] = {cls.type: cls for cls in typing.get_args(Event)}
COMMON_FIELDS = _Event.__struct_fields__


def own_fields(cls: type[Event]) -> tuple[str, ...]:
    """The stored fields of one kind beyond the common ones, in wire order (not those
    computed when the event is read)."""
    computed: tuple[str, ...] = getattr(cls, "computed", ())
    return tuple(f for f in cls.__struct_fields__[len(COMMON_FIELDS) :] if f not in computed)


def client_msg_id(event: Event) -> str | None:
    """The id its author gave the event, for the kinds that have a ``client_msg_id`` field:
    an author's ids are unique, so appending one again stores nothing new."""
    key: str | None = getattr(event, "client_msg_id", None)
    return key


class Membership(enum.Enum):
    JOINED = "joined"
    LEFT = "left"


def membership_change(event: Event) -> Membership | None:
    """Whether ``event.user`` becomes or stops being a member of ``event.room``."""
    match event:
        case MemberJoined():
            return Membership.JOINED
        case MemberLeft() | MemberKicked() | MemberBanned():
            return Membership.LEFT
        case (
            Message()
            | MessageEdited()
            | MessageDeleted()
            | RoleChanged()
            | ReactionAdded()
            | ReactionRemoved()
            | MemberUnbanned()
            | MemberMuted()
            | MemberUnmuted()
            | RoomChanged()
        ):
            return None
        case _:
            typing.assert_never(event)
