"""Who may moderate a room, and whom. Pure functions.

A room's owner and admins moderate it, and server admins moderate every room: kick,
ban and unban, mute and unmute, and change its settings. Each acts only on those below
them: server admins above the owner, the owner above the admins, the admins above the
members, so an admin cannot act on the owner nor on another admin, and nobody acts on
themselves. A direct-message room has no owner, admins nor settings: nobody moderates it.
"""

from __future__ import annotations

import typing

import msgspec

from hubbub.core.events import (
    MemberBanned,
    MemberKicked,
    MemberMuted,
    MemberUnbanned,
    MemberUnmuted,
    MessageDeleted,
    Moderation,
    RoomChanged,
)
from hubbub.core.models import RoomKind, RoomRole
from hubbub.core.profiles import shown_text
from hubbub.errors import BadRequest, Forbidden

MAX_TOPIC_CHARS = 250
MAX_TITLE_CHARS = 64  # code points, as a display name
MAX_REASON_CHARS = 250
DM_UNMODERATED = "a direct-message room has no moderation"


class AuditEntry(msgspec.Struct, frozen=True, kw_only=True):
    """One moderation as the audit log keeps it: who did what (``action``: ``verb``, or
    ``delete`` for a message deleted by someone not its author) in which room to whom
    (``target``: a username, None for the room's settings), and what it set (``detail``)."""

    id: int
    ts: int
    actor: str
    action: str
    room: str
    target: str | None
    detail: str


class BanEntry(msgspec.Struct, frozen=True, kw_only=True):
    """A ban in force as ``bans`` lists it: ``user`` kept out by ``by`` since ``ts``."""

    user: str
    by: str
    reason: str
    ts: int


MAX_BANS_LISTED = 1000  # ``bans`` lists the newest this many


_RANK = {RoomRole.MEMBER: 0, RoomRole.ADMIN: 1, RoomRole.OWNER: 2}
_SERVER_ADMIN = 3


def actor(event: Moderation) -> str:
    """Who moderates: ``by``, or the author of a settings change."""
    return event.user if isinstance(event, RoomChanged) else event.by


def target(event: Moderation) -> str | None:
    """Whom a moderation acts on (None for the room's settings)."""
    return None if isinstance(event, RoomChanged) else event.user


def verb(event: Moderation) -> str:
    """The action as the audit log and the error messages name it."""
    match event:
        case MemberKicked():
            return "kick"
        case MemberBanned():
            return "ban"
        case MemberUnbanned():
            return "unban"
        case MemberMuted():
            return "mute"
        case MemberUnmuted():
            return "unmute"
        case RoomChanged():
            return "room_settings"
        case _:
            typing.assert_never(event)


def rank(role: RoomRole | None, server_admin: bool) -> int:
    """How high a user stands in a room (None: not a member)."""
    if server_admin:
        return _SERVER_ADMIN
    return 0 if role is None else _RANK[role]


def check(
    event: Moderation,
    kind: RoomKind,
    actor_rank: int,
    target_rank: int,
) -> None:
    """``Forbidden`` or ``BadRequest`` unless the actor may do ``event`` (the caller has
    already told an outsider of a room they may not see that it is missing)."""
    if kind == RoomKind.DM:
        raise Forbidden(DM_UNMODERATED)
    what = verb(event)
    if actor_rank < _RANK[RoomRole.ADMIN]:
        if what == "room_settings":
            raise Forbidden("only the room's owner and admins can change its settings")
        raise Forbidden(f"only the room's owner and admins can {what} members")
    whom = target(event)
    if whom is None:
        return
    if whom == actor(event):
        raise BadRequest(f"you cannot {what} yourself")
    if target_rank >= actor_rank:
        raise Forbidden(f"you cannot {what} {whom!r}: they stand as high as you or higher")


def check_bans_reader(kind: RoomKind, reader_rank: int) -> None:
    """``Forbidden`` unless the reader may list the room's bans: those who may unban."""
    if kind == RoomKind.DM:
        raise Forbidden(DM_UNMODERATED)
    if reader_rank < _RANK[RoomRole.ADMIN]:
        raise Forbidden("only the room's owner and admins can list its bans")


def mute_message(room: str, until: int | None) -> str:
    """The refusal a muted member gets for a message or a reaction."""
    if until is None:
        return f"you are muted in {room!r} until a moderator unmutes you"
    return f"you are muted in {room!r} until {until} (ms since the epoch)"


def banned_from(room: str, user: str, inviter: str | None) -> str:
    """The refusal of a banned user's join, or of their invitation by ``inviter``."""
    if inviter is None:
        return f"you are banned from {room!r}"
    return f"{user!r} is banned from {room!r}"


def needs_member(event: Moderation) -> bool:
    """Whether the user acted on must be a member: to be kicked or muted (a ban also keeps
    a user out who is none; an unban or unmute lifts what may outlast the membership)."""
    return isinstance(event, MemberKicked | MemberMuted)


def settings_change(
    event: RoomChanged,
    topic: str,
    kind: RoomKind,
    title: str = "",
    retention_days: int | None = None,
) -> RoomChanged | None:
    """``event`` with only the settings that differ from the room's (a ``topic``, a
    ``kind``, a ``title`` and its own ``retention_days``, None for the server's), or None if
    none does. The event's retention is -1 for the server's."""
    new_topic = event.topic if event.topic is not None and event.topic != topic else None
    private = event.private
    if private is not None and private == (kind == RoomKind.PRIVATE):
        private = None
    new_title = event.title if event.title is not None and event.title != title else None
    retention = event.retention_days
    if retention is not None and (None if retention == -1 else retention) == retention_days:
        retention = None
    if new_topic is None and private is None and new_title is None and retention is None:
        return None
    return msgspec.structs.replace(
        event, topic=new_topic, private=private, title=new_title, retention_days=retention
    )


def room_title(value: str) -> str:
    """A room's title: trimmed, at most ``MAX_TITLE_CHARS`` code points, and held to the
    rules of a display name (``ValueError`` otherwise); "" clears it."""
    return shown_text(value, MAX_TITLE_CHARS, "a room title")


def entry(event: Moderation) -> AuditEntry:
    """The audit log's entry of a stored moderation (its id given by storage)."""
    return AuditEntry(
        id=0,
        ts=event.ts,
        actor=actor(event),
        action=verb(event),
        room=event.room,
        target=target(event),
        detail=detail(event),
    )


def deleted_entry(delete: MessageDeleted, author: str) -> AuditEntry:
    """The entry of a message deleted by someone not its author."""
    return AuditEntry(
        id=0,
        ts=delete.ts,
        actor=delete.user,
        action="delete",
        room=delete.room,
        target=author,
        detail=f"seq={delete.target}",
    )


def muted(until: int | None, now: int) -> bool:
    """Whether a mute until ``until`` (None: until lifted) holds at ``now``."""
    return until is None or now < until


def detail(event: Moderation) -> str:
    """The audit log's detail of a moderation: what it set beyond whom it acted on."""
    match event:
        case MemberBanned(reason=reason):
            return reason
        case MemberMuted(until=until):
            return "" if until is None else f"until={until}"
        case RoomChanged(topic=topic, private=private, title=title, retention_days=days):
            parts = []
            if topic is not None:
                parts.append(f"topic={topic}")
            if private is not None:
                parts.append(f"private={str(private).lower()}")
            if title is not None:
                parts.append(f"title={title}")
            if days is not None:
                parts.append(f"retention_days={days}")
            return " ".join(parts)
        case MemberKicked() | MemberUnbanned() | MemberUnmuted():
            return ""
        case _:
            typing.assert_never(event)
