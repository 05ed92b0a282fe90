"""Server frames decoded into the server's own types. Pure: no I/O.

Each frame is read twice: its ``type`` and ``re`` first, then the whole frame as the struct
the server encoded it from (``core.events`` for room events, ``protocol.messages`` for
replies and notices). The replies that ``protocol.messages`` makes at run time from an HTTP
body (``sent``, ``room``, ``bans``, ``search``, ``invited``) have no static type, so they
are decoded as that body (``SentOut``, ``RoomInfo``, ``BanList``, ``SearchResults``,
``Invitation``): the same fields, without ``type`` and ``re``, which the head holds.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import msgspec

from hubbub.core.consent import Invitation
from hubbub.core.events import EVENT_CLASSES, Event
from hubbub.core.models import RoomInfo
from hubbub.protocol import messages as m

RequestId = m.RequestId

REPLY_TYPES: dict[str, type[msgspec.Struct]] = {
    "ready": m.Ready,
    "error": m.Error,
    "rooms": m.RoomsReply,
    "directory": m.DirectoryReply,
    "members": m.MembersReply,
    "profile": m.ProfileNotice,
    "users": m.UsersReply,
    "left": m.Left,
    "ok": m.Ok,
    "invitations": m.InvitationsReply,
    "blocks": m.BlocksReply,
    "dm_policy": m.DmPolicyReply,
    "current": m.MessageReply,
    "history": m.HistoryReply,
    "thread": m.ThreadReply,
    "synced": m.Synced,
    "read": m.ReadNotice,
    "typing": m.TypingNotice,
    "mention": m.MentionNotice,
    "presence": m.PresenceNotice,
    "pong": m.Pong,
    # Made at run time from an HTTP body: decoded as the body.
    "sent": m.SentOut,
    "room": RoomInfo,
    "bans": m.BanList,
    "search": m.SearchResults,
    "invited": Invitation,
}

# Types that are notices when they come without ``re`` (``profile`` and ``synced`` are also
# replies; ``read`` is a notice only).
NOTICE_TYPES = frozenset({"read", "typing", "mention", "presence", "profile", "invited", "synced"})


class _Head(msgspec.Struct):
    type: str
    re: Any = None


_head = msgspec.json.Decoder(_Head)
_event = msgspec.json.Decoder(Event)
_replies = {tag: msgspec.json.Decoder(cls) for tag, cls in REPLY_TYPES.items()}


@dataclass(frozen=True, slots=True)
class Frame:
    """A server frame: its ``type``, its ``re`` (None for events and notices) and its
    decoded ``body``: an ``Event``, a reply or notice struct, or None for a type this
    client does not know (a newer server's), which it ignores."""

    type: str
    re: RequestId
    body: Any


class BadFrame(ValueError):
    """A frame that is not what the server sends (not JSON, or not its shape)."""


def decode(data: str | bytes) -> Frame:
    try:
        head = _head.decode(data)
        re = head.re if isinstance(head.re, int | float | str) else None
        if head.type in EVENT_CLASSES:
            return Frame(head.type, None, _event.decode(data))
        decoder = _replies.get(head.type)
        return Frame(head.type, re, None if decoder is None else decoder.decode(data))
    except (msgspec.DecodeError, msgspec.ValidationError) as exc:
        raise BadFrame(str(exc)) from None
