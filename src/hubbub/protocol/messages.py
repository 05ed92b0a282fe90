"""The hubbub.v1 JSON frames as typed Structs: one pass decodes and validates a request.

Requests are a tagged union on ``"type"``; a request may carry ``id`` (any JSON string or
number), echoed as ``re`` in the reply. ``decode_request`` turns a frame into a request or
raises ``ProtocolError`` carrying the ``id`` it could still read, so the error can be matched.
"""

from __future__ import annotations

from typing import Annotated, Any

import msgspec

from hubbub.core.consent import DmPolicy, Invitation
from hubbub.core.events import Event, Message, Role
from hubbub.core.models import PublicRoom, RoomInfo, RoomRole, normalize_room
from hubbub.core.moderation import BanEntry, room_title
from hubbub.core.presence import State
from hubbub.core.profiles import Profile, display_name, status
from hubbub.core.reactions import EMOJI_RULE, is_emoji
from hubbub.core.search import DEFAULT_SEARCH_LIMIT, Found
from hubbub.errors import BadRequest
from hubbub.protocol.limits import (
    DEFAULT_HISTORY_LIMIT,
    MAX_SYNC_ROOMS,
    MAX_USERS_ASKED,
    RENAME_REFUSED,
    BanReason,
    Body,
    ClientMsgId,
    FileIds,
    HistoryLimit,
    MessageBody,
    RetentionDays,
    RoomName,
    RoomRef,
    RoomTitle,
    SearchCursor,
    SearchLimit,
    SearchQuery,
    Seq,
    Timestamp,
    Token,
    Topic,
    Username,
    check_message,
)

RequestId = int | float | str | None


class _Request(msgspec.Struct, tag_field="type", forbid_unknown_fields=False, kw_only=True):
    id: RequestId = None


class _RoomRequest(_Request, kw_only=True):
    room: RoomRef

    def __post_init__(self) -> None:
        self.room = normalize_room(self.room)


class Auth(_Request, tag="auth", kw_only=True):
    token: Token


class Rooms(_Request, tag="rooms", kw_only=True):
    pass


class Directory(_Request, tag="directory", kw_only=True):
    pass


class Members(_RoomRequest, tag="members", kw_only=True):
    pass


class Create(_Request, tag="create", kw_only=True):
    name: RoomName
    private: bool = False

    def __post_init__(self) -> None:
        self.name = self.name.lower()


class Join(_RoomRequest, tag="join", kw_only=True):
    pass


class Leave(_RoomRequest, tag="leave", kw_only=True):
    pass


class Dm(_Request, tag="dm", kw_only=True):
    user: Username

    def __post_init__(self) -> None:
        self.user = self.user.lower()


class Invite(_RoomRequest, tag="invite", kw_only=True):
    user: Username

    def __post_init__(self) -> None:
        super().__post_init__()
        self.user = self.user.lower()


class Invitations(_Request, tag="invitations", kw_only=True):
    pass


class Accept(_RoomRequest, tag="accept", kw_only=True):
    pass


class Decline(_RoomRequest, tag="decline", kw_only=True):
    pass


class _UserRequest(_Request, kw_only=True):
    user: Username

    def __post_init__(self) -> None:
        self.user = self.user.lower()


class Block(_UserRequest, tag="block", kw_only=True):
    pass


class Unblock(_UserRequest, tag="unblock", kw_only=True):
    pass


class Blocks(_Request, tag="blocks", kw_only=True):
    pass


class SetDmPolicy(_Request, tag="dm_policy", kw_only=True):
    """Read one's DM policy, or with ``policy`` change it."""

    policy: DmPolicy | None = None


class Send(_RoomRequest, tag="send", kw_only=True):
    client_msg_id: ClientMsgId
    body: MessageBody
    reply_to: Seq | None = None
    files: FileIds = msgspec.field(default_factory=list)

    def __post_init__(self) -> None:
        super().__post_init__()
        check_message(self.body, self.files)


class Edit(_RoomRequest, tag="edit", kw_only=True):
    seq: Seq
    body: Body


class Delete(_RoomRequest, tag="delete", kw_only=True):
    seq: Seq


class React(_RoomRequest, tag="react", kw_only=True):
    seq: Seq
    emoji: str
    on: bool

    def __post_init__(self) -> None:
        super().__post_init__()
        if not is_emoji(self.emoji):
            raise ValueError(EMOJI_RULE)


class SetRole(_RoomRequest, tag="role", kw_only=True):
    user: Username
    role: Role

    def __post_init__(self) -> None:
        super().__post_init__()
        self.user = self.user.lower()


class _Moderate(_RoomRequest, kw_only=True):
    """A moderation of the member ``user`` of ``room``."""

    user: Username

    def __post_init__(self) -> None:
        super().__post_init__()
        self.user = self.user.lower()


class Kick(_Moderate, tag="kick", kw_only=True):
    pass


class Ban(_Moderate, tag="ban", kw_only=True):
    reason: BanReason = ""


class Unban(_Moderate, tag="unban", kw_only=True):
    pass


class Mute(_Moderate, tag="mute", kw_only=True):
    until: Timestamp | None = None  # None: until unmuted


class Unmute(_Moderate, tag="unmute", kw_only=True):
    pass


class Bans(_RoomRequest, tag="bans", kw_only=True):
    pass


class RoomSettings(_RoomRequest, tag="room_settings", kw_only=True):
    topic: Topic | None = None
    private: bool | None = None
    title: RoomTitle | None = None
    retention_days: RetentionDays | None = None
    name: str | None = None  # only to refuse it clearly

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.name is not None:
            raise ValueError(RENAME_REFUSED)
        if self.title is not None:
            self.title = room_title(self.title)


class History(_RoomRequest, tag="history", kw_only=True):
    before: Seq | None = None
    after: Seq | None = None
    limit: HistoryLimit = DEFAULT_HISTORY_LIMIT


class Thread(_RoomRequest, tag="thread", kw_only=True):
    root: Seq
    before: Seq | None = None
    limit: HistoryLimit = DEFAULT_HISTORY_LIMIT


class Search(_Request, tag="search", kw_only=True):
    query: SearchQuery
    room: RoomRef | None = None
    before: SearchCursor | None = None
    limit: SearchLimit = DEFAULT_SEARCH_LIMIT

    def __post_init__(self) -> None:
        if self.room is not None:
            self.room = normalize_room(self.room)


class Sync(_Request, tag="sync", kw_only=True):
    since: dict[RoomRef, Seq] = {}

    def __post_init__(self) -> None:
        if len(self.since) > MAX_SYNC_ROOMS:
            raise ValueError(f"sync names at most {MAX_SYNC_ROOMS} rooms")
        self.since = {normalize_room(room): seq for room, seq in self.since.items()}


class Read(_RoomRequest, tag="read", kw_only=True):
    seq: Seq


class Typing(_RoomRequest, tag="typing", kw_only=True):
    pass


class Idle(_Request, tag="idle", kw_only=True):
    """The client's user has been idle a while (``away``), or is back."""

    away: bool


class Ping(_Request, tag="ping", kw_only=True):
    pass


class SetProfile(_Request, tag="profile", kw_only=True):
    """Change the texts of one's profile: each field given (trimmed; "" clears it)."""

    display_name: str | None = None
    status: str | None = None

    def __post_init__(self) -> None:
        if self.display_name is not None:
            self.display_name = display_name(self.display_name)
        if self.status is not None:
            self.status = status(self.status)


class Users(_Request, tag="users", kw_only=True):
    users: Annotated[list[Username], msgspec.Meta(max_length=MAX_USERS_ASKED)]

    def __post_init__(self) -> None:
        self.users = [user.lower() for user in self.users]


Request = (
    Auth
    | Rooms
    | Directory
    | Members
    | Create
    | Join
    | Leave
    | Dm
    | Invite
    | Invitations
    | Accept
    | Decline
    | Block
    | Unblock
    | Blocks
    | SetDmPolicy
    | Send
    | Edit
    | Delete
    | React
    | SetRole
    | Kick
    | Ban
    | Unban
    | Mute
    | Unmute
    | Bans
    | RoomSettings
    | History
    | Thread
    | Search
    | Sync
    | Read
    | Typing
    | Idle
    | Ping
    | SetProfile
    | Users
)

_decoder: msgspec.json.Decoder[Request] = msgspec.json.Decoder(Request)


class _IdOnly(msgspec.Struct):
    id: Any = None


_id_decoder = msgspec.json.Decoder(_IdOnly)


class ProtocolError(BadRequest):
    """A frame that is not a valid request; ``re`` is its ``id`` when one could be read."""

    def __init__(self, message: str, re: RequestId = None) -> None:
        super().__init__(message)
        self.re = re


def decode_request(frame: str | bytes) -> Request:
    try:
        return _decoder.decode(frame)
    except msgspec.ValidationError as exc:
        raise ProtocolError(str(exc), _request_id(frame)) from None
    except msgspec.DecodeError as exc:
        raise ProtocolError(f"not a JSON object: {exc}", None) from None
    except RecursionError:
        raise ProtocolError("the JSON is nested too deeply", None) from None


def _request_id(frame: str | bytes) -> RequestId:
    try:
        value = _id_decoder.decode(frame).id
    except (msgspec.DecodeError, msgspec.ValidationError, RecursionError):
        return None
    return value if isinstance(value, int | float | str) and not isinstance(value, bool) else None


# --- server to client --------------------------------------------------------------------
#
# Each wire shape has one definition. Room events (``core.events``), ``RoomInfo`` and
# ``PublicRoom`` are made for clients and go on the wire as they are. A shape that is both an
# HTTP body and a WebSocket reply (``SentOut``, ``RoomInfo``) is defined once as the body;
# its reply is made from it (``_reply_of``) and adds only ``type`` and ``re``.


class _Reply(msgspec.Struct, tag_field="type", omit_defaults=True, kw_only=True):
    re: RequestId = None


def _reply_of(name: str, tag: str, shape: type[msgspec.Struct]) -> type[msgspec.Struct]:
    """The reply ``tag``: ``type``, ``re``, then the fields of ``shape`` in its order."""
    fields = [(f.name, f.type) for f in msgspec.structs.fields(shape)]
    return msgspec.defstruct(name, fields, bases=(_Reply,), tag=tag, kw_only=True, module=__name__)


class SentOut(msgspec.Struct, kw_only=True):
    """A message as stored: the answer to sending it."""

    room: str
    seq: int
    msg_id: str
    client_msg_id: str
    ts: int

    @classmethod
    def of(cls, message: Message) -> SentOut:
        assert message.client_msg_id is not None, "a message sent by a signed-in user"
        return cls(
            room=message.room,
            seq=message.seq,
            msg_id=message.msg_id,
            client_msg_id=message.client_msg_id,
            ts=message.ts,
        )


class BanList(msgspec.Struct, kw_only=True):
    """The bans in force in a room, newest first (at most ``MAX_BANS_LISTED``)."""

    room: str
    bans: list[BanEntry]


Sent = _reply_of("Sent", "sent", SentOut)
BansReply = _reply_of("BansReply", "bans", BanList)
RoomReply = _reply_of("RoomReply", "room", RoomInfo)


class Ready(_Reply, tag="ready", kw_only=True):
    user: str


class Error(_Reply, tag="error", kw_only=True):
    code: str
    message: str
    retry_after: float | None = None


class RoomsReply(_Reply, tag="rooms", kw_only=True):
    rooms: list[RoomInfo]


class DirectoryReply(_Reply, tag="directory", kw_only=True):
    rooms: list[PublicRoom]


class MembersReply(_Reply, tag="members", kw_only=True):
    room: str
    users: list[str]
    profiles: list[Profile]  # one per member, in the order of ``users``
    roles: dict[str, RoomRole]  # the owner and the admins; everyone else is a member
    muted: dict[str, int | None] = {}  # members muted now: until (ms), None until unmuted


class ProfileNotice(_Reply, tag="profile", kw_only=True):
    """A user's profile as it stands: the reply to ``profile``, and, unasked, a change of
    the profile of a user sharing a room with the client's user (or of that user)."""

    profile: Profile


class UsersReply(_Reply, tag="users", kw_only=True):
    profiles: list[Profile]  # of the users asked for that exist, in the order asked


class Left(_Reply, tag="left", kw_only=True):
    room: str


class Ok(_Reply, tag="ok", kw_only=True):
    pass


InvitedNotice = _reply_of("InvitedNotice", "invited", Invitation)


def invited_notice(invitation: Invitation) -> msgspec.Struct:
    """``invited``: to the invitee's sessions, a pending invitation as ``invitations`` lists it."""
    return InvitedNotice(**msgspec.structs.asdict(invitation))


class InvitationsReply(_Reply, tag="invitations", kw_only=True):
    invitations: list[Invitation]  # oldest first


class BlocksReply(_Reply, tag="blocks", kw_only=True):
    users: list[str]  # whom the user blocks, by name


class DmPolicyReply(_Reply, tag="dm_policy", kw_only=True):
    policy: DmPolicy


class MessageReply(_Reply, tag="current", kw_only=True):
    """The answer to ``edit``, ``delete`` and ``react``: the message as it stands now."""

    message: Message


class HistoryReply(_Reply, tag="history", kw_only=True):
    room: str
    events: list[Event]
    has_more: bool


class ThreadReply(_Reply, tag="thread", kw_only=True):
    room: str
    root: Message
    events: list[Event]  # replies, oldest first
    has_more: bool


class SearchHit(msgspec.Struct, kw_only=True):
    """A message that matches a search, as it stands, and where the query occurs in its
    body: ``[start, end)`` offsets in code points."""

    room: str
    seq: int
    ts: int
    user: str
    body: str
    ranges: list[tuple[int, int]]

    @classmethod
    def of(cls, found: Found) -> SearchHit:
        return cls(
            room=found.room,
            seq=found.seq,
            ts=found.ts,
            user=found.user,
            body=found.body,
            ranges=found.ranges,
        )


class SearchResults(msgspec.Struct, kw_only=True):
    """A page of search results, newest first; the next page is ``before`` its ``next``
    (None when there is no more)."""

    query: str
    results: list[SearchHit]
    has_more: bool
    next: str | None


SearchReply = _reply_of("SearchReply", "search", SearchResults)


class SyncState(msgspec.Struct, kw_only=True):
    last_seq: int
    complete: bool


class Synced(_Reply, tag="synced", kw_only=True):
    rooms: dict[str, SyncState]
    # In the reply to `sync`: who sharing a room with the user is online or away now.
    presence: dict[str, State] = {}


class ReadNotice(_Reply, tag="read", kw_only=True):
    room: str
    seq: int


class TypingNotice(_Reply, tag="typing", kw_only=True):
    room: str
    user: str


class MentionNotice(_Reply, tag="mention", kw_only=True):
    """To each member a stored message mentions: ``user`` mentioned them in ``room`` at
    ``seq``."""

    room: str
    seq: int
    user: str


class PresenceNotice(_Reply, tag="presence", kw_only=True):
    """Users sharing a room with the client's user, and their presence now."""

    users: dict[str, State]


class Pong(_Reply, tag="pong", kw_only=True):
    pass


_encoder = msgspec.json.Encoder()


def encode(frame: msgspec.Struct) -> bytes:
    """JSON bytes of a server frame or an event."""
    return _encoder.encode(frame)


def room_reply(info: RoomInfo, re: RequestId) -> msgspec.Struct:
    """``room``: the answer to ``create``, ``join`` and ``dm``."""
    return RoomReply(re=re, **msgspec.structs.asdict(info))


def sent_reply(message: Message, re: RequestId) -> msgspec.Struct:
    """``sent``: the answer to ``send``, once the message is stored."""
    return Sent(re=re, **msgspec.structs.asdict(SentOut.of(message)))
